//! `jitsudod`: the jitsudo root daemon.
//!
//! It listens on a Unix socket, identifies each caller from the kernel,
//! decides the request against the TOML policy, logs the decision, and
//! hands accepted requests to a per-request worker (forked by
//! `jitsudod --fork-server`) that runs the command as the target user.
//! See docs/architecture.md.

#![deny(unsafe_code)]

/// The system allocator, except while a policy is read: see
/// `jitsudo_sys::region` and `policy_store::load`.
#[global_allocator]
static ALLOCATOR: jitsudo_sys::region::RegionAlloc = jitsudo_sys::region::RegionAlloc;

mod accounts;
mod audit;
mod cache;
mod cgroup;
mod error;
mod executable;
mod fork_server;
mod grants;
mod handoff;
mod limits;
mod namespace;
mod options;
mod origin;
// The PAM binding is the one place outside jitsudo-sys that calls C
// directly: libpam's API passes C strings, callback tables and
// module-allocated memory that only an FFI binding can handle. Every
// unsafe block in it carries its SAFETY argument.
#[allow(unsafe_code)]
mod pam;
mod peer;
mod policy_store;
mod request;
mod server;
mod worker;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use error::{at, Error};
use options::Options;

/// Threads for blocking work (deciding requests, handing them to workers):
/// a burst of clients queues for these instead of each getting a thread
/// (and a stack) of its own.
const BLOCKING_THREADS: usize = 32;

/// How long an idle blocking thread lingers after a burst.
const BLOCKING_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(1);

/// How long blocking work still running at SIGTERM (a checkpoint counting
/// the trail, a retention sweep, a handoff) may hold the daemon's exit:
/// running commands belong to their workers, and what is cut short here is
/// redone by the next daemon.
const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn main() -> ExitCode {
    let options = Options::parse();
    audit::configure(audit::SinkPaths {
        trail: options.audit_file.clone(),
        journal: options.journal_socket.clone(),
        sessions: options.session_dir.clone(),
    });
    if options.fork_server {
        return worker::main(options.worker_cgroup);
    }
    match start(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jitsudod: {e}");
            ExitCode::FAILURE
        }
    }
}

fn start(options: Options) -> Result<(), Error> {
    if !nix::unistd::geteuid().is_root() {
        return Err(Error::NotRoot);
    }
    jitsudo_sys::malloc::limit_arenas();
    let policy = policy_store::load(&options.policy).map_err(Error::Policy)?;
    audit::enable(
        &policy.policy.defaults.audit_log,
        &policy.policy.defaults.audit_sinks,
    );
    // What parsing a large policy left free goes back to the kernel.
    jitsudo_sys::malloc::give_back();
    limits::raise_fd_limit();
    cgroup::establish(options.cgroup_root.as_deref())?;
    prepare_dir(&options.state_dir, 0o700)?;
    let grants = grants::Grants::open(&options.state_dir, audit::sinks()).map_err(Error::Grants)?;
    let listener = bind(&options.socket)?;
    if !options.foreground {
        nix::unistd::daemon(false, false).map_err(Error::Daemonize)?;
    }
    let shared = Arc::new(server::Shared::new(
        policy,
        options.policy.clone(),
        audit::sinks(),
        Arc::new(grants),
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_keep_alive(BLOCKING_KEEP_ALIVE)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(server::serve(listener, shared));
    runtime.shutdown_timeout(SHUTDOWN_WAIT);
    let _ = std::fs::remove_file(&options.socket);
    cgroup::release();
    Ok(())
}

fn prepare_dir(dir: &Path, mode: u32) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(at(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).map_err(at(dir))
}

/// Binds the socket before daemonizing, so it accepts as soon as the
/// starting command returns. Any local user may connect (mode 0666).
fn bind(socket: &Path) -> Result<UnixListener, Error> {
    if let Some(dir) = socket.parent() {
        prepare_dir(dir, 0o755)?;
    }
    if std::os::unix::net::UnixStream::connect(socket).is_ok() {
        return Err(Error::SocketInUse(socket.to_path_buf()));
    }
    let _ = std::fs::remove_file(socket);
    let listener = UnixListener::bind(socket).map_err(at(socket))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o666)).map_err(at(socket))?;
    listener.set_nonblocking(true).map_err(at(socket))?;
    Ok(listener)
}
