//! Shell-style wildcard patterns with `fnmatch(3)` semantics: `*`, `?`,
//! `[...]` classes (`[!...]` or `[^...]` negated, `a-z` ranges) and `\`
//! escapes, matched against bytes that are usually, but need not be, UTF-8.
//!
//! Wildcards consume one UTF-8 character at a time; a byte that does not
//! start a valid UTF-8 character counts as one character for `*` and `?`
//! and never matches a class.

use std::fmt;

/// A compiled wildcard pattern.
#[derive(Clone, PartialEq, Eq)]
pub struct Glob {
    /// The pattern as written (for display and comparison).
    text: String,
    /// The pattern's parts, in order.
    tokens: Vec<Token>,
}

/// One part of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// These exact bytes.
    Literal(Vec<u8>),
    /// `?`: any one character.
    AnyChar,
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `[...]`: one character in (or, negated, not in) the ranges.
    Class {
        /// `[!...]` or `[^...]`.
        negated: bool,
        /// Inclusive character ranges (a single character is `(c, c)`).
        ranges: Vec<(char, char)>,
    },
}

/// Whether `text` contains a character that makes it a pattern rather than
/// a literal (`*`, `?`, `[` or `\`).
pub fn has_wildcards(text: &str) -> bool {
    text.contains(['*', '?', '[', '\\'])
}

impl Glob {
    /// Compiles `pattern`; an unterminated `[` class or a trailing `\` is an
    /// error.
    pub fn new(pattern: &str) -> Result<Glob, String> {
        Glob::with_prefix(&[], pattern).map(|mut glob| {
            glob.text = pattern.to_owned();
            glob
        })
    }

