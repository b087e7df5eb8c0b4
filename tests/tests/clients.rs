//! The programs that drive sudo, unmodified, against jitsudo and the test
//! daemon: Ansible's become (method sudo, its default flags, `become_exe`
//! pointing at jitsudo) with and without a become password, an intended
//! failure, and Invoke's `Context.sudo()`. tests/run.sh installs them in a
//! virtualenv (`JITSUDO_CLIENTS_VENV`, default `/opt/jitsudo-tests-venv`).

use std::path::PathBuf;
use std::time::Duration;

use jitsudo_tests::*;

/// Where tests/run.sh installs ansible-core and invoke.
fn venv() -> PathBuf {
    let dir = std::env::var_os("JITSUDO_CLIENTS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/jitsudo-tests-venv"));
    assert!(
        dir.join("bin/ansible-playbook").exists() && dir.join("bin/invoke").exists(),
        "{} has no ansible-core or invoke: run tests/run.sh",
        dir.display()
    );
    dir
}

/// The playbooks and scripts of tests/clients.
fn clients() -> PathBuf {
    world::workspace_root().join("tests/clients")
}

/// A shell preamble that runs `ansible-playbook` from the virtualenv as the
/// caller, with `become_exe` = jitsudo and a local inventory.
fn ansible(playbook: &str, extra: &str) -> String {
    let jitsudoctl = world().jitsudo_bin().join("jitsudoctl");
    format!(
        "export HOME=$DIR/home ANSIBLE_LOCAL_TEMP=$DIR/atmp ANSIBLE_NOCOLOR=1 \
         ANSIBLE_BECOME_EXE=$SUDO ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 \
         ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_DEPRECATION_WARNINGS=0 \
         ANSIBLE_SYSTEM_WARNINGS=0 JITSUDOCTL={jitsudoctl}; \
         mkdir -p $HOME; printf '[local]\\nlocalhost ansible_connection=local\\n' > $DIR/hosts; \
         {venv}/bin/ansible-playbook -i $DIR/hosts {extra} {clients}/{playbook} 2>&1; \
         echo rc=$?",
        jitsudoctl = jitsudoctl.display(),
        venv = venv().display(),
        clients = clients().display(),
    )
}

/// The play recap line of a successful run.
fn recap_ok(out: &Output) -> Result<(), String> {
    let text = String::from_utf8_lossy(&out.stdout);
    let ok = text.contains("rc=0") && text.contains("failed=0") && text.contains("unreachable=0");
    ok.then_some(())
        .ok_or_else(|| "the playbook did not succeed".into())
}

#[test]
fn ansible_become_without_a_password() {
    Case::new(ADMIN, ansible("site.yml", ""))
        .in_fresh_dir()
        .timeout(Duration::from_secs(150))
        .expect("the playbook succeeds", recap_ok)
        .assert_jitsudo();
}

#[test]
fn ansible_become_with_a_password() {
    let script = format!(
        "printf '%s\\n' '{pw}' > $DIR/pw; {run}",
        pw = password(PW),
        run = ansible("site.yml", "--become-password-file $DIR/pw")
    );
    Case::new(PW, script)
        .in_fresh_dir()
        .timeout(Duration::from_secs(150))
        .expect("the playbook succeeds", recap_ok)
        .assert_jitsudo();
}

/// A caller whose rule allows only `id` cannot become root for Ansible's
/// module (a `/bin/sh -c` command line): the task fails with sudo's words.
#[test]
fn ansible_reports_a_refusal() {
    Case::new(LIMITED, ansible("refused.yml", ""))
        .in_fresh_dir()
        .timeout(Duration::from_secs(60))
        .stdout_has("rc=2")
        .stdout_has("failed=1")
        .stdout_has("a password is required")
        .assert_jitsudo();
}

/// Invoke finds `sudo` on PATH (here a link to jitsudo) and sends
/// `-S -p '[sudo] password: ' -H -u USER`.
#[test]
fn invoke_sudo_with_user_pty_and_watcher() {
    let script = format!(
        "mkdir $DIR/bin; ln -s $SUDO $DIR/bin/sudo; export PATH=$DIR/bin:$PATH; \
         BECOME_PASSWORD='{pw}' {venv}/bin/python {clients}/invoke_check.py 2>&1",
        pw = password(PW),
        venv = venv().display(),
        clients = clients().display(),
    );
    Case::new(PW, script)
        .in_fresh_dir()
        .timeout(Duration::from_secs(60))
        .status(0)
        .stdout_has("plain: jt_target\n")
        .stdout_has("pty: root tty\n")
        .stdout_has("got=yes\n")
        .assert_jitsudo();
}
