//! Commands: one sudoers command entry (path and arguments, directory,
//! `ALL`, digests, `sudoedit`, a command set) as policy command entries,
//! with what is approximated or left out.

use super::super::ast::{CommandKind, Digest, Item};
use super::super::digest::sha256_hex;
use super::super::emit::CommandOut;
use super::super::error::{check_policy, Error};
use super::super::Kind;
use super::aliases::Flat;
use super::Note;

/// The notes about one command entry, each quoting it as written.
struct Notes<'f> {
    /// The entry.
    flat: &'f Flat,
    /// The notes so far.
    list: Vec<Note>,
}

impl Notes<'_> {
    /// Adds a note about the entry.
    fn add(&mut self, kind: Kind, reason: &str) {
        self.list
            .push((kind, self.flat.text.clone(), reason.to_owned()));
    }

    /// Notes that `entry` is refused by the policy parser; false if so.
    fn accepts(&mut self, entry: &CommandOut) -> bool {
        match valid_entry(entry) {
            Ok(()) => true,
            Err(error) => {
                self.add(
                    Kind::Dropped,
                    &format!("{error}: the entry is not converted"),
                );
                false
            }
        }
    }
}

/// The policy entries for one command (several for several digests, none
/// when it cannot be converted) and the notes about it.
pub(super) fn convert_command(flat: &Flat) -> (Option<Vec<CommandOut>>, Vec<Note>) {
    let mut notes = Notes {
        flat,
        list: Vec::new(),
    };
    let entries = entries(flat, &mut notes);
    (entries, notes.list)
}

/// The entries for `flat`, noting what is approximated or left out.
fn entries(flat: &Flat, notes: &mut Notes) -> Option<Vec<CommandOut>> {
    let command = match &flat.item {
        Item::Command(command) => command,
        Item::Alias(name) if flat.set => return Some(vec![CommandOut::Set(name.clone())]),
        Item::Alias(name) => {
            notes.add(Kind::Dropped, &flat.unexpanded("Cmnd_Alias", name));
            return None;
        }
        _ => {
            notes.add(Kind::Dropped, "not a command");
            return None;
        }
    };
    if let CommandKind::Sudoedit(files) = &command.kind {
        return sudoedit(flat, files.as_deref(), notes);
    }
    let (base, wildcards) = base_entry(flat, &command.kind, notes)?;
    let base = match_arguments(flat, base, wildcards, notes);
    if !notes.accepts(&base) {
        return None;
    }
    pin_digests(base, &command.digests, notes)
}

/// The entry for a command other than `sudoedit`, without digests, and
/// the wildcards of its arguments; `None` (noted) for an alias left in
/// the list or a regular expression.
fn base_entry(
    flat: &Flat,
    kind: &CommandKind,
    notes: &mut Notes,
) -> Option<(CommandOut, Wildcards)> {
    let program = |path: &str, args: Option<Vec<String>>| CommandOut::Program {
        path: path.to_owned(),
        args,
        sha256: None,
    };
    Some(match kind {
        CommandKind::All => (CommandOut::All, Wildcards::default()),
        CommandKind::Path { path, args } => {
            let words = args.as_ref().map(|args| {
                if args == "\"\"" {
                    Vec::new()
                } else {
                    args.split_ascii_whitespace().map(str::to_owned).collect()
                }
            });
            let wildcards = args.as_deref().map(Wildcards::of).unwrap_or_default();
            (program(path, words), wildcards)
        }
        CommandKind::Directory(dir) => (program(&format!("{dir}*"), None), Wildcards::default()),
        CommandKind::Alias(name) => {
            notes.add(Kind::Dropped, &flat.unexpanded("Cmnd_Alias", name));
            return None;
        }
        // `sudoedit` never gets here: its entries are made by [`sudoedit`].
        CommandKind::Regex(_) | CommandKind::Sudoedit(_) => {
            notes.add(
                Kind::Dropped,
                "regular expressions are not supported (rewrite them as wildcards): the entry is not converted",
            );
            return None;
        }
    })
}

