//! What jitsudo reads from `/proc`: one parser for each file, shared by
//! the daemon's peer identification, credential-cache scope and origin.
//!
//! A pid read here may be recycled at any moment; callers that act on what
//! they read pin the process with a pidfd and re-check it afterwards.

use std::io;
use std::path::PathBuf;

/// Room for a whole stat or status file, read in one go.
const SMALL_FILE: usize = 4096;

/// Reads a small /proc file: into a buffer that holds it whole, so it
/// takes one `read` (and one more that sees its end). Read by hand:
/// `read_to_string` on a `File` first asks for its size and position
/// (`statx`, `lseek`), which /proc cannot tell anyway (it says 0).
fn read_small(path: String) -> io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(SMALL_FILE);
    let mut chunk = [0u8; SMALL_FILE];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The fields of `/proc/PID/stat` jitsudo uses (numbered as in proc(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Field 4: the parent's pid.
    pub ppid: i32,
    /// Field 5: the process group.
    pub pgrp: i32,
    /// Field 6: the session id.
    pub session: i32,
    /// Field 7: the controlling terminal's device number (0: none).
    pub tty_nr: u64,
    /// Field 22: start time in clock ticks after boot.
    pub start_time: u64,
}

impl Stat {
    /// Reads `/proc/PID/stat`.
    pub fn of(pid: i32) -> io::Result<Stat> {
        let text = read_small(format!("/proc/{pid}/stat"))?;
        Stat::parse(&text).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("/proc/{pid}/stat: unexpected format"),
            )
        })
    }

    /// Parses the text of a stat file. The command name (field 2) may hold
    /// any byte, spaces and parentheses included, so fields are counted
    /// after its last `)`.
    pub fn parse(text: &str) -> Option<Stat> {
        let (_, rest) = text.rsplit_once(')')?;
        let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
        // `rest` starts at field 3 (state).
        let field = |n: usize| fields.get(n - 3).copied();
        Some(Stat {
            ppid: field(4)?.parse().ok()?,
            pgrp: field(5)?.parse().ok()?,
            session: field(6)?.parse().ok()?,
            tty_nr: field(7)?.parse().ok()?,
            start_time: field(22)?.parse().ok()?,
        })
    }
}

/// The fields of `/proc/PID/status` jitsudo uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// The real uid (first of the `Uid:` line).
    pub uid: u32,
    /// The real gid (first of the `Gid:` line).
    pub gid: u32,
    /// `Umask:` (Linux ≥ 4.7).
    pub umask: u32,
    /// `Threads:`, the number of threads in the process.
    pub threads: u32,
    /// The pid in the innermost pid namespace (last of `NSpid:`, Linux ≥
    /// 4.1); 1 for the init of a namespace.
    pub ns_pid: Option<u32>,
}

impl Status {
    /// Reads `/proc/PID/status`.
    pub fn of(pid: i32) -> io::Result<Status> {
        let text = read_small(format!("/proc/{pid}/status"))?;
        Status::parse(&text).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("/proc/{pid}/status: unexpected format"),
            )
        })
    }

    /// Parses the text of a status file.
    pub fn parse(text: &str) -> Option<Status> {
        let value = |key: &str| text.lines().find_map(|line| line.strip_prefix(key));
        let uid = value("Uid:")?
            .split_ascii_whitespace()
            .next()?
            .parse()
            .ok()?;
        let gid = value("Gid:")?
            .split_ascii_whitespace()
            .next()?
            .parse()
            .ok()?;
        let umask = u32::from_str_radix(value("Umask:")?.trim(), 8).ok()?;
        let threads = value("Threads:")?.trim().parse().ok()?;
        let ns_pid = value("NSpid:")
            .and_then(|ids| ids.split_ascii_whitespace().last())
            .and_then(|id| id.parse().ok());
        Some(Status {
            uid,
            gid,
            umask,
            threads,
            ns_pid,
        })
    }
}

/// The audit session id `pam_loginuid` gave the login that `pid` descends
/// from (`/proc/PID/sessionid`): inherited across fork, orphaning and
/// setsid, and not changeable without `CAP_AUDIT_CONTROL`. `None` when it
/// was never set (the kernel shows 4294967295).
pub fn audit_session(pid: i32) -> io::Result<Option<u32>> {
    let text = read_small(format!("/proc/{pid}/sessionid"))?;
    parse_audit_session(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("/proc/{pid}/sessionid: unexpected format"),
        )
    })
}

