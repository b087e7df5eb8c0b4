//! The D-Bus API (jitsudo only), end to end: each test starts a private
//! system-like bus (`dbus-daemon` with the installed policy file
//! dbus/org.jitsudo.Jitsudo1.conf) and a daemon pointed at it by
//! `DBUS_SYSTEM_BUS_ADDRESS`; real users call it with `busctl`, `gdbus`
//! and jitsudo-dbus-probe (a zbus client) under setpriv. The desktop agent
//! runs against a test notification server, and against dunst on Xvfb.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use jitsudo_tests::daemon::Daemon;
use jitsudo_tests::util::{link_program, make_dir, poll_until, write_atomic, write_program};
use jitsudo_tests::*;

const NAME: &str = "org.jitsudo.Jitsudo1";
const PATH: &str = "/org/jitsudo/Jitsudo1";

const POLICY: &str = r#"
[defaults]
max_connections_per_user = 3

[[rule]]
id = "db"
who = ["jt_req"]
commands = ["/usr/bin/id"]
auth = "none"
[rule.grant]
max = "2h"
default = "1h"
approvers = ["jt_appr1", "%jt_approvers"]

# The outsider's own, auto-approved and short.
[[rule]]
id = "mine"
who = ["jt_outsider"]
commands = ["/usr/bin/true"]
auth = "none"
[rule.grant]
max = "10s"
default = "2s"
approval = "auto"
"#;

/// A private bus, stopped on drop.
struct Bus {
    daemon: Stopped,
    address: String,
    config: PathBuf,
    socket: PathBuf,
}

impl Bus {
    fn start(name: &str) -> Bus {
        let dir = world().scratch_dir(&format!("bus-{name}"));
        make_dir(&dir, 0o755);
        let socket = dir.join("bus");
        let _ = fs::remove_file(&socket);
        let policy =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../dbus/org.jitsudo.Jitsudo1.conf");
        let config = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>{policy}</include>
</busconfig>
"#,
            socket = socket.display(),
            policy = policy.display()
        );
        let config_path = dir.join("bus.conf");
        write_atomic(&config_path, config.as_bytes(), 0o644);
        Bus {
            daemon: Bus::run(&config_path, &socket),
            address: format!("unix:path={}", socket.display()),
            config: config_path,
            socket,
        }
    }

    /// Starts dbus-daemon with `config`, once it listens on `socket`.
    fn run(config: &Path, socket: &Path) -> Stopped {
        let child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        let ready = poll_until(Duration::from_secs(10), || socket.exists().then_some(()));
        assert!(ready.is_some(), "dbus-daemon did not come up");
        Stopped(Some(child))
    }

    /// Stops the bus and starts it again at the same address.
    fn restart(&mut self) {
        drop(std::mem::replace(&mut self.daemon, Stopped::none()));
        let _ = fs::remove_file(&self.socket);
        self.daemon = Bus::run(&self.config, &self.socket);
    }

    /// Whether the daemon owns its name on this bus, within 20 s.
    fn owned(&self) -> bool {
        poll_until(Duration::from_secs(20), || {
            let out = self
                .command(ROOT, "busctl")
                .args(["call", "org.freedesktop.DBus", "/org/freedesktop/DBus"])
                .args(["org.freedesktop.DBus", "NameHasOwner", "s", NAME])
                .output()
                .ok()?;
            text(&out.stdout).contains("true").then_some(())
        })
        .is_some()
    }

    /// A daemon with [`POLICY`] on this bus, once it owns the name.
    fn daemon(&self, name: &str) -> Daemon {
        let path = world().policy_dir(name).join("policy.toml");
        write_atomic(&path, POLICY.as_bytes(), 0o644);
        let d = Daemon::start_with_env(
            world(),
            name,
            &path,
            &[("DBUS_SYSTEM_BUS_ADDRESS", &self.address)],
        );
        assert!(self.owned(), "the daemon never took {NAME}");
        d
    }

    /// `program` as `user` (with their groups) on this bus.
    fn command(&self, user: &str, program: &str) -> Command {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid", user, "--regid", user, "--init-groups", "--"])
            .arg(program)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.address)
            .current_dir("/")
            .stdin(Stdio::null());
        cmd
    }

    /// `gdbus call` of `method` as `user`: Ok(reply) or Err(error text,
    /// with the error's name).
    fn gdbus(&self, user: &str, method: &str, args: &[&str]) -> Result<String, String> {
        let out = self
            .command(user, "gdbus")
            .args(["call", "--system", "-d", NAME, "-o", PATH, "-m"])
            .arg(format!("{NAME}.{method}"))
            .args(args)
            .output()
            .expect("run gdbus");
        if out.status.success() {
            Ok(text(&out.stdout))
        } else {
            Err(text(&out.stderr))
        }
    }

    /// `gdbus call --interactive` of `method` as `user`, in a thread (an
    /// agent answers meanwhile): Ok(reply) or Err(error text).
    fn interactive(
        &self,
        user: &str,
        method: &str,
        args: &[&str],
    ) -> std::thread::JoinHandle<Result<String, String>> {
        let mut cmd = self.command(user, "gdbus");
        cmd.args([
            "call",
            "--system",
            "--interactive",
            "-d",
            NAME,
            "-o",
            PATH,
            "-m",
        ])
        .arg(format!("{NAME}.{method}"))
        .args(args);
        std::thread::spawn(move || {
            let out = cmd.output().expect("run gdbus");
            match out.status.success() {
                true => Ok(text(&out.stdout)),
                false => Err(text(&out.stderr)),
            }
        })
    }

    /// A jitsudo-dbus-probe of `user`, started with `args`.
    fn probe(&self, user: &str, args: &[&str]) -> Probe {
        let bin = probe_bin();
        let mut cmd = self.command(user, &bin.to_string_lossy());
        cmd.args(args);
        Probe::start(cmd)
    }
}

