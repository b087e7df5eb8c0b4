//! `-e`/`sudoedit`, written as a hostile caller would try it: the editor
//! runs as the caller, only files the policy names are written, as the
//! target, never through a symbolic link or in a directory the caller may
//! write, and an editor variable cannot add files (CVE-2023-22809).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use jitsudo_tests::daemon::Daemon;
use jitsudo_tests::util::{install_program, make_dir, write_atomic};
use jitsudo_tests::*;

/// Root-owned files for the test `name` under /etc, and a daemon whose
/// policy lets jt_limited edit some of them (as root or jt_target).
struct Fixture {
    dir: PathBuf,
    daemon: Daemon,
}

/// An editor that appends "edited by USER" to each file it is given.
const EDITOR: &str = "printf '#!/bin/sh\\nfor f; do [ \"$f\" = -- ] && continue; \
    echo \"edited by $(id -un)\" >> \"$f\"; done\\n' > $DIR/ed; chmod 755 $DIR/ed; ";

fn fixture(name: &str) -> Fixture {
    let dir = PathBuf::from(format!("/etc/jitsudo-tests-edit/{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    make_dir(Path::new("/etc/jitsudo-tests-edit"), 0o755);
    make_dir(&dir, 0o755);
    let d = dir.display();
    let policy = format!(
        "[[rule]]\nid = \"edit\"\nwho = [\"jt_limited\"]\nrun_as = [\"root\", \"jt_target\"]\n\
         auth = \"none\"\ncommands = [\"sudoedit {d}/motd\", \"sudoedit {d}/link\", \
         \"sudoedit {d}/new\", \"sudoedit {d}/open/*\", \"sudoedit {d}/mine\", \
         \"sudoedit {d}/shared/f\"]\n"
    );
    let path = world().policy_dir(name).join("policy.toml");
    write_atomic(&path, policy.as_bytes(), 0o644);
    let daemon = Daemon::start(world(), name, &path);
    Fixture { dir, daemon }
}

impl Fixture {
    fn file(&self, name: &str, content: &str, mode: u32) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn case(&self, script: &str) -> Case {
        let script = format!(
            "{EDITOR}{}",
            script.replace("$EDIT", &self.dir.display().to_string())
        );
        Case::new(LIMITED, script)
            .socket(&self.daemon.socket)
            .in_fresh_dir()
            .env("SUDO_EDITOR", "")
            .env("VISUAL", "")
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// /etc/shadow holds no line of the test editor. (Its bytes may change
/// under a test: every test binary's setup re-sets the users' passwords.)
fn assert_shadow_not_edited() {
    let shadow = std::fs::read_to_string("/etc/shadow").unwrap();
    assert!(!shadow.contains("edited by"), "/etc/shadow was edited");
}

#[test]
fn edits_as_the_caller_and_writes_as_the_target_keeping_mode_and_owner() {
    let f = fixture("edit-ok");
    let motd = f.file("motd", "hello\n", 0o640);
    let adm = gid("adm");
    std::os::unix::fs::chown(&motd, Some(0), Some(adm)).unwrap();
    let before = std::fs::metadata(&motd).unwrap();
    f.case("EDITOR=$DIR/ed $SUDO -e $EDIT/motd; echo rc=$?")
        .status(0)
        .stdout_is("rc=0\n")
        .stderr_empty()
        .assert_jitsudo();
    assert_eq!(read(&motd), "hello\nedited by jt_limited\n");
    let after = std::fs::metadata(&motd).unwrap();
    assert_eq!((after.uid(), after.gid()), (0, adm));
    assert_eq!(after.mode() & 0o7777, 0o640);
    assert_ne!(after.ino(), before.ino(), "not replaced atomically");
}

#[test]
fn an_unchanged_file_is_not_written() {
    let f = fixture("edit-unchanged");
    let motd = f.file("motd", "hello\n", 0o644);
    let before = std::fs::metadata(&motd).unwrap();
    f.case("SUDO_EDITOR=true $SUDO -e $EDIT/motd; echo rc=$?")
        .status(0)
        .stdout_is("rc=0\n")
        .stderr_is(&format!("jitsudo: {}/motd unchanged\n", f.dir.display()))
        .assert_jitsudo();
    assert_eq!(std::fs::metadata(&motd).unwrap().ino(), before.ino());
}

/// A program that is running cannot be opened for writing (ETXTBSY); sudo
/// edits it all the same (the edit is written back through a new file).
/// Before: "Text file busy", whenever another process ran the program.
#[test]
fn a_running_program_can_be_edited() {
    let f = fixture("edit-running");
    let program = f.dir.join("motd");
    install_program(Path::new("/bin/sleep"), &program, 0o755);
    let mut running = std::process::Command::new(&program)
        .arg("60")
        .spawn()
        .unwrap();
    f.case("EDITOR=$DIR/ed $SUDO -e $EDIT/motd; echo rc=$?")
        .status(0)
        .stdout_is("rc=0\n")
        .stderr_is("")
        .assert_jitsudo();
    let _ = running.kill();
    let _ = running.wait();
    let edited = std::fs::read(&program).unwrap();
    assert!(edited.ends_with(b"edited by jt_limited\n"));
}

/// Before: a `sudoedit` link to jitsudo executed the "file" as root.
#[test]
fn the_sudoedit_name_edits() {
    let f = fixture("edit-name");
    let motd = f.file("motd", "hello\n", 0o644);
    f.case("ln -s $SUDO $DIR/sudoedit; EDITOR=$DIR/ed $DIR/sudoedit $EDIT/motd; echo rc=$?")
        .status(0)
        .stdout_is("rc=0\n")
        .assert_jitsudo();
    assert_eq!(read(&motd), "hello\nedited by jt_limited\n");
}

/// As for commands, the refusal is told once the caller authenticated.
#[test]
fn a_file_the_policy_does_not_name_is_refused_before_the_editor_runs() {
    let f = fixture("edit-refused");
    f.case("EDITOR=$DIR/ed $SUDO -S -p '' -e /etc/shadow; echo rc=$?; ls $DIR")
        .stdin(format!("{}\n", password(LIMITED)))
        .status(0)
        .stdout_is("rc=1\ned\n")
        .stderr_has(
            "Sorry, user jt_limited is not allowed to execute 'sudoedit /etc/shadow' as root on ",
        )
        .assert_jitsudo();
    assert_shadow_not_edited();
}

#[test]
fn a_symbolic_link_is_never_followed() {
    let f = fixture("edit-link");
    std::os::unix::fs::symlink("/etc/shadow", f.dir.join("link")).unwrap();
    f.case("EDITOR=$DIR/ed $SUDO -e $EDIT/link; echo rc=$?")
        .status(0)
        .stdout_is("rc=1\n")
        .stderr_is(&format!(
            "jitsudo: {}/link: editing symbolic links is not permitted\n",
            f.dir.display()
        ))
        .assert_jitsudo();
    assert_shadow_not_edited();
}

/// A directory the caller may write lets him swap the file for a link
/// between the check and the write: refused, as sudo's sudoedit_checkdir.
#[test]
fn a_directory_the_caller_may_write_is_refused() {
    let f = fixture("edit-open");
    let open = f.dir.join("open");
    make_dir(&open, 0o755);
    let limited = fixtures::account(LIMITED);
    std::os::unix::fs::chown(&open, Some(limited.uid), None).unwrap();
    std::fs::write(open.join("f"), "x\n").unwrap();
    f.case("EDITOR=$DIR/ed $SUDO -e $EDIT/open/f; echo rc=$?")
        .status(0)
        .stdout_is("rc=1\n")
        .stderr_is(&format!(
            "jitsudo: {}/open/f: editing files in a writable directory is not permitted\n",
            f.dir.display()
        ))
        .assert_jitsudo();
    assert_eq!(read(&open.join("f")), "x\n");
}

/// CVE-2023-22809: extra files after `--` in the editor variable were
/// edited as root. Here the editor runs as the caller and only the file
/// the policy names is written back.
#[test]
fn the_editor_variable_cannot_add_files() {
    let f = fixture("edit-cve");
    let motd = f.file("motd", "hello\n", 0o644);
    f.case("ed=$DIR/ed; SUDO_EDITOR=\"$ed -- /etc/shadow\" $SUDO -e $EDIT/motd; echo rc=$?")
        .status(0)
        .stdout_is("rc=0\n")
        .assert_jitsudo();
    assert_shadow_not_edited();
    assert_eq!(read(&motd), "hello\nedited by jt_limited\n");
}

#[test]
fn a_new_file_is_created_as_the_target() {
    let f = fixture("edit-new");
    f.case("EDITOR=$DIR/ed $SUDO -e $EDIT/new; echo rc=$?")
        .status(0)
        .stdout_is("rc=0\n")
        .assert_jitsudo();
    let new = f.dir.join("new");
    assert_eq!(read(&new), "edited by jt_limited\n");
    let meta = std::fs::metadata(&new).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o644));
}

/// The file is opened as the target: jt_target may not write root's file.
#[test]
fn files_are_opened_as_the_target_user() {
    let f = fixture("edit-as-target");
    let motd = f.file("motd", "hello\n", 0o644);
    f.case("EDITOR=$DIR/ed $SUDO -u jt_target -e $EDIT/motd; echo rc=$?")
        .status(0)
        .stdout_is("rc=1\n")
        .stderr_is(&format!(
            "jitsudo: {}/motd: Permission denied\n",
            f.dir.display()
        ))
        .assert_jitsudo();
    assert_eq!(read(&motd), "hello\n");
}

/// The target may write his file but not create files beside it: it is
/// rewritten in place, as sudo does.
#[test]
fn a_file_in_a_directory_the_target_cannot_write_is_rewritten_in_place() {
    let f = fixture("edit-in-place");
    let mine = f.file("mine", "hello\n", 0o600);
    let target = fixtures::account(TARGET);
    std::os::unix::fs::chown(&mine, Some(target.uid), Some(target.gid)).unwrap();
    let before = std::fs::metadata(&mine).unwrap();
    f.case("EDITOR=$DIR/ed $SUDO -u jt_target -e $EDIT/mine; echo rc=$?")
        .status(0)
        .stdout_is("rc=0\n")
        .assert_jitsudo();
    assert_eq!(read(&mine), "hello\nedited by jt_limited\n");
    assert_eq!(std::fs::metadata(&mine).unwrap().ino(), before.ino());
}

/// `-k -e`: cached credentials are ignored for the edit, as for a command
/// (sudoedit's usage has `-k`); with `-n` that means "a password is
/// required", and the editor never runs.
#[test]
fn reset_timestamp_applies_to_an_edit() {
    let pw = password(PW);
    Case::new(
        PW,
        "$SUDO -S -p '' -v && EDITOR=true $SUDO -k -n -e /etc/hostname; echo rc=$?",
    )
    .stdin(format!("{pw}\n"))
    .status(0)
    .stdout_is("rc=1\n")
    .stderr_is("jitsudo: a password is required\n")
    .assert_same();
}

/// A sudoers `sudoedit` line converted by `jitsudoctl policy
/// import-sudoers` edits as it did under sudo: the listed file as the
/// run-as user, and the file its negated entry names not at all.
#[test]
fn an_imported_sudoedit_rule_edits() {
    let f = fixture("edit-imported");
    let motd = f.file("motd", "hello\n", 0o644);
    let mine = f.file("mine", "keep\n", 0o644);
    let d = f.dir.display();
    let sudoers = world().scratch_dir("edit-imported").join("sudoers");
    let line = format!(
        "jt_limited ALL = (root) NOPASSWD: sudoedit {d}/motd {d}/mine, !sudoedit {d}/mine\n"
    );
    write_atomic(&sudoers, line.as_bytes(), 0o644);
    let import = std::process::Command::new(world().jitsudo_bin().join("jitsudoctl"))
        .args(["policy", "import-sudoers"])
        .arg(&sudoers)
        .output()
        .expect("run jitsudoctl");
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let policy = world()
        .policy_dir("edit-imported-policy")
        .join("policy.toml");
    write_atomic(&policy, &import.stdout, 0o644);
    let daemon = Daemon::start(world(), "edit-imported-policy", &policy);
    f.case("EDITOR=$DIR/ed $SUDO -e $EDIT/motd; echo rc=$?; EDITOR=$DIR/ed $SUDO -n -e $EDIT/mine; echo rc=$?")
        .socket(&daemon.socket)
        .status(0)
        .stdout_is("rc=0\nrc=1\n")
        // As for commands, a refusal is told once the caller authenticated.
        .stderr_is("jitsudo: a password is required\n")
        .assert_jitsudo();
    assert_eq!(read(&motd), "hello\nedited by jt_limited\n");
    assert_eq!(read(&mine), "keep\n");
}