    /// Compiles `pattern` preceded by the literal bytes `prefix` (used for a
    /// resolved directory followed by a pattern).
    pub(crate) fn with_prefix(prefix: &[u8], pattern: &str) -> Result<Glob, String> {
        let mut tokens = Vec::new();
        let mut literal = prefix.to_vec();
        let mut chars = pattern.chars().peekable();
        let flush = |literal: &mut Vec<u8>, tokens: &mut Vec<Token>| {
            if !literal.is_empty() {
                tokens.push(Token::Literal(std::mem::take(literal)));
            }
        };
        while let Some(c) = chars.next() {
            match c {
                '*' => {
                    flush(&mut literal, &mut tokens);
                    // `**` means the same as `*`.
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                '?' => {
                    flush(&mut literal, &mut tokens);
                    tokens.push(Token::AnyChar);
                }
                '\\' => {
                    let escaped = chars
                        .next()
                        .ok_or_else(|| format!("pattern `{pattern}` ends with a lone `\\`"))?;
                    push_char(&mut literal, escaped);
                }
                '[' => {
                    flush(&mut literal, &mut tokens);
                    tokens.push(parse_class(&mut chars, pattern)?);
                }
                other => push_char(&mut literal, other),
            }
        }
        flush(&mut literal, &mut tokens);
        let mut text = String::from_utf8_lossy(prefix).into_owned();
        text.push_str(pattern);
        Ok(Glob { text, tokens })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern is a plain literal (no wildcard after escapes).
    pub fn is_literal(&self) -> bool {
        self.tokens.iter().all(|t| matches!(t, Token::Literal(_)))
    }

    /// For a path pattern whose wildcards are all in its last component
    /// (`/usr/lib/*/x` is not, `/usr/bin/ip*` is): the directory every
    /// matching path is in (`/usr/bin`), as a path's `parent()` gives it.
    pub(crate) fn fixed_directory(&self) -> Option<&[u8]> {
        let (Token::Literal(first), rest) = self.tokens.split_first()? else {
            return None;
        };
        let slash = first.iter().rposition(|&b| b == b'/')?;
        let later_slash = rest
            .iter()
            .any(|t| matches!(t, Token::Literal(bytes) if bytes.contains(&b'/')));
        if later_slash {
            return None;
        }
        Some(if slash == 0 {
            &first[..1]
        } else {
            &first[..slash]
        })
    }

    /// Whether the whole of `text` matches. With `pathname`, wildcards never
    /// match `/` (`FNM_PATHNAME`), as for the path of a command.
    pub fn matches(&self, text: &[u8], pathname: bool) -> bool {
        let tokens = &self.tokens;
        let (mut t, mut s) = (0, 0);
        // After a `*`: the token after it, and where its match would end.
        let mut star: Option<(usize, usize)> = None;
        loop {
            if let Some(token) = tokens.get(t) {
                if *token == Token::Star {
                    star = Some((t + 1, s));
                    t += 1;
                    continue;
                }
                if let Some(len) = token_at(token, text, s, pathname) {
                    t += 1;
                    s += len;
                    continue;
                }
            } else if s == text.len() {
                return true;
            }
            // Mismatch: let the last `*` swallow one more character.
            let Some((after, end)) = star else {
                return false;
            };
            let Some((c, len)) = char_at(text, end) else {
                return false;
            };
            if pathname && c == Some('/') {
                return false;
            }
            star = Some((after, end + len));
            t = after;
            s = end + len;
        }
    }
}

/// Appends `c` to a literal, UTF-8 encoded.
fn push_char(literal: &mut Vec<u8>, c: char) {
    let mut buffer = [0; 4];
    literal.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
}

/// Parses a class after its `[`, up to and including its `]`.
fn parse_class(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    pattern: &str,
) -> Result<Token, String> {
    let unterminated = || format!("pattern `{pattern}` has a `[` without its closing `]`");
    let negated = matches!(chars.peek(), Some('!' | '^'));
    if negated {
        chars.next();
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = chars.next().ok_or_else(unterminated)?;
        if c == ']' && !first {
            break;
        }
        first = false;
        let low = if c == '\\' {
            chars.next().ok_or_else(unterminated)?
        } else {
            c
        };
        let mut lookahead = chars.clone();
        let high = match (lookahead.next(), lookahead.next()) {
            (Some('-'), Some(end)) if end != ']' => {
                chars.next();
                chars.next();
                let end = if end == '\\' {
                    chars.next().ok_or_else(unterminated)?
                } else {
                    end
                };
                if end < low {
                    return Err(format!(
                        "pattern `{pattern}` has the reversed range `{low}-{end}`"
                    ));
                }
                end
            }
            _ => low,
        };
        ranges.push((low, high));
    }
    Ok(Token::Class { negated, ranges })
}

/// The character at `pos` (`None` for a byte that starts no valid UTF-8
/// character) and its length; `None` at the end of the text.
fn char_at(text: &[u8], pos: usize) -> Option<(Option<char>, usize)> {
    let first = *text.get(pos)?;
    let len = match first {
        0x00..=0x7f => return Some((Some(char::from(first)), 1)),
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return Some((None, 1)),
    };
    let decoded = text
        .get(pos..pos + len)
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(|s| s.chars().next());
    match decoded {
        Some(c) => Some((Some(c), len)),
        None => Some((None, 1)),
    }
}

/// How many bytes `token` (not a `*`) matches at `pos`, if it matches.
fn token_at(token: &Token, text: &[u8], pos: usize, pathname: bool) -> Option<usize> {
    match token {
        Token::Literal(bytes) => text
            .get(pos..)
            .filter(|rest| rest.starts_with(bytes))
            .map(|_| bytes.len()),
        Token::AnyChar => match char_at(text, pos)? {
            (Some('/'), _) if pathname => None,
            (_, len) => Some(len),
        },
        Token::Class { negated, ranges } => {
            let (c, len) = char_at(text, pos)?;
            let c = c?;
            if pathname && c == '/' {
                return None;
            }
            let inside = ranges.iter().any(|&(low, high)| (low..=high).contains(&c));
            (inside != *negated).then_some(len)
        }
        Token::Star => None,
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.text)
    }
}

impl fmt::Display for Glob {
    /// The pattern as written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Glob::new(pattern)
            .unwrap_or_else(|e| panic!("{e}"))
            .matches(text.as_bytes(), false)
    }

    fn p(pattern: &str, text: &str) -> bool {
        Glob::new(pattern)
            .unwrap_or_else(|e| panic!("{e}"))
            .matches(text.as_bytes(), true)
    }

    #[test]
    fn star_matches_any_run() {
        assert!(m("*.service", "nginx.service"));
        assert!(m("*.service", ".service"));
        assert!(!m("*.service", "nginx.socket"));
        assert!(m("*", ""));
        assert!(m("a*b*c", "aXXbYYbc"));
        assert!(!m("a*b*c", "aXXbYYb"));
        assert!(m("**", "anything/at/all"));
        assert!(m("*x", "xxxx"));
        assert!(m("*", "has space"), "a `*` matches spaces inside one word");
        assert!(m("*", "-rf"), "a `*` matches option-looking words");
    }