/// Parses the text of a `sessionid` file.
fn parse_audit_session(text: &str) -> Option<Option<u32>> {
    let id: u32 = text.trim().parse().ok()?;
    Some((id != u32::MAX).then_some(id))
}

/// The pids of all processes now running, as `/proc` lists them.
pub fn pids() -> io::Result<impl Iterator<Item = i32>> {
    Ok(std::fs::read_dir("/proc")?.filter_map(|entry| {
        let name = entry.ok()?.file_name();
        name.to_str()?.parse().ok()
    }))
}

/// The executable of process `pid` (`/proc/PID/exe`).
pub fn exe(pid: i32) -> io::Result<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe"))
}

/// The identity (inode) of a namespace of process `pid`, e.g. `"mnt"` or
/// `"user"`: two processes are in the same namespace when these are equal.
pub fn namespace(pid: i32, kind: &str) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))?.ino())
}

/// The name sudo logs for a `tty_nr` from stat (`pts/3`, `tty1`, `ttyS0`).
pub fn tty_name(tty_nr: u64) -> Option<String> {
    if tty_nr == 0 {
        return None;
    }
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    Some(match major {
        136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
        4 if minor < 64 => format!("tty{minor}"),
        4 => format!("ttyS{}", minor - 64),
        _ => format!("tty{major}:{minor}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_survives_hostile_command_names() {
        let text = "42 (a) b (c) 0 0 0) S 7 8 9 34816 0 0 0 0 0 0 0 0 0 0 0 0 0 0 123456 0 0\n";
        let stat = Stat::parse(text).unwrap();
        assert_eq!(stat.ppid, 7);
        assert_eq!(stat.pgrp, 8);
        assert_eq!(stat.session, 9);
        assert_eq!(stat.tty_nr, 34816);
        assert_eq!(stat.start_time, 123456);
        assert_eq!(Stat::parse("1 (x) S 1 2"), None);
        assert_eq!(Stat::parse("no parenthesis"), None);
    }

    #[test]
    fn this_process() {
        let me = std::process::id() as i32;
        let stat = Stat::of(me).unwrap();
        assert_eq!(stat.ppid, nix::unistd::getppid().as_raw());
        let status = Status::of(me).unwrap();
        assert_eq!(status.uid, nix::unistd::getuid().as_raw());
        assert_eq!(namespace(me, "mnt").unwrap(), namespace(me, "mnt").unwrap());
        assert!(exe(me).unwrap().is_absolute());
    }

    #[test]
    fn status_fields() {
        let text = "Name:\tx\nUmask:\t0027\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\nThreads:\t3\n";
        assert_eq!(
            Status::parse(text),
            Some(Status {
                uid: 1000,
                gid: 100,
                umask: 0o027,
                threads: 3,
                ns_pid: None,
            })
        );
        let nested = "Uid:\t0\nGid:\t0\nUmask:\t0022\nThreads:\t1\nNSpid:\t812\t1\n";
        assert_eq!(Status::parse(nested).unwrap().ns_pid, Some(1));
        assert_eq!(Status::parse("Uid:\t0\n"), None);
    }

    #[test]
    fn audit_sessions() {
        assert_eq!(parse_audit_session("4294967295"), Some(None));
        assert_eq!(parse_audit_session("7\n"), Some(Some(7)));
        assert_eq!(parse_audit_session("x"), None);
        let me = std::process::id() as i32;
        assert!(audit_session(me).is_ok());
        assert!(pids().unwrap().any(|pid| pid == me));
    }

    #[test]
    fn tty_names() {
        assert_eq!(tty_name(0), None);
        assert_eq!(tty_name((136 << 8) | 3).as_deref(), Some("pts/3"));
        assert_eq!(tty_name((4 << 8) | 1).as_deref(), Some("tty1"));
        assert_eq!(tty_name((4 << 8) | 64).as_deref(), Some("ttyS0"));
        // pts/300: minor 300 = 0x12c → low byte 0x2c, high bits at << 12.
        let nr = (136u64 << 8) | 0x2c | (0x100 << 12);
        assert_eq!(tty_name(nr).as_deref(), Some("pts/300"));
    }
}
