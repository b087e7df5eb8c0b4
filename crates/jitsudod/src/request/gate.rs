//! Whether the caller must type a password before an answer, and the
//! prompt to show. Root is never asked; a fresh credential-cache entry for
//! the caller's scope passes (unless `-k command`); `-n` turns a needed
//! prompt into sudo's "a password is required".

use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use jitsudo_proto::{Failure, RunRequest};
use serde_bytes::ByteBuf;

use super::context::Context;
use super::identity::Identity;
use super::job::PasswordSpec;

/// The outcome of the gate.
pub enum Gate {
    /// No password needed.
    Pass,
    /// Ask first.
    Ask(PasswordSpec),
    /// A password is needed but may not be asked for (`-n`).
    Refuse(Failure),
}

/// Decides whether `wants_password` (from the policy, or `true` before a
/// refusal, which sudo never reveals unauthenticated) means asking now.
pub fn gate(
    ctx: &Context<'_>,
    who: &Identity,
    request: &RunRequest,
    target: &[u8],
    wants_password: bool,
) -> Gate {
    if !wants_password {
        return Gate::Pass;
    }
    let options = Asking {
        reset_timestamp: request.reset_timestamp,
        non_interactive: request.non_interactive,
        prompt: request.prompt.as_deref().map(|p| &p[..]),
    };
    gate_with(ctx, who, &options, target)
}

/// How the caller wants to be asked (`-k`, `-n`, `-p`).
pub struct Asking<'a> {
    /// Ignore cached credentials.
    pub reset_timestamp: bool,
    /// Never prompt.
    pub non_interactive: bool,
    /// The prompt, with sudo's `%` escapes.
    pub prompt: Option<&'a [u8]>,
}

/// Whether the caller must authenticate now (root never; fresh cached
/// credentials pass).
pub fn gate_with(ctx: &Context<'_>, who: &Identity, options: &Asking<'_>, target: &[u8]) -> Gate {
    if who.peer.uid == 0 {
        return Gate::Pass;
    }
    let fresh = who
        .cache_key()
        .is_some_and(|key| ctx.cache.is_fresh(&key, timeout(ctx)));
    if fresh && !options.reset_timestamp {
        return Gate::Pass;
    }
    if options.non_interactive {
        return Gate::Refuse(Failure::new("a password is required"));
    }
    let template = options
        .prompt
        .unwrap_or(ctx.policy.defaults.passprompt.as_bytes());
    Gate::Ask(PasswordSpec {
        prompt: ByteBuf::from(expand_prompt(
            template,
            who.account.name.as_bytes(),
            target,
            ctx.host.as_bytes(),
        )),
        tries: ctx.policy.defaults.passwd_tries,
        timeout: ctx.policy.defaults.passwd_timeout,
    })
}

/// `timestamp_timeout` of the policy in force.
pub fn timeout(ctx: &Context<'_>) -> Duration {
    ctx.policy.defaults.timestamp_timeout
}

/// sudo's prompt escapes: `%u` invoking user, `%U` target user, `%h` short
/// host name, `%H` full host name, `%p` the user whose password is asked
/// (the invoking user), `%%` a percent sign.
pub fn expand_prompt(template: &[u8], user: &[u8], target: &[u8], host: &[u8]) -> Vec<u8> {
    let short_host = host.split(|b| *b == b'.').next().unwrap_or(host);
    let mut out = Vec::with_capacity(template.len() + 16);
    let mut bytes = template.iter();
    while let Some(&b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'u') | Some(b'p') => out.extend_from_slice(user),
            Some(b'U') => out.extend_from_slice(target),
            Some(b'h') => out.extend_from_slice(short_host),
            Some(b'H') => out.extend_from_slice(host),
            Some(b'%') => out.push(b'%'),
            Some(&other) => out.extend_from_slice(&[b'%', other]),
            None => out.push(b'%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_escapes() {
        let out = expand_prompt(
            b"%u->%U@%h (%H) %p %% %x%",
            b"alice",
            b"root",
            b"vm.example",
        );
        assert_eq!(out, b"alice->root@vm (vm.example) alice % %x%");
        assert_eq!(
            expand_prompt(
                jitsudo_policy::DEFAULT_PASSPROMPT.as_bytes(),
                b"bob",
                b"root",
                b"h"
            ),
            b"[sudo] password for bob: "
        );
    }
}