/// `base` with sudo's matching of argument wildcards (against all the
/// arguments joined) approximated: a denial is widened to any arguments,
/// an allowed `*` noted as narrower.
fn match_arguments(
    flat: &Flat,
    base: CommandOut,
    wildcards: Wildcards,
    notes: &mut Notes,
) -> CommandOut {
    match base {
        CommandOut::Program {
            path,
            args: Some(_),
            sha256,
        } if flat.negated && wildcards.any => {
            notes.add(
                Kind::Approximated,
                &format!(
                    "sudo matches wildcards in arguments against all the arguments joined by spaces, and jitsudo cannot deny a varying number of arguments: converted as a deny of {path} with any arguments (it denies more than sudo did)"
                ),
            );
            CommandOut::Program {
                path,
                args: None,
                sha256,
            }
        }
        base => {
            if wildcards.star && !flat.negated {
                notes.add(
                    Kind::Approximated,
                    "sudo matches `*` in arguments against all the arguments joined by spaces, so it also allows more arguments; jitsudo matches each argument on its own (narrower)",
                );
            }
            base
        }
    }
}

/// One entry per convertible digest (`base` itself without digests);
/// `None` when no digest converts.
fn pin_digests(base: CommandOut, digests: &[Digest], notes: &mut Notes) -> Option<Vec<CommandOut>> {
    if digests.is_empty() {
        return Some(vec![base]);
    }
    if matches!(base, CommandOut::All) {
        notes.add(
            Kind::Dropped,
            "jitsudo cannot pin a digest on ALL: the entry is not converted",
        );
        return None;
    }
    let mut pinned = Vec::new();
    for digest in digests {
        let hex = (digest.algorithm == "sha256")
            .then(|| sha256_hex(&digest.value))
            .flatten();
        match hex {
            Some(hex) => {
                let mut entry = base.clone();
                if let CommandOut::Program { sha256, .. } = &mut entry {
                    *sha256 = Some(hex);
                }
                pinned.push(entry);
            }
            None if digest.algorithm == "sha256" => notes.add(
                Kind::Dropped,
                &format!(
                    "`{}` is not a SHA-256 digest in hex or base64",
                    digest.value
                ),
            ),
            None => notes.add(
                Kind::Dropped,
                &format!(
                    "jitsudo pins sha256 digests only, not {}: this digest is not converted",
                    digest.algorithm
                ),
            ),
        }
    }
    (!pinned.is_empty()).then_some(pinned)
}

/// Whether the policy parser accepts `entry` (a pattern may be invalid
/// for jitsudo, such as an unclosed `[`), or its message.
fn valid_entry(entry: &CommandOut) -> Result<(), Error> {
    check_policy(
        "",
        format!(
            "[[rule]]\nwho = [\"u\"]\ncommands = [{}]\n",
            entry.to_toml()
        ),
    )
}

/// The entries for `sudoedit FILES`: one `"sudoedit FILE"` per file, as
/// jitsudo's policy takes one file per entry.
fn sudoedit(flat: &Flat, files: Option<&str>, notes: &mut Notes) -> Option<Vec<CommandOut>> {
    let files: Vec<&str> = files.unwrap_or("").split_ascii_whitespace().collect();
    match files.as_slice() {
        [] => {
            notes.add(
                Kind::Dropped,
                "a sudoedit entry without files allows editing any file; jitsudo's sudoedit entries name their files (list them): the entry is not converted",
            );
            return None;
        }
        ["\"\""] => {
            notes.add(Kind::Dropped, "sudoedit without files edits nothing: the entry is not converted");
            return None;
        }
        [_] => {}
        [..] if flat.negated => notes.add(
            Kind::Approximated,
            "sudo denies editing these files together; jitsudo denies editing each of them (it denies more than sudo did)",
        ),
        [..] => notes.add(
            Kind::Approximated,
            "sudo allows editing these files together; jitsudo allows editing each of them, also alone",
        ),
    }
    let entries: Vec<CommandOut> = files
        .into_iter()
        .map(|file| CommandOut::Edit(file.to_owned()))
        .filter(|entry| notes.accepts(entry))
        .collect();
    (!entries.is_empty()).then_some(entries)
}

/// The unescaped wildcards of an argument string.
#[derive(Debug, Clone, Copy, Default)]
struct Wildcards {
    /// Any of `*`, `?`, `[`.
    any: bool,
    /// A `*`.
    star: bool,
}

impl Wildcards {
    /// The wildcards of `args` (a `\` escapes the next character).
    fn of(args: &str) -> Wildcards {
        let mut found = Wildcards::default();
        let mut escaped = false;
        for c in args.chars() {
            if !escaped && matches!(c, '*' | '?' | '[') {
                found.any = true;
                found.star |= c == '*';
            }
            escaped = c == '\\' && !escaped;
        }
        found
    }
}