impl Probe {
    /// Starts `cmd` (a jitsudo-dbus-probe) and reads its first line.
    fn start(mut cmd: Command) -> Probe {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start jitsudo-dbus-probe");
        let mut lines = BufReader::new(child.stdout.take().expect("probe stdout"));
        let mut first = String::new();
        lines.read_line(&mut first).expect("probe's first line");
        Probe {
            child,
            lines,
            first,
        }
    }
}

/// A running probe: its first line already read.
struct Probe {
    child: Child,
    lines: BufReader<ChildStdout>,
    first: String,
}

impl Probe {
    /// The rest of its output, once it exited (successfully).
    fn rest(mut self) -> String {
        let mut rest = String::new();
        for line in (&mut self.lines).lines() {
            rest.push_str(&line.expect("probe output"));
            rest.push('\n');
        }
        let status = self.child.wait().expect("wait for the probe");
        assert!(status.success(), "probe: {status}; said {rest}");
        rest
    }
}

impl Probe {
    /// Its next line containing `text` (others are skipped); panics if
    /// it exits first.
    fn next_line_with(&mut self, text: &str) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.lines.read_line(&mut line).expect("probe output");
            assert!(n > 0, "the probe ended before a line with {text:?}");
            if line.contains(text) {
                return line.trim_end().to_owned();
            }
        }
    }

    /// (A notification server's) review notification of request `id`:
    /// its notification id and line.
    fn notification(&mut self, id: &str) -> (String, String) {
        let line = self.next_line_with(&format!(" Approval requested: request {id} by jt_req|"));
        let note = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        (note, line)
    }

    /// Writes `line` to its stdin.
    fn send(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("probe stdin");
        writeln!(stdin, "{line}").expect("write to the probe");
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// jitsudo-dbus-probe, copied where test users can run it.
fn probe_bin() -> PathBuf {
    user_bin(Path::new(env!("CARGO_BIN_EXE_jitsudo-dbus-probe")))
}

/// Program `from` where test users can run it.
fn user_bin(from: &Path) -> PathBuf {
    let dir = world().scratch_dir("dbus-bin");
    make_dir(&dir, 0o755);
    let to = dir.join(from.file_name().expect("a program's name"));
    link_program(from, &to);
    to
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The id in a gdbus reply `('7',)`.
fn id_of(reply: &str) -> String {
    reply
        .trim()
        .trim_start_matches("('")
        .trim_end_matches("',)")
        .to_owned()
}

/// Creates a request of rule db as the requester, with busctl; its id.
fn create(bus: &Bus, reason: &str) -> String {
    let out = bus
        .command(REQUESTER, "busctl")
        .args(["--system", "call", NAME, PATH, NAME, "CreateRequest"])
        .args(["a{sv}", "2", "rule", "s", "db", "reason", "s", reason])
        .output()
        .expect("run busctl");
    let reply = text(&out.stdout);
    assert!(out.status.success(), "{reply}{}", text(&out.stderr));
    // `s "7"`
    reply
        .trim()
        .trim_start_matches("s \"")
        .trim_end_matches('"')
        .to_owned()
}

/// Fails with the error `name` and `message` in its text.
fn refused(result: Result<String, String>, name: &str, message: &str) {
    let err = result.expect_err("the call should be refused");
    assert!(
        err.contains(&format!("{NAME}.Error.{name}")) && err.contains(message),
        "expected {name}: {message:?}, got {err}"
    );
}

#[test]
fn every_method_for_the_right_user_and_each_refusal_for_the_others() {
    let bus = Bus::start("methods");
    let d = bus.daemon("dbus-methods");
    let first = create(&bus, "deploy 42");

    let listed = bus.gdbus(APPROVER1, "ListRequests", &["{}"]).expect("list");
    assert!(listed.contains(&format!("'id': <'{first}'>")), "{listed}");
    assert!(listed.contains("'deploy 42'"), "{listed}");
    let shown = bus.gdbus(REQUESTER, "GetRequest", &[&first]).expect("get");
    assert!(shown.contains("'state': <'pending'>"), "{shown}");
    // The outsider may not see it, nor review or cancel it.
    refused(
        bus.gdbus(OUTSIDER, "GetRequest", &[&first]),
        "NotFound",
        "no request or grant",
    );
    refused(
        bus.gdbus(OUTSIDER, "Approve", &[&first, "x"]),
        "Denied",
        "you may not review",
    );
    refused(
        bus.gdbus(APPROVER1, "Cancel", &[&first]),
        "Denied",
        "not yours to cancel",
    );
    // No self-approval; an approver without fresh credentials must
    // authenticate; unknown and malformed ids, bad specs.
    refused(
        bus.gdbus(REQUESTER, "Approve", &[&first, "x"]),
        "Denied",
        "your own request",
    );
    refused(
        bus.gdbus(APPROVER1, "Approve", &[&first, "ok"]),
        "AuthenticationRequired",
        "needs your password",
    );
    refused(
        bus.gdbus(APPROVER1, "Approve", &["99", "ok"]),
        "NotFound",
        "no request or grant 99",
    );
    refused(
        bus.gdbus(APPROVER1, "Approve", &["x1", "ok"]),
        "InvalidArgs",
        "invalid id",
    );
    refused(
        bus.gdbus(REQUESTER, "GetRequest", &["../1"]),
        "InvalidArgs",
        "invalid id",
    );
    refused(
        bus.gdbus(APPROVER1, "Deny", &[&first, ""]),
        "InvalidArgs",
        "a denial needs a reason",
    );
    refused(
        bus.gdbus(
            REQUESTER,
            "CreateRequest",
            &["{'rule': <'db'>, 'colour': <'red'>}"],
        ),
        "InvalidArgs",
        "unknown key \"colour\"",
    );
    refused(
        bus.gdbus(REQUESTER, "CreateRequest", &["{'rule': <uint32 3>}"]),
        "InvalidArgs",
        "wrong type",
    );
    refused(
        bus.gdbus(OUTSIDER, "CreateRequest", &["{'rule': <'db'>}"]),
        "Denied",
        "",
    );
    let cancelled = bus.gdbus(REQUESTER, "Cancel", &[&first]).expect("cancel");
    assert!(cancelled.contains("'state': <'cancelled'>"), "{cancelled}");

    // Approved over the bus with the credentials cached in the approver's
    // terminal by jitsudoctl (the same credential cache as jitsudo).
    let by_ctl = create(&bus, "second");
    let by_bus = create(&bus, "third");
    let script = format!(
        "{ctl} approve {by_ctl} --reason ok && gdbus call --system -d {NAME} -o {PATH} \
         -m {NAME}.Approve {by_bus} 'by bus'",
        ctl = world().jitsudo_bin().join("jitsudoctl").display()
    );
    let mut cmd = bus.command(APPROVER1, "sh");
    cmd.args(["-c", &script]).env("JITSUDO_SOCKET", &d.socket);
    let spec = PtySpec::default().answer("password for", &password(APPROVER1));
    let out = jitsudo_tests::pty::run(cmd, APPROVER1, &spec, Duration::from_secs(30));
    assert_eq!(out.status, 0, "{}", out.stdout_text());
    assert!(
        out.stdout_text().contains("'reason': <'by bus'>"),
        "{}",
        out.stdout_text()
    );
    let grants = bus.gdbus(REQUESTER, "ListGrants", &[]).expect("grants");
    assert!(grants.contains(&format!("'id': <'{by_bus}'>")), "{grants}");
    assert!(grants.contains("'state': <'active'>"), "{grants}");

    refused(
        bus.gdbus(REQUESTER, "Extend", &[&by_bus, "60", "more"]),
        "Denied",
        "",
    );
    let extended = bus
        .gdbus(APPROVER1, "Extend", &[&by_bus, "60", "more"])
        .expect("extend");
    assert!(extended.contains("'duration': <int64 3660>"), "{extended}");
    refused(
        bus.gdbus(OUTSIDER, "Revoke", &[&by_ctl, "no"]),
        "Denied",
        "",
    );
    let revoked = bus
        .gdbus(APPROVER1, "Revoke", &[&by_ctl, "enough"])
        .expect("revoke");
    assert!(revoked.contains("'state': <'revoked'>"), "{revoked}");
    refused(bus.gdbus(APPROVER1, "Done", &[&by_bus]), "Denied", "");
    let done = bus.gdbus(REQUESTER, "Done", &[&by_bus]).expect("done");
    assert!(done.contains("'state': <'ended'>"), "{done}");
}

#[test]
fn properties_and_introspection_match_the_committed_xml() {
    let bus = Bus::start("introspect");
    let _d = bus.daemon("dbus-introspect");
    let get = |property: &str| {
        let out = bus
            .command(OUTSIDER, "busctl")
            .args(["--system", "get-property", NAME, PATH, NAME, property])
            .output()
            .expect("busctl get-property");
        text(&out.stdout)
    };
    assert_eq!(
        get("Version").trim(),
        format!("s \"{}\"", env!("CARGO_PKG_VERSION"))
    );
    let hash = get("PolicyHash");
    let hash = hash.trim().trim_start_matches("s \"").trim_end_matches('"');
    assert!(
        hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{hash}"
    );

    let out = bus
        .command(OUTSIDER, "gdbus")
        .args(["introspect", "--system", "--xml", "-d", NAME, "-o", PATH])
        .output()
        .expect("gdbus introspect");
    let served = interface(&text(&out.stdout));
    let committed_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../dbus/org.jitsudo.Jitsudo1.xml");
    let committed = interface(&fs::read_to_string(&committed_path).expect("committed XML"));
    assert!(!served.is_empty(), "nothing served: {}", text(&out.stdout));
    assert_eq!(
        served,
        committed,
        "the served interface differs from {}",
        committed_path.display()
    );
}

/// The lines of the `org.jitsudo.Jitsudo1` interface element, trimmed,
/// without comments.
fn interface(xml: &str) -> Vec<String> {
    let mut bare = String::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<!--") {
        bare.push_str(&rest[..start]);
        rest = rest[start..]
            .find("-->")
            .map_or("", |end| &rest[start + end + 3..]);
    }
    bare.push_str(rest);
    bare.lines()
        .map(str::trim)
        .skip_while(|line| !line.starts_with(&format!("<interface name=\"{NAME}\"")))
        .take_while(|line| *line != "</interface>")
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn signals_reach_only_the_requester_and_the_approvers() {
    let bus = Bus::start("signals");
    let _d = bus.daemon("dbus-signals");
    let requester = bus.probe(REQUESTER, &["listen", "3"]);
    let approver = bus.probe(APPROVER2, &["listen", "3"]);
    let outsider = bus.probe(OUTSIDER, &["listen", "4"]);
    for probe in [&requester, &approver, &outsider] {
        assert_eq!(probe.first.trim(), "ready");
    }
    let first = create(&bus, "secret plan");
    bus.gdbus(REQUESTER, "Cancel", &[&first]).expect("cancel");
    let own = id_of(
        &bus.gdbus(
            OUTSIDER,
            "CreateRequest",
            &["{'rule': <'mine'>, 'reason': <'mine now'>}"],
        )
        .expect("the outsider's own request"),
    );
    let last = create(&bus, "later");

    // In order, and nothing of the outsider's: signals to one connection
    // keep their order, so the outsider's would have come before `last`.
    let expected = format!(
        "RequestCreated {first} jt_req asks for rule db for 3600s: secret plan\n\
         RequestChanged {first} cancelled\n\
         RequestCreated {last} jt_req asks for rule db for 3600s: later\n"
    );
    assert_eq!(requester.rest(), expected);
    assert_eq!(approver.rest(), expected);
    // The outsider: its own request, granted at once, the warning (2 s
    // are within the warning time) and the end; never the others'.
    let seen = outsider.rest();
    assert!(
        !seen.contains("secret plan") && !seen.contains("later"),
        "{seen}"
    );
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(
        lines[0],
        format!("RequestCreated {own} jt_outsider asks for rule mine for 2s: mine now")
    );
    assert_eq!(lines[1], format!("RequestChanged {own} active"));
    assert!(
        lines[2].starts_with(&format!("GrantExpiring {own} ")),
        "{seen}"
    );
    assert_eq!(lines[3], format!("GrantEnded {own} expired"));
}

#[test]
fn floods_are_bounded() {
    let bus = Bus::start("flood");
    let d = bus.daemon("dbus-flood");
    // Requests: the per-user cap of pending requests holds over the bus.
    for n in 0..8 {
        create(&bus, &format!("flood {n}"));
    }
    refused(
        bus.gdbus(REQUESTER, "CreateRequest", &["{'rule': <'db'>}"]),
        "Denied",
        "pending",
    );
    // Subscriptions: at most 8 connections of one user.
    let subscribed = bus.probe(REQUESTER, &["subscribe", "10"]);
    let first = subscribed.first.clone();
    let rest = format!("{first}{}", subscribed.rest());
    assert_eq!(rest.matches("ok\n").count(), 8, "{rest}");
    assert_eq!(
        rest.matches("org.jitsudo.Jitsudo1.Error.Denied at most 8 connections")
            .count(),
        2,
        "{rest}"
    );
    // Calls held at once: the same per-user cap as socket connections
    // (max_connections_per_user = 3 here), shared with the socket.
    let mut hold = bus.probe(REQUESTER, &["hold", &d.socket.to_string_lossy(), "3"]);
    assert_eq!(hold.first.trim(), "held");
    refused(
        bus.gdbus(REQUESTER, "ListGrants", &[]),
        "Denied",
        "too many calls from your user",
    );
    bus.gdbus(APPROVER1, "ListGrants", &[])
        .expect("another user is served");
    drop(hold.child.stdin.take());
    let freed = poll_until(Duration::from_secs(10), || {
        bus.gdbus(REQUESTER, "ListGrants", &[]).ok()
    });
    assert!(freed.is_some(), "the slots were not given back");
}

#[test]
fn the_daemon_comes_back_on_a_restarted_bus() {
    let mut bus = Bus::start("restart");
    let _d = bus.daemon("dbus-restart");
    bus.restart();
    assert!(bus.owned(), "the daemon did not take {NAME} on the new bus");
    bus.gdbus(REQUESTER, "ListGrants", &[])
        .expect("served again");
}

#[test]
fn the_daemon_serves_its_socket_without_a_bus() {
    let path = world().policy_dir("dbus-none").join("policy.toml");
    write_atomic(&path, POLICY.as_bytes(), 0o644);
    let missing = world().scratch_dir("dbus-none").join("no-bus");
    let d = Daemon::start_with_env(
        world(),
        "dbus-none",
        &path,
        &[(
            "DBUS_SYSTEM_BUS_ADDRESS",
            &format!("unix:path={}", missing.display()),
        )],
    );
    let out = Command::new("setpriv")
        .args([
            "--reuid",
            REQUESTER,
            "--regid",
            REQUESTER,
            "--init-groups",
            "--",
        ])
        .arg(world().jitsudo_bin().join("jitsudoctl"))
        .args(["request", "--rule", "db", "--reason", "no bus"])
        .env("JITSUDO_SOCKET", &d.socket)
        .current_dir("/")
        .output()
        .expect("jitsudoctl");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = poll_until(Duration::from_secs(10), || {
        let log = fs::read_to_string(&d.log).ok()?;
        log.contains("no D-Bus API for now").then_some(log)
    });
    let log = said.unwrap_or_default();
    assert_eq!(log.matches("no D-Bus API").count(), 1, "{log}");
}

#[test]
fn the_agent_approves_through_the_notification_action() {
    let bus = Bus::start("agent");
    let d = bus.daemon("dbus-agent");
    let (_session_bus, session_address, session_dir, mut server) = desktop(&bus, "dbus-agent");
    // The approver authenticated in their terminal (approving the first
    // request), then starts the agent there; the second request is made.
    let first = create(&bus, "first");
    let second = create(&bus, "from the desktop <b>now</b>");
    let pid_file = session_dir.join("agent.pid");
    let script = format!(
        "{ctl} approve {first} --reason ok && {{ {agent} & echo $! > {pids}; wait; }}",
        ctl = world().jitsudo_bin().join("jitsudoctl").display(),
        agent = user_bin(&jitsudo_tests::world::bin_dir().join("jitsudo-agent")).display(),
        pids = pid_file.display(),
    );
    let mut cmd = bus.command(APPROVER1, "sh");
    cmd.args(["-c", &script])
        .env("JITSUDO_SOCKET", &d.socket)
        .env("DBUS_SESSION_BUS_ADDRESS", &session_address);
    let spec = PtySpec::default().answer("password for", &password(APPROVER1));
    let terminal = std::thread::spawn(move || {
        jitsudo_tests::pty::run(cmd, APPROVER1, &spec, Duration::from_secs(60))
    });

    // The review notification of the request made before the agent
    // started: the request's details, markup escaped, Approve and Deny.
    let (note, line) = server.notification(&second);
    assert!(
        line.contains("jt_req asks to use rule db for 3600s"),
        "{line}"
    );
    assert!(
        line.contains("Reason: from the desktop &lt;b&gt;now&lt;/b&gt;"),
        "{line}"
    );
    assert!(line.ends_with("|approve,Approve,deny,Deny"), "{line}");
    // One made while it runs comes by the RequestCreated signal.
    let third = create(&bus, "third");
    let (third_note, _) = server.notification(&third);

    // A click forged by another client of the session bus is ignored: had
    // the agent approved, the denial below would fail.
    let forged = bus
        .command(APPROVER1, "gdbus")
        .args(["emit", "--session", "-o", "/org/freedesktop/Notifications"])
        .args(["-s", "org.freedesktop.Notifications.ActionInvoked"])
        .args([&format!("uint32 {note}"), "'approve'"])
        .env("DBUS_SESSION_BUS_ADDRESS", &session_address)
        .status()
        .expect("gdbus emit");
    assert!(forged.success());
    server.send(&format!("invoke {note} deny"));
    let done = server.next_line_with(&format!("Request {second} is"));
    assert!(
        done.contains(&format!("Request {second} is denied")),
        "{done}"
    );
    // A signal forged by another user and sent to the agent itself is
    // ignored: had the agent believed it, the third request would be shown
    // as denied below, and its notification gone.
    let forged = bus
        .command(OUTSIDER, "gdbus")
        .args(["emit", "--system", "-o", PATH, "-s"])
        .arg(format!("{NAME}.RequestChanged"))
        .args(["--dest", &agent_bus_name(&bus)])
        .args([&format!("'{third}'"), "'denied'"])
        .status()
        .expect("gdbus emit");
    assert!(forged.success());
    server.send(&format!("invoke {third_note} approve"));
    let done = server.next_line_with(&format!("Request {third} is"));
    assert!(
        done.contains(&format!("Request {third} is active")),
        "{done}"
    );
    let shown = bus.gdbus(REQUESTER, "GetRequest", &[&third]).expect("get");
    assert!(shown.contains("'state': <'active'>"), "{shown}");
    assert!(shown.contains("'approved from the desktop'"), "{shown}");

    let pid: i32 = fs::read_to_string(&pid_file)
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .expect("the agent's pid");
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    );
    let out = terminal.join().expect("the terminal");
    assert!(!out.timed_out, "{}", out.stdout_text());
}

/// The unique name of the jitsudo-agent connected to `bus`'s system bus.
fn agent_bus_name(bus: &Bus) -> String {
    let out = Command::new("busctl")
        .args(["--system", "--no-legend", "--no-pager", "list"])
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .output()
        .expect("busctl list");
    text(&out.stdout)
        .lines()
        .find(|line| line.starts_with(':') && line.contains("jitsudo-agent"))
        .and_then(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no jitsudo-agent on the bus:\n{}", text(&out.stdout)))
}

/// The approver's desktop session: a session bus (stopped on drop), its
/// address, a scratch directory, and a notification server on it.
fn desktop(bus: &Bus, name: &str) -> (Stopped, String, PathBuf, Probe) {
    let (session_bus, session_address, session_dir) = session(bus, name);
    let mut server_cmd = bus.command(APPROVER1, &probe_bin().to_string_lossy());
    server_cmd
        .arg("notifications")
        .env("DBUS_SESSION_BUS_ADDRESS", &session_address);
    let server = Probe::start(server_cmd);
    assert_eq!(server.first.trim(), "ready");
    (session_bus, session_address, session_dir, server)
}

/// The approver's session bus (stopped on drop), its address, and a
/// scratch directory.
fn session(bus: &Bus, name: &str) -> (Stopped, String, PathBuf) {
    let session_dir = world().scratch_dir(&format!("{name}-session"));
    let session_socket = session_dir.join("bus");
    let session_address = format!("unix:path={}", session_socket.display());
    let session_bus = Stopped(Some(
        bus.command(APPROVER1, "dbus-daemon")
            .args(["--session", "--nofork", "--address", &session_address])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the session bus"),
    ));
    let up = poll_until(Duration::from_secs(10), || {
        session_socket.exists().then_some(())
    });
    assert!(up.is_some(), "the session bus did not come up");
    (session_bus, session_address, session_dir)
}

#[test]
fn the_agent_asks_for_the_password_of_an_approval_from_the_desktop() {
    let bus = Bus::start("agent-askpass");
    let d = bus.daemon("dbus-agent-askpass");
    let (_session_bus, session_address, dir, mut server) = desktop(&bus, "dbus-agent-askpass");
    // The dialog: an askpass program that notes its prompt and answers.
    let asked = dir.join("asked");
    let askpass = dir.join("askpass");
    let script = format!(
        "#!/bin/sh\nprintf '%s' \"$1\" > {asked}\necho '{pw}'\n",
        asked = asked.display(),
        pw = password(APPROVER1)
    );
    write_program(&askpass, script.as_bytes(), 0o755);
    let _ = fs::remove_file(&asked);
    let mut cmd = bus.command(
        APPROVER1,
        &user_bin(&jitsudo_tests::world::bin_dir().join("jitsudo-agent")).to_string_lossy(),
    );
    let agent_log = dir.join("agent.log");
    let agent_err = fs::File::create(&agent_log).expect("the agent's log");
    cmd.env("DBUS_SESSION_BUS_ADDRESS", &session_address)
        .env("JITSUDO_ASKPASS", &askpass)
        .stdout(agent_err.try_clone().expect("dup the agent's log"))
        .stderr(agent_err);
    let _agent = Stopped(Some(cmd.spawn().expect("start jitsudo-agent")));

    // No cached credentials anywhere: the click asks through the dialog.
    let id = create(&bus, "from the desktop");
    let (note, _) = server.notification(&id);
    server.send(&format!("invoke {note} approve"));
    let done = server.next_line_with(&format!("Request {id} is"));
    assert!(done.contains(&format!("Request {id} is active")), "{done}");
    let prompt = fs::read_to_string(&asked).expect("the dialog was shown");
    assert!(
        prompt.contains(&format!("review request {id}")) && prompt.contains("assword"),
        "{prompt}"
    );
    // The answer is in no log: the agent's output, the daemon's.
    for log in [&agent_log, &d.log] {
        let logged = fs::read_to_string(log).unwrap_or_default();
        assert!(
            !logged.contains(&password(APPROVER1)),
            "the password is in {}",
            log.display()
        );
    }

    // Root, but not the daemon, cannot make the agent ask either.
    fs::remove_file(&asked).expect("rm asked");
    let names = bus
        .command(ROOT, "busctl")
        .args(["--system", "list", "--unique", "--no-legend"])
        .output()
        .expect("busctl list");
    let listing = text(&names.stdout);
    let agent_name = listing
        .lines()
        .find(|line| line.contains("jitsudo-agent"))
        .and_then(|line| line.split_whitespace().next())
        .unwrap_or_else(|| panic!("no agent on the bus: {listing}"));
    let phish = bus
        .command(ROOT, "gdbus")
        .args([
            "call",
            "--system",
            "-d",
            agent_name,
            "-o",
            "/org/jitsudo/Agent1",
        ])
        .args([
            "-m",
            "org.jitsudo.Agent1.Ask",
            "'1'",
            "'Password: '",
            "false",
        ])
        .output()
        .expect("run gdbus");
    assert!(
        text(&phish.stderr).contains("org.jitsudo.Agent1.Error.NotTheDaemon"),
        "{}{}",
        text(&phish.stdout),
        text(&phish.stderr)
    );
    assert!(
        !asked.exists(),
        "the agent asked for a caller other than jitsudod"
    );
}

/// A child process killed when the test ends (or panics).
struct Stopped(Option<Child>);

impl Stopped {
    fn none() -> Stopped {
        Stopped(None)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A test password agent of `user`, registered: its unique name.
fn agent(bus: &Bus, user: &str) -> (Probe, String) {
    let probe = bus.probe(user, &["agent"]);
    let name = probe
        .first
        .trim()
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("the agent did not register: {}", probe.first))
        .to_owned();
    (probe, name)
}

#[test]
fn an_approver_without_cached_credentials_authenticates_through_their_agent() {
    let bus = Bus::start("asking");
    let _d = bus.daemon("dbus-asking");
    let (mut mine, _) = agent(&bus, APPROVER1);
    // Another approver's agent: it must never see APPROVER1's prompts.
    let (other, _) = agent(&bus, APPROVER2);
    let id = create(&bus, "needs a look");

    // Without the interactive flag: AuthenticationRequired, nobody asked.
    refused(
        bus.gdbus(APPROVER1, "Approve", &[&id, "ok"]),
        "AuthenticationRequired",
        "password",
    );

    // The agent declines (its dialog cancelled): AuthenticationRequired.
    let approving = bus.interactive(APPROVER1, "Approve", &[&id, "ok"]);
    mine.next_line_with(&format!("ask {id} "));
    mine.send("-");
    refused(
        approving.join().expect("gdbus thread"),
        "AuthenticationRequired",
        "your agent gave no answer",
    );

    // A wrong password, each of PAM's tries: refused, still pending.
    let approving = bus.interactive(APPROVER1, "Approve", &[&id, "ok"]);
    for _ in 0..3 {
        let asked = mine.next_line_with("ask ");
        assert!(asked.starts_with(&format!("ask {id} ")), "{asked}");
        mine.send("not-the-password");
    }
    refused(
        approving.join().expect("gdbus thread"),
        "Denied",
        "incorrect password",
    );
    let state = bus.gdbus(APPROVER1, "GetRequest", &[&id]).expect("get");
    assert!(state.contains("'state': <'pending'>"), "{state}");

    // The right one: approved, and the grant is active.
    let approving = bus.interactive(APPROVER1, "Approve", &[&id, "ok"]);
    let asked = mine.next_line_with("ask ");
    assert!(asked.contains("assword"), "{asked}");
    mine.send(&password(APPROVER1));
    let approved = approving.join().expect("gdbus thread").expect("approved");
    assert!(approved.contains("'state': <'active'>"), "{approved}");

    drop(mine);
    let mut other = other;
    drop(other.child.stdin.take());
    let _ = other.child.kill();
    let mut seen = String::new();
    let _ = std::io::Read::read_to_string(&mut other.lines, &mut seen);
    assert!(
        !seen.contains("ask"),
        "another user's agent was asked: {seen}"
    );
}

#[test]
fn nobody_else_can_ask_through_an_agent_and_conversations_are_bounded() {
    let bus = Bus::start("agent-bounds");
    let _d = bus.daemon("dbus-agent-bounds");
    let (mut mine, name) = agent(&bus, APPROVER1);

    // Another user cannot call the agent (to phish the password), nor
    // answer for it: the bus refuses the call.
    let phish = bus
        .command(APPROVER2, "gdbus")
        .args(["call", "--system", "-d", &name, "-o", "/org/jitsudo/Agent1"])
        .args([
            "-m",
            "org.jitsudo.Agent1.Ask",
            "'1'",
            "'Password: '",
            "false",
        ])
        .output()
        .expect("run gdbus");
    assert!(!phish.status.success());
    assert!(
        text(&phish.stderr).contains("AccessDenied"),
        "{}",
        text(&phish.stderr)
    );

    // An approver without an agent is not asked through another's.
    let id = create(&bus, "first");
    refused(
        bus.interactive(APPROVER2, "Approve", &[&id, "ok"])
            .join()
            .expect("gdbus thread"),
        "AuthenticationRequired",
        "jitsudo-agent",
    );

    // One conversation per approver at a time: a second approval while
    // the agent's prompt is open is refused at once.
    let second = create(&bus, "second");
    let approving = bus.interactive(APPROVER1, "Approve", &[&id, "ok"]);
    mine.next_line_with(&format!("ask {id} "));
    refused(
        bus.interactive(APPROVER1, "Approve", &[&second, "ok"])
            .join()
            .expect("gdbus thread"),
        "Denied",
        "already open",
    );
    mine.send(&password(APPROVER1));
    let approved = approving.join().expect("gdbus thread").expect("approved");
    assert!(approved.contains("'state': <'active'>"), "{approved}");
}

/// An X server (Xvfb) on a free display, stopped (SIGTERM, so it removes
/// its lock and socket) on drop.
struct XServer {
    child: Child,
    display: String,
}

impl XServer {
    fn start() -> XServer {
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0"])
            .arg("800x600x24")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb (tests/run.sh installs the xvfb package)");
        let mut number = String::new();
        let out = child.stdout.take().expect("Xvfb's stdout");
        let _ = BufReader::new(out).read_line(&mut number);
        let display = format!(":{}", number.trim());
        assert!(number.trim().parse::<u32>().is_ok(), "Xvfb gave no display");
        XServer { child, display }
    }
}

impl Drop for XServer {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

/// `dunstctl` of the approver's session on `display`, with `args`: its
/// output.
fn dunstctl(bus: &Bus, display: &str, session: &str, args: &[&str]) -> String {
    let out = bus
        .command(APPROVER1, "dunstctl")
        .args(args)
        .env("DISPLAY", display)
        .env("DBUS_SESSION_BUS_ADDRESS", session)
        .output()
        .expect("run dunstctl");
    assert!(
        out.status.success(),
        "dunstctl {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn the_agent_is_approved_through_a_real_notification_server_under_xvfb() {
    let bus = Bus::start("agent-dunst");
    let _d = bus.daemon("dbus-agent-dunst");
    let x = XServer::start();
    let (_session_bus, session, dir) = session(&bus, "dbus-agent-dunst");
    let (_dunst, menu) = dunst(&bus, &x.display, &session, &dir);

    // The real agent, its password dialog an askpass program.
    let askpass = dir.join("askpass");
    let answer = format!("#!/bin/sh\necho '{}'\n", password(APPROVER1));
    write_program(&askpass, answer.as_bytes(), 0o755);
    let agent = user_bin(&jitsudo_tests::world::bin_dir().join("jitsudo-agent"));
    let _agent = Stopped(Some(
        bus.command(APPROVER1, &agent.to_string_lossy())
            .env("DISPLAY", &x.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &session)
            .env("JITSUDO_ASKPASS", &askpass)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start jitsudo-agent"),
    ));

    // The request, shown by dunst on the X display: kept as a picture.
    let id = create(&bus, "seen on the screen");
    let shown = poll_until(Duration::from_secs(20), || {
        let count = dunstctl(&bus, &x.display, &session, &["count", "displayed"]);
        (count.trim() == "1").then_some(())
    });
    assert!(
        shown.is_some(),
        "dunst never showed the review notification"
    );
    screenshot(&x.display, "agent-notification.png");

    // Approve, chosen in dunst's context menu: dunst sends ActionInvoked.
    dunstctl(&bus, &x.display, &session, &["context"]);
    let active = poll_until(Duration::from_secs(30), || {
        let state = bus.gdbus(REQUESTER, "GetRequest", &[&id]).ok()?;
        state.contains("'state': <'active'>").then_some(state)
    });
    let offered = fs::read_to_string(&menu).unwrap_or_default();
    assert!(
        offered.contains(&format!(
            "#Approve (Approval requested: request {id} by jt_req)"
        )) && offered.contains("#Deny "),
        "dunst's menu: {offered}"
    );
    let state = active.expect("the grant never became active after Approve was chosen");
    assert!(state.contains("'approved from the desktop'"), "{state}");
}

/// dunst in the approver's `session` on `display`, keeping every
/// notification on screen; its context menu (dmenu) is a script that notes
/// the menu in the returned file and picks Approve.
fn dunst(bus: &Bus, display: &str, session: &str, dir: &Path) -> (Stopped, PathBuf) {
    let menu = dir.join("menu");
    let dmenu = dir.join("dmenu");
    let script = format!(
        "#!/bin/sh\ncat > {menu}\ngrep -m1 '^#Approve ' {menu}\n",
        menu = menu.display()
    );
    write_program(&dmenu, script.as_bytes(), 0o755);
    let dunstrc = dir.join("dunstrc");
    let config = format!(
        "[global]\n    dmenu = {}\n    show_indicators = no\n\
         [urgency_low]\n    timeout = 0\n[urgency_normal]\n    timeout = 0\n\
         [urgency_critical]\n    timeout = 0\n",
        dmenu.display()
    );
    write_atomic(&dunstrc, config.as_bytes(), 0o644);
    let dunst = Stopped(Some(
        bus.command(APPROVER1, "dunst")
            .arg("-config")
            .arg(&dunstrc)
            .env("DISPLAY", display)
            .env("DBUS_SESSION_BUS_ADDRESS", session)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dunst (tests/run.sh installs the dunst package)"),
    ));
    let serving = poll_until(Duration::from_secs(10), || {
        let out = bus
            .command(APPROVER1, "dunstctl")
            .arg("is-paused")
            .env("DBUS_SESSION_BUS_ADDRESS", session)
            .output()
            .ok()?;
        out.status.success().then_some(())
    });
    assert!(serving.is_some(), "dunst never served the session bus");
    (dunst, menu)
}

/// A picture of X `display` as test artifact `name`, in
/// target/test-artifacts.
fn screenshot(display: &str, name: &str) {
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("test-artifacts");
    fs::create_dir_all(&artifacts).expect("mkdir test-artifacts");
    let picture = artifacts.join(name);
    let _ = fs::remove_file(&picture);
    let shot = Command::new("import")
        .args(["-window", "root"])
        .arg(&picture)
        .env("DISPLAY", display)
        .status()
        .expect("run import (tests/run.sh installs imagemagick)");
    assert!(shot.success() && picture.exists(), "no screenshot");
}
