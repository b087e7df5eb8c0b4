//! "Did you mean …?" hints for misspelt keys and values.

/// The largest edit distance at which a known word is suggested.
const MAX_DISTANCE: usize = 2;

/// Finds the known word closest to the unknown one in a serde message of the
/// form ``unknown field `x`, expected one of `a`, `b` `` (or `unknown variant`).
pub(crate) fn hint_for(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("unknown field ")
        .or_else(|| message.strip_prefix("unknown variant "))?;
    let (unknown, expected) = rest.split_once(", expected")?;
    let unknown = unknown.trim_matches('`');
    closest(unknown, backticked(expected))
}

/// The words between pairs of backticks in `text`.
fn backticked(text: &str) -> impl Iterator<Item = &str> {
    text.split('`').skip(1).step_by(2)
}

/// The candidate nearest to `word`, if it is near enough to be a likely typo
/// (and not so short that every word is "near").
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .map(|candidate| (distance(word, candidate), candidate))
        .filter(|&(d, _)| d <= MAX_DISTANCE && d < word.chars().count())
        .min_by_key(|&(d, _)| d)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance between two strings, in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            let insertion = current[j] + 1;
            let deletion = previous[j + 1] + 1;
            current.push(substitution.min(insertion).min(deletion));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("secure_pth", "secure_path"), 1);
        assert_eq!(distance("same", "same"), 0);
    }

    #[test]
    fn hints_the_closest_known_field() {
        let message = "unknown field `comands`, expected one of `id`, `who`, `commands`";
        assert_eq!(hint_for(message), Some("commands"));
    }

    #[test]
    fn hints_variants_too() {
        let message = "unknown variant `pasword`, expected `password` or `none`";
        assert_eq!(hint_for(message), Some("password"));
    }

    #[test]
    fn no_hint_when_nothing_is_close() {
        let message = "unknown field `colour`, expected `umask` or `passwd_tries`";
        assert_eq!(hint_for(message), None);
        assert_eq!(hint_for("unknown field `x`, expected `id`"), None);
        assert_eq!(hint_for("missing field `who`"), None);
    }
}
