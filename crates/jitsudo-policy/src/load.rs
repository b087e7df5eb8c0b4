//! Reading policy sources into a [`Policy`]: TOML parsing, validation with
//! positions, merging of defaults and numbering of rules.

mod compat;
mod defaults;
mod grant;
mod rule;
mod sets;
#[cfg(test)]
mod tests;

use std::borrow::Borrow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;
use toml::de::{DeTable, Deserializer};
use toml::Spanned;

use crate::error::{PolicyError, SourceMap};
use crate::model::{Defaults, Policy, Rule};
use crate::schema::RawPolicy;

/// One policy file: a name for messages and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file name shown in errors and recorded in each rule.
    pub name: String,
    /// The file's TOML text.
    pub text: String,
}

/// Parses and validates the main policy file followed by its drop-ins, in the
/// order given.
///
/// Each `[defaults]` key set by a later source overrides the earlier value;
/// rules are concatenated; command sets are shared by all sources. Every
/// error found is returned, not just the first (a TOML syntax or schema
/// error stops the reading of that one source only). Warnings (see
/// [`parse_with_warnings`]) are dropped.
pub fn parse(sources: &[Source]) -> Result<Policy, Vec<PolicyError>> {
    parse_with_warnings(sources).map(|parsed| parsed.policy)
}

/// A policy and the warnings found while reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The policy.
    pub policy: Policy,
    /// Problems that did not stop the policy from loading, such as unknown
    /// keys in a source with `[compat] unknown_keys = "warn"`.
    pub warnings: Vec<PolicyError>,
}

