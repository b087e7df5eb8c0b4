//! Members of user, host and run-as lists: names, `#id`s, `%group`s,
//! `+netgroup`s, addresses, aliases and `ALL`, each possibly negated.

use super::super::ast::{Item, Member};
use super::lexer::{is_alias_name, is_word_byte, normalize};
use super::{fail, Parsed, Parser};

/// Which kind of list a member is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ctx {
    /// Users (`name`, `#uid`, `%group`, `+netgroup`, aliases, `ALL`).
    User,
    /// Hosts (names, addresses, `+netgroup`, aliases, `ALL`).
    Host,
    /// Run-as users or groups.
    Runas,
}

/// Whether `word` is an IPv4 address, optionally with a `/mask` or `/bits`.
fn is_ipv4_network(word: &str) -> bool {
    let is_addr = |text: &str| {
        let parts: Vec<&str> = text.split('.').collect();
        parts.len() == 4
            && parts
                .iter()
                .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
    };
    match word.split_once('/') {
        Some((addr, mask)) => {
            is_addr(addr)
                && (is_addr(mask)
                    || (!mask.is_empty()
                        && mask.len() <= 2
                        && mask.bytes().all(|b| b.is_ascii_digit())))
        }
        None => is_addr(word),
    }
}

impl Parser<'_> {
    /// A comma-separated list of user, host or run-as entries.
    pub(super) fn list(&mut self, ctx: Ctx) -> Parsed<Vec<Member>> {
        self.comma_list(|parser| parser.member(ctx))
    }

    /// One user, host or run-as entry.
    fn member(&mut self, ctx: Ctx) -> Parsed<Member> {
        self.skip_blanks();
        let start = self.pos;
        let negated = self.negation();
        let item = self.name_item(ctx)?;
        Ok(Member {
            negated,
            item,
            text: normalize(&self.src[start..self.pos]),
        })
    }

    /// The item of a user, host or run-as entry.
    fn name_item(&mut self, ctx: Ctx) -> Parsed<Item> {
        match self.peek() {
            Some(b'"') => {
                let text = self.quoted()?;
                Ok(if let Some(group) = text.strip_prefix('%') {
                    Item::Group(group.to_owned())
                } else if let Some(netgroup) = text.strip_prefix('+') {
                    Item::Netgroup(netgroup.to_owned())
                } else {
                    Item::Word(text)
                })
            }
            Some(b'%') => self.group_item(),
            Some(b'+') => {
                self.pos += 1;
                let (name, _) = self.word();
                if name.is_empty() {
                    return fail("empty netgroup name after `+`");
                }
                Ok(Item::Netgroup(name))
            }
            Some(b'#') => {
                let id = self.id();
                if id.len() < 2 {
                    return fail(format!(
                        "expected a number after `#`, found {}",
                        self.found()
                    ));
                }
                Ok(Item::Word(id))
            }
            _ => self.word_item(ctx),
        }
    }

    /// `%group`, `%#gid` or `%:group`, the cursor on the `%`.
    fn group_item(&mut self) -> Parsed<Item> {
        self.pos += 1;
        let mut group = String::new();
        if self.peek() == Some(b':') {
            self.pos += 1;
            group.push(':');
        }
        let name = if self.peek() == Some(b'#') {
            self.id()
        } else {
            self.word().0
        };
        if name.is_empty() {
            return fail("empty group name after `%`");
        }
        group.push_str(&name);
        Ok(Item::Group(group))
    }

    /// A name, `ALL`, an alias or (for hosts) an address.
    fn word_item(&mut self, ctx: Ctx) -> Parsed<Item> {
        if ctx == Ctx::Host {
            if let Some(address) = self.ipv6_ahead() {
                return Ok(Item::Address(address));
            }
        }
        let (word, escaped) = self.word();
        if word.is_empty() {
            return fail(format!("expected a name, found {}", self.found()));
        }
        Ok(if escaped {
            Item::Word(word)
        } else if word == "ALL" {
            Item::All
        } else if is_alias_name(&word) {
            Item::Alias(word)
        } else if ctx == Ctx::Host && is_ipv4_network(&word) {
            Item::Address(word)
        } else {
            Item::Word(word)
        })
    }

    /// An IPv6 address (with an optional `/prefix`) at the cursor.
    fn ipv6_ahead(&mut self) -> Option<String> {
        let rest = self.rest();
        let is_ipv6_byte = |b: u8| b.is_ascii_hexdigit() || b == b':' || b == b'.';
        let len = rest.bytes().take_while(|&b| is_ipv6_byte(b)).count();
        let address = &rest[..len];
        if address.matches(':').count() < 2 {
            return None;
        }
        let mut end = len;
        if rest[end..].starts_with('/') {
            end += 1 + rest[end + 1..]
                .bytes()
                .take_while(|&b| is_ipv6_byte(b))
                .count();
        }
        if rest[end..].starts_with(|c: char| is_word_byte(c as u8) && c.is_ascii()) {
            return None;
        }
        let text = rest[..end].to_owned();
        self.pos += end;
        Some(text)
    }
}
