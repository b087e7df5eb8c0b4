//! Messages that say what to do next when the client cannot reach the
//! daemon: not running, or a socket the caller may not connect to.

use std::fs::{self, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Output};

use jitsudo_tests::*;

/// Runs `program args` with `JITSUDO_SOCKET=socket`, as `user` (through
/// setpriv, without supplementary groups) if given.
fn run(program: &str, args: &[&str], socket: &Path, user: Option<&str>) -> Output {
    let binary = world().jitsudo_bin().join(program);
    let mut cmd = match user {
        Some(name) => {
            let account = nix::unistd::User::from_name(name)
                .expect("look the user up")
                .expect("the fixture user exists");
            let mut cmd = Command::new("/usr/bin/setpriv");
            cmd.arg(format!("--reuid={}", account.uid))
                .arg(format!("--regid={}", account.gid))
                .args(["--clear-groups", "--"])
                .arg(binary);
            cmd
        }
        None => Command::new(binary),
    };
    cmd.args(args).env("JITSUDO_SOCKET", socket);
    cmd.output().expect("run the client")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn absent_daemon_says_how_to_start_it() {
    let socket = world().scratch_dir("no-daemon").join("jitsudod.sock");
    let client = run("jitsudo", &["id"], &socket, None);
    assert_eq!(client.status.code(), Some(1));
    let text = stderr(&client);
    assert!(
        text.starts_with("jitsudo: jitsudod is not running")
            && text.contains("start it with `systemctl start jitsudod`"),
        "{text}"
    );
    let admin = run(
        "jitsudoctl",
        &["policy", "reload", "--socket", &socket.to_string_lossy()],
        &socket,
        None,
    );
    assert!(!admin.status.success());
    assert!(
        stderr(&admin).contains("jitsudod is not running"),
        "{}",
        stderr(&admin)
    );
}

#[test]
fn refused_socket_says_what_to_check() {
    let dir = world().scratch_dir("closed-socket").join("private");
    fs::create_dir(&dir).expect("make the directory");
    fs::set_permissions(&dir, Permissions::from_mode(0o700)).expect("chmod 0700");
    let socket = dir.join("jitsudod.sock");
    let _listener = UnixListener::bind(&socket).expect("bind");
    let client = run("jitsudo", &["id"], &socket, Some(NOBODY));
    assert_eq!(client.status.code(), Some(1));
    let text = stderr(&client);
    assert!(
        text.contains("Permission denied") && text.contains("must be connectable by everyone"),
        "{text}"
    );
}
