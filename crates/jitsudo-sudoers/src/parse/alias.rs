//! Alias definitions: `User_Alias`, `Runas_Alias`, `Host_Alias` and
//! `Cmnd_Alias` (or `Cmd_Alias`).

use super::super::ast::{AliasDef, AliasKind, StmtKind};
use super::lexer::is_alias_name;
use super::members::Ctx;
use super::{fail, Parsed, Parser};

impl Parser<'_> {
    /// An alias statement, the cursor after the keyword.
    pub(super) fn alias(&mut self, kind: AliasKind) -> Parsed<StmtKind> {
        let mut defs = Vec::new();
        loop {
            self.skip_blanks();
            let (name, escaped) = self.word();
            if escaped || !is_alias_name(&name) || name == "ALL" {
                return fail(format!(
                    "expected an alias name (upper case letters, digits and `_`) after `{}`, found {}",
                    kind.keyword(),
                    if name.is_empty() {
                        self.found()
                    } else {
                        format!("`{name}`")
                    }
                ));
            }
            self.expect(b'=', "`=` after the alias name")?;
            let members = match kind {
                AliasKind::User => self.list(Ctx::User)?,
                AliasKind::Runas => self.list(Ctx::Runas)?,
                AliasKind::Host => self.list(Ctx::Host)?,
                AliasKind::Cmnd => self.command_list(false)?,
            };
            defs.push(AliasDef { name, members });
            if !self.eat(b':') {
                break;
            }
        }
        Ok(StmtKind::Alias { kind, defs })
    }
}
