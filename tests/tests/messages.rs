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

#[test]
fn version_prints_client_daemon_and_policy_hash() {
    let socket = &world().daemon().socket;
    let output = run("jitsudo", &["-V"], socket, Some(NOBODY));
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        lines.first(),
        Some(&format!("jitsudo version {version}").as_str()),
        "{text}"
    );
    assert!(
        lines
            .get(1)
            .is_some_and(|l| l.starts_with(&format!("jitsudod version {version} (protocol "))),
        "{text}"
    );
    let hash = lines
        .get(2)
        .and_then(|l| l.strip_prefix("jitsudod policy hash "));
    assert!(
        hash.is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())),
        "{text}"
    );
}

#[test]
fn status_for_root_has_the_state_and_for_others_only_versions() {
    let socket = world().daemon().socket.clone();
    let args = [
        "status",
        "--format",
        "json",
        "--socket",
        &socket.to_string_lossy(),
    ];
    let output = run("jitsudoctl", &args, &socket, None);
    assert!(output.status.success(), "{}", stderr(&output));
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(status["running"], true);
    let files = status["details"]["policy_files"]
        .as_array()
        .expect("policy files");
    assert!(!files.is_empty(), "{status}");
    assert!(status["details"]["uptime_secs"].is_u64(), "{status}");
    assert!(status["details"]["connections"].is_u64(), "{status}");

    let output = run("jitsudoctl", &args, &socket, Some(NOBODY));
    assert!(output.status.success(), "{}", stderr(&output));
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(
        status["details"].is_null(),
        "a user sees the daemon's state: {status}"
    );
    assert!(status["policy_hash"].is_string(), "{status}");
}

#[test]
fn status_of_an_absent_daemon_fails() {
    let socket = world().scratch_dir("status-absent").join("jitsudod.sock");
    let args = ["status", "--socket", &socket.to_string_lossy()];
    let output = run("jitsudoctl", &args, &socket, None);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("jitsudod is not running"),
        "{}",
        stderr(&output)
    );
}
