//! Safety nets: each converted rule, and then the whole policy, checked
//! with jitsudo's own policy parser; what it refuses is reported.

use super::super::emit::RuleOut;
use super::super::error::check_policy;
use super::super::{Kind, Unconverted};
use super::Converter;
use jitsudo_policy::{parse as parse_policy, Source};

impl Converter<'_> {
    /// Keeps the rules that the policy parser accepts; any other is
    /// reported (a safety net: the converter should not produce one).
    pub(super) fn validated(&mut self, index: usize, rules: Vec<RuleOut>) -> Vec<RuleOut> {
        let mut kept = Vec::new();
        for rule in rules {
            let mut text = self.sets_toml.clone();
            text.push_str(&rule.to_toml());
            match check_policy("converted rule", text) {
                Ok(()) => kept.push(rule),
                Err(error) => {
                    let construct = self.statements[index].stmt.text.clone();
                    let reason = format!("the converted rule {} is not valid: {error}", rule.id);
                    self.note(index, Kind::Dropped, &construct, reason);
                }
            }
        }
        kept
    }

    /// Reports any error of the whole policy (a safety net, like
    /// [`Converter::validated`]).
    pub(super) fn check_whole(&mut self, toml: &str) {
        let source = Source {
            name: "converted policy".to_owned(),
            text: toml.to_owned(),
        };
        if let Err(errors) = parse_policy(&[source]) {
            self.notes.push(
                errors
                    .into_iter()
                    .map(|error| Unconverted {
                        file: error.file.clone(),
                        line: error.line,
                        construct: "(the converted policy)".to_owned(),
                        reason: format!("the converted policy is not valid: {error}"),
                        kind: Kind::Dropped,
                    })
                    .collect(),
            );
        }
    }
}
