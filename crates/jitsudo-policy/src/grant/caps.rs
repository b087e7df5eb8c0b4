//! Linux capability names (capabilities(7)) and their numbers: the names a
//! `caps` grant may list and a request may ask for.

/// Every capability the kernel headers know, by number.
const NAMES: [&str; 41] = [
    "cap_chown",
    "cap_dac_override",
    "cap_dac_read_search",
    "cap_fowner",
    "cap_fsetid",
    "cap_kill",
    "cap_setgid",
    "cap_setuid",
    "cap_setpcap",
    "cap_linux_immutable",
    "cap_net_bind_service",
    "cap_net_broadcast",
    "cap_net_admin",
    "cap_net_raw",
    "cap_ipc_lock",
    "cap_ipc_owner",
    "cap_sys_module",
    "cap_sys_rawio",
    "cap_sys_chroot",
    "cap_sys_ptrace",
    "cap_sys_pacct",
    "cap_sys_admin",
    "cap_sys_boot",
    "cap_sys_nice",
    "cap_sys_resource",
    "cap_sys_time",
    "cap_sys_tty_config",
    "cap_mknod",
    "cap_lease",
    "cap_audit_write",
    "cap_audit_control",
    "cap_setfcap",
    "cap_mac_override",
    "cap_mac_admin",
    "cap_syslog",
    "cap_wake_alarm",
    "cap_block_suspend",
    "cap_audit_read",
    "cap_perfmon",
    "cap_bpf",
    "cap_checkpoint_restore",
];

/// One capability, by its kernel number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Capability(u8);

impl Capability {
    /// The capability named `name` (`cap_net_bind_service`; upper case is
    /// accepted), or a message saying what a name looks like.
    pub fn parse(name: &str) -> Result<Capability, String> {
        let lower = name.to_ascii_lowercase();
        NAMES
            .iter()
            .position(|known| *known == lower)
            .and_then(|n| u8::try_from(n).ok())
            .map(Capability)
            .ok_or_else(|| {
                format!(
                    "unknown capability `{}`: names are those of capabilities(7), such as \
                     cap_net_bind_service",
                    name.escape_default()
                )
            })
    }

    /// Its kernel number (`CAP_NET_BIND_SERVICE` is 10).
    pub fn number(self) -> u8 {
        self.0
    }

    /// Its name, lower case.
    pub fn name(self) -> &'static str {
        NAMES.get(usize::from(self.0)).copied().unwrap_or("cap_?")
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_kernel_numbers() {
        assert_eq!(
            Capability::parse("cap_chown").map(Capability::number),
            Ok(0)
        );
        assert_eq!(
            Capability::parse("CAP_NET_BIND_SERVICE").map(Capability::number),
            Ok(10)
        );
        assert_eq!(
            Capability::parse("cap_sys_admin").map(Capability::number),
            Ok(21)
        );
        assert_eq!(
            Capability::parse("cap_checkpoint_restore").map(Capability::number),
            Ok(40)
        );
        assert_eq!(
            Capability::parse("cap_bpf").map(|c| c.name()),
            Ok("cap_bpf")
        );
    }

    #[test]
    fn unknown_names_are_refused_without_echoing_control_characters() {
        let err = Capability::parse("cap_net_bind_service\n,cap_sys_admin").unwrap_err();
        assert!(err.contains("unknown capability"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        assert!(Capability::parse("net_bind_service").is_err());
        assert!(Capability::parse("").is_err());
        assert!(Capability::parse("cap_all").is_err());
    }
}