    #[test]
    fn question_mark_is_one_character() {
        assert!(m("tty?", "tty1"));
        assert!(!m("tty?", "tty"));
        assert!(!m("tty?", "tty12"));
        assert!(m("?", "é"), "one character, two bytes");
        assert!(!m("??", "é"));
    }

    #[test]
    fn classes_and_ranges() {
        assert!(m("[abc]", "b"));
        assert!(!m("[abc]", "d"));
        assert!(m("[a-c]x", "cx"));
        assert!(m("[!a-c]", "d"));
        assert!(m("[^a-c]", "d"));
        assert!(!m("[!a-c]", "a"));
        assert!(m("[]]", "]"));
        assert!(m("[!]]", "a"));
        assert!(m("[a-]", "-"));
        assert!(m("[é]", "é"));
        assert!(m("sd[a-z][0-9]", "sdb1"));
    }

    #[test]
    fn escapes_are_literal() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "x"));
        assert!(m("a\\?", "a?"));
        assert!(m("[\\]]", "]"));
        assert!(m("\\[x]", "[x]"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in ["[abc", "x\\", "[", "[!", "[z-a]", "[a\\"] {
            assert!(Glob::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn pathname_mode_keeps_wildcards_inside_a_component() {
        assert!(p("/usr/bin/*", "/usr/bin/id"));
        assert!(!p("/usr/bin/*", "/usr/bin/x/y"));
        assert!(!p("/usr/*", "/usr/bin/id"));
        assert!(!p("/usr/bin?id", "/usr/bin/id"));
        assert!(!p("/usr/bin[/]id", "/usr/bin/id"));
        assert!(
            m("/usr/*", "/usr/bin/id"),
            "without pathname `*` crosses `/`"
        );
    }

    #[test]
    fn invalid_utf8_is_one_character_for_wildcards_only() {
        let glob = Glob::new("a?c").unwrap_or_else(|e| panic!("{e}"));
        assert!(glob.matches(b"a\xffc", false));
        let star = Glob::new("a*").unwrap_or_else(|e| panic!("{e}"));
        assert!(star.matches(b"a\xff\xfe", false));
        let class = Glob::new("a[!x]c").unwrap_or_else(|e| panic!("{e}"));
        assert!(!class.matches(b"a\xffc", false));
        // A truncated multibyte character.
        assert!(glob.matches(b"a\xc3c", false));
    }

    #[test]
    fn literal_and_prefix() {
        assert!(Glob::new("abc").is_ok_and(|g| g.is_literal()));
        assert!(Glob::new("a\\*").is_ok_and(|g| g.is_literal()));
        assert!(Glob::new("a*").is_ok_and(|g| !g.is_literal()));
        let glob = Glob::with_prefix(b"/usr/\xffbin/", "*").unwrap_or_else(|e| panic!("{e}"));
        assert!(glob.matches(b"/usr/\xffbin/id", true));
        assert!(!glob.matches(b"/usr/bin/id", true));
        assert!(has_wildcards("a[b"));
        assert!(!has_wildcards("/usr/bin/id"));
    }

    #[test]
    fn fixed_directories_are_found() {
        let dir = |p: &str| {
            Glob::new(p)
                .ok()
                .and_then(|g| g.fixed_directory().map(<[u8]>::to_vec))
        };
        assert_eq!(dir("/usr/bin/*"), Some(b"/usr/bin".to_vec()));
        assert_eq!(dir("/usr/bin/ip*"), Some(b"/usr/bin".to_vec()));
        assert_eq!(dir("/usr/bin/x\\*"), Some(b"/usr/bin".to_vec()));
        assert_eq!(dir("/*"), Some(b"/".to_vec()));
        assert_eq!(dir("/usr/lib/*/x"), None);
        assert_eq!(dir("/usr/*/bin/x"), None);
        assert_eq!(dir("*"), None);
        assert_eq!(dir("[/]x"), None);
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let pattern = "*a".repeat(50) + "b";
        let text = "a".repeat(5_000);
        let start = std::time::Instant::now();
        assert!(!m(&pattern, &text));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }
}
