//! The shared, once-per-test-binary set-up: services, accounts, the policy
//! and sudoers files, the copied jitsudo binaries and the daemon.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::daemon::Daemon;
use crate::fixtures;
use crate::services;
use crate::util::{link_program, make_dir, run_checked, write_atomic};

/// Where the sudoers drop-in goes.
pub const SUDOERS_DROPIN: &str = "/etc/sudoers.d/jitsudo-tests";

/// Which implementation a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// The real `sudo` from Debian, configured by the sudoers drop-in.
    Sudo,
    /// `jitsudo` talking to our `jitsudod`.
    Jitsudo,
}

impl Impl {
    /// Both, in the order cases run them.
    pub const ALL: [Impl; 2] = [Impl::Sudo, Impl::Jitsudo];

    /// Short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Impl::Sudo => "sudo",
            Impl::Jitsudo => "jitsudo",
        }
    }

    /// Whether `JITSUDO_TESTS_ONLY` lets this implementation run.
    ///
    /// `JITSUDO_TESTS_ONLY=sudo` runs only the sudo half of every compliance
    /// case (and skips jitsudo-only tests): useful to check the cases
    /// themselves against the reference. `=jitsudo` runs only jitsudo.
    /// Unset: both.
    pub fn enabled(self) -> bool {
        match env::var("JITSUDO_TESTS_ONLY").as_deref() {
            Ok("sudo") => self == Impl::Sudo,
            Ok("jitsudo") => self == Impl::Jitsudo,
            Ok("") | Err(_) => true,
            Ok(other) => panic!("JITSUDO_TESTS_ONLY must be sudo or jitsudo, not {other:?}"),
        }
    }
}

/// Everything the cases share.
#[derive(Debug)]
pub struct World {
    /// Per-process directory (`/run/jitsudo-test-<pid>`, mode 0755): root's
    /// all the way up, unlike /tmp (1777), because the daemon refuses a
    /// policy below a directory anyone but root could write.
    pub root: PathBuf,
    /// World-writable (1777) scratch space below `root`.
    pub scratch: PathBuf,
    /// The jitsudo policy written from [`fixtures::config`].
    pub policy: PathBuf,
    jitsudo_bin: OnceLock<PathBuf>,
    daemon: OnceLock<Daemon>,
}

static WORLD: OnceLock<World> = OnceLock::new();

/// The workspace root (parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Where the built `jitsudo` and `jitsudod` are: `$JITSUDO_BIN_DIR`, else
/// `$CARGO_TARGET_DIR/debug`, else `<workspace>/target/debug`.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = env::var_os("JITSUDO_BIN_DIR").filter(|d| !d.is_empty()) {
        return dir.into();
    }
    let target = env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    workspace_root().join(target).join("debug")
}

/// The shared world, set up on first use.
pub fn world() -> &'static World {
    WORLD.get_or_init(World::set_up)
}

impl World {
    fn set_up() -> World {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the jitsudo integration tests create users and run sudo: run them as root"
        );
        services::require_prepared_machine();
        services::ensure_journald();
        services::ensure_rsyslog();
        fixtures::ensure_accounts();

        sweep_stale_worlds();
        let root = Path::new("/run").join(format!("{WORLD_PREFIX}{}", std::process::id()));
        make_dir(&root, 0o755);
        let scratch = root.join("scratch");
        make_dir(&scratch, 0o1777);

        let config = fixtures::config();
        let policy = root.join("policy.toml");
        write_atomic(&policy, config.to_toml().as_bytes(), 0o644);
        install_sudoers(&config.to_sudoers());

