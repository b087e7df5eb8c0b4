//! Reading policy sources into a [`Policy`]: TOML parsing, validation with
//! positions, merging of defaults and numbering of rules.

mod defaults;
mod rule;
#[cfg(test)]
mod tests;

use std::borrow::Borrow;
use std::collections::HashMap;
use std::ops::Range;

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
/// rules are concatenated. Every error found is returned, not just the first
/// (a TOML syntax or schema error stops the reading of that one source only).
pub fn parse(sources: &[Source]) -> Result<Policy, Vec<PolicyError>> {
    let mut loader = Loader::default();
    for source in sources {
        loader.load(source);
    }
    loader.finish()
}

/// The policy being assembled from successive sources.
#[derive(Default)]
struct Loader {
    defaults: Defaults,
    rules: Vec<Rule>,
    /// Where each rule id was first defined, as `file:line:column`.
    ids: HashMap<String, String>,
    errors: Vec<PolicyError>,
}

impl Loader {
    /// Reads one source and adds its defaults and rules.
    fn load(&mut self, source: &Source) {
        let map = SourceMap::new(&source.name, &source.text);
        let raw: RawPolicy = match toml::from_str(&source.text) {
            Ok(raw) => raw,
            Err(error) => return self.errors.push(map.toml_error(&error)),
        };
        let mut check = Checker::new(map, &mut self.errors);
        if let Some(raw_defaults) = &raw.defaults {
            defaults::apply(raw_defaults, &mut self.defaults, &mut check);
        }
        for raw_rule in &raw.rule {
            let (built, id_span) = rule::build(raw_rule, self.rules.len() + 1, &mut check);
            record_id(&mut self.ids, &built.id, id_span, &mut check);
            self.rules.push(built);
        }
    }

    /// The policy, or every error found.
    fn finish(self) -> Result<Policy, Vec<PolicyError>> {
        if self.errors.is_empty() {
            Ok(Policy {
                defaults: self.defaults,
                rules: self.rules,
            })
        } else {
            Err(self.errors)
        }
    }
}

/// Remembers a rule id, reporting it when an earlier rule already used it.
fn record_id(
    ids: &mut HashMap<String, String>,
    id: &str,
    span: Range<usize>,
    check: &mut Checker<'_>,
) {
    let (line, column) = check.map.position(span.start);
    let site = format!("{}:{line}:{column}", check.map.name());
    if let Some(first) = ids.get(id) {
        check.report(
            span,
            format!("duplicate rule id `{id}` (first used at {first})"),
        );
    } else {
        ids.insert(id.to_owned(), site);
    }
}

/// Validates values and records the errors with their positions.
struct Checker<'a> {
    map: SourceMap<'a>,
    errors: &'a mut Vec<PolicyError>,
}

impl<'a> Checker<'a> {
    /// A checker reporting into `errors`, with positions from `map`.
    fn new(map: SourceMap<'a>, errors: &'a mut Vec<PolicyError>) -> Self {
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
        values
            .iter()
            .filter_map(|value| self.check(value, &convert))
            .collect()
    }
}