/// Like [`parse`], but also returns the warnings.
pub fn parse_with_warnings(sources: &[Source]) -> Result<Parsed, Vec<PolicyError>> {
    let mut loader = Loader::default();
    let files: Vec<(SourceMap<'_>, RawPolicy)> = sources
        .iter()
        .filter_map(|source| loader.read(source))
        .collect();
    for (map, raw) in &files {
        let mut check = Checker::new(map, &mut loader.errors);
        sets::define(&raw.command_sets, &mut loader.sets, &mut check);
    }
    // Sized up front: the rules are kept as long as the policy, with no
    // room to spare (and a 10,000-rule list is not copied as it grows).
    let rules = files.iter().map(|(_, raw)| raw.rule.len()).sum();
    loader.rules.reserve_exact(rules);
    loader.ids.reserve(rules);
    for file in 0..files.len() {
        loader.load(&files, file);
    }
    // Report in source order, whichever pass found the problem.
    let order = |e: &PolicyError| sources.iter().position(|s| s.name == e.file);
    loader.errors.sort_by_key(order);
    loader.warnings.sort_by_key(order);
    loader.finish()
}

/// The policy being assembled from successive sources.
#[derive(Default)]
struct Loader {
    defaults: Defaults,
    rules: Vec<Rule>,
    /// Where each rule id was first defined: the source (its position in
    /// the files read) and the byte offset, placed only if an error needs it.
    ids: HashMap<String, Site>,
    /// The command sets of every source.
    sets: sets::CommandSets,
    errors: Vec<PolicyError>,
    warnings: Vec<PolicyError>,
}

impl Loader {
    /// Parses one source's TOML, recording the error if it is invalid.
    ///
    /// With `[compat] unknown_keys = "warn"` in the source, each unknown key
    /// is recorded as a warning and removed before the source is read again.
    fn read<'s>(&mut self, source: &'s Source) -> Option<(SourceMap<'s>, RawPolicy)> {
        let map = SourceMap::new(&source.name, &source.text);
        let mut table = match DeTable::parse(&source.text) {
            Ok(table) => table,
            Err(error) => {
                self.errors.push(map.toml_error(&error));
                return None;
            }
        };
        if !compat::warns_on_unknown_keys(table.get_ref()) {
            return match RawPolicy::deserialize(Deserializer::from(table)) {
                Ok(raw) => Some((map, raw)),
                Err(error) => {
                    self.errors.push(map.toml_error(&error));
                    None
                }
            };
        }
        loop {
            let error = match RawPolicy::deserialize(Deserializer::from(table.clone())) {
                Ok(raw) => return Some((map, raw)),
                Err(error) => error,
            };
            let removed = compat::unknown_key_span(&error)
                .is_some_and(|span| compat::remove_key(table.get_mut(), &span));
            if !removed {
                self.errors.push(map.toml_error(&error));
                return None;
            }
            let mut warning = map.toml_error(&error);
            warning
                .message
                .push_str(" (ignored: [compat] unknown_keys = \"warn\")");
            self.warnings.push(warning);
        }
    }

    /// Adds the defaults and rules of source `file` of `files`.
    fn load(&mut self, files: &[(SourceMap<'_>, RawPolicy)], file: usize) {
        let (map, raw) = &files[file];
        let mut check = Checker::new(map, &mut self.errors);
        if let Some(raw_defaults) = &raw.defaults {
            defaults::apply(raw_defaults, &mut self.defaults, &mut check);
        }
        let name: Arc<str> = Arc::from(map.name());
        for raw_rule in &raw.rule {
            let (built, id_span) = rule::build(
                raw_rule,
                self.rules.len() + 1,
                &name,
                &self.sets,
                &mut check,
            );
            let site = Site {
                file,
                offset: id_span.start,
            };
            if let Some(first) = record_id(&mut self.ids, &built.id, site) {
                let (first_map, _) = &files[first.file];
                let (line, column) = first_map.position(first.offset);
                check.report(
                    id_span,
                    format!(
                        "duplicate rule id `{}` (first used at {}:{line}:{column})",
                        built.id,
                        first_map.name()
                    ),
                );
            }
            self.rules.push(built);
        }
    }

    /// The policy and its warnings, or every error found.
    fn finish(self) -> Result<Parsed, Vec<PolicyError>> {
        if self.errors.is_empty() {
            Ok(Parsed {
                policy: Policy::new(self.defaults, self.rules),
                warnings: self.warnings,
            })
        } else {
            Err(self.errors)
        }
    }
}

/// Where a rule id is written: a source, by its position in the files
/// read, and a byte offset in it.
#[derive(Debug, Clone, Copy)]
struct Site {
    file: usize,
    offset: usize,
}

/// Remembers where a rule id is first used; returns that first site when an
/// earlier rule already used it.
fn record_id(ids: &mut HashMap<String, Site>, id: &str, site: Site) -> Option<Site> {
    if let Some(first) = ids.get(id) {
        return Some(*first);
    }
    ids.insert(id.to_owned(), site);
    None
}

/// Validates values and records the errors with their positions.
struct Checker<'a> {
    map: &'a SourceMap<'a>,
    errors: &'a mut Vec<PolicyError>,
}

impl<'a> Checker<'a> {
    /// A checker reporting into `errors`, with positions from `map`.
    fn new(map: &'a SourceMap<'a>, errors: &'a mut Vec<PolicyError>) -> Self {
        Checker { map, errors }
    }

    /// Records an error at `span`.
    fn report(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors.push(self.map.error(span, message));
    }

    /// Converts one value, recording the error at its position on failure.
    fn check<S: Borrow<B>, B: ?Sized, T>(
        &mut self,
        value: &Spanned<S>,
        convert: impl Fn(&B) -> Result<T, String>,
    ) -> Option<T> {
        match convert(value.get_ref().borrow()) {
            Ok(converted) => Some(converted),
            Err(message) => {
                self.report(value.span(), message);
                None
            }
        }
    }

    /// Converts every value of a list, recording each failure.
    fn check_all<S: Borrow<B>, B: ?Sized, T>(
        &mut self,
        values: &[Spanned<S>],
        convert: impl Fn(&B) -> Result<T, String>,
    ) -> Vec<T> {
        // Sized up front: kept as long as the policy, with no room to spare.
        let mut converted = Vec::with_capacity(values.len());
        converted.extend(
            values
                .iter()
                .filter_map(|value| self.check(value, &convert)),
        );
        converted
    }
}