        World {
            root,
            scratch,
            policy,
            jitsudo_bin: OnceLock::new(),
            daemon: OnceLock::new(),
        }
    }

    /// A fresh world-writable directory for one case, named after it.
    pub fn scratch_dir(&self, name: &str) -> PathBuf {
        let safe: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let dir = tempdir_in(&self.scratch, &safe);
        make_dir(&dir, 0o1777);
        dir
    }

    /// A fresh directory for one case's policy files, root's and mode 0755
    /// (the daemon reads a policy only from such directories).
    pub fn policy_dir(&self, name: &str) -> PathBuf {
        let dir = tempdir_in(&self.root, &format!("policy-{name}"));
        make_dir(&dir, 0o755);
        dir
    }

    /// The program a script's `$SUDO` stands for.
    pub fn program(&self, imp: Impl) -> PathBuf {
        match imp {
            Impl::Sudo => PathBuf::from("/usr/bin/sudo"),
            Impl::Jitsudo => self.jitsudo_bin().join("jitsudo"),
        }
    }

    /// The world-readable directory holding copies of the built binaries
    /// (test users cannot reach a target dir under /root); the client is
    /// `$JITSUDO_CLIENT` when set (tests/run.sh: the one the package ships).
    pub fn jitsudo_bin(&self) -> &Path {
        self.jitsudo_bin.get_or_init(|| {
            let src = bin_dir();
            let dst = self.root.join("bin");
            make_dir(&dst, 0o755);
            for name in ["jitsudo", "jitsudod", "jitsudoctl"] {
                let from = match env::var_os("JITSUDO_CLIENT").filter(|c| !c.is_empty()) {
                    Some(client) if name == "jitsudo" => PathBuf::from(client),
                    _ => src.join(name),
                };
                assert!(
                    from.is_file(),
                    "{} is missing: build the workspace first (cargo build --workspace), \
                     set JITSUDO_BIN_DIR, or run only the sudo half with JITSUDO_TESTS_ONLY=sudo",
                    from.display()
                );
                link_program(&from, &dst.join(name));
            }
            dst
        })
    }

    /// The daemon shared by every case of this test binary.
    pub fn daemon(&self) -> &Daemon {
        self.daemon
            .get_or_init(|| Daemon::start(self, "shared", &self.policy))
    }

    /// The shared daemon if it has been started.
    pub fn started_daemon(&self) -> Option<&Daemon> {
        self.daemon.get()
    }

    /// The socket jitsudo runs use unless a case says otherwise.
    pub fn default_socket(&self) -> OsString {
        self.daemon().socket.clone().into_os_string()
    }
}

/// The name of a test process's world directory under /run, before its pid.
const WORLD_PREFIX: &str = "jitsudo-test-";

/// Removes the worlds of test processes that are gone (a test binary ends
/// without running destructors for its statics, so each run leaves one).
fn sweep_stale_worlds() {
    let Ok(entries) = fs::read_dir("/run") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(WORLD_PREFIX))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid.to_string()).exists() {
            // Best effort: a world another run is sweeping too may vanish meanwhile.
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// A new, unique directory below `parent`.
fn tempdir_in(parent: &Path, prefix: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    parent.join(format!("{prefix}-{n}"))
}

/// Validates the drop-in with `visudo -cf` and installs it (mode 0440) if
/// it changed.
fn install_sudoers(text: &str) {
    let path = Path::new(SUDOERS_DROPIN);
    if fs::read_to_string(path).is_ok_and(|old| old == text) {
        return;
    }
    let check = env::temp_dir().join(format!("jitsudo-tests-sudoers-{}", std::process::id()));
    fs::write(&check, text).expect("write sudoers candidate");
    run_checked(Command::new("visudo").arg("-cf").arg(&check));
    let _ = fs::remove_file(&check);
    write_atomic(path, text.as_bytes(), 0o440);
    // The drop-in is valid on its own; make sure the whole configuration
    // still is, or take it out again rather than leave sudo broken.
    let whole = Command::new("visudo")
        .arg("-c")
        .output()
        .expect("run visudo -c");
    if !whole.status.success() {
        let _ = fs::remove_file(path);
        panic!(
            "sudoers is invalid with {SUDOERS_DROPIN} (removed again):\n{}{}",
            String::from_utf8_lossy(&whole.stdout),
            String::from_utf8_lossy(&whole.stderr)
        );
    }
}
