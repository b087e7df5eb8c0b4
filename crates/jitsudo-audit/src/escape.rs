//! Escaping of untrusted bytes for the human-readable log line.

use std::fmt::Write as _;

/// Appends `bytes` to `out` as printable, single-line text.
///
/// * valid UTF-8 that is neither a control nor a bidirectional/line-separator
///   formatting character is kept as it is;
/// * a backslash becomes `\\`, so that an escape sequence in the input cannot
///   pass for one made here;
/// * a semicolon becomes `\x3b`, so the line's ` ; ` field separator only
///   ever appears between fields (a directory or an argument cannot forge a
///   `USER=` or `COMMAND=` field);
/// * ASCII control characters (newline, carriage return, escape, DEL, ...) and
///   bytes that are not valid UTF-8 become `\xNN`;
/// * other control or formatting characters (C1 controls, bidi overrides,
///   U+2028/U+2029) become `\u{XXXX}`.
///
/// The result never contains a control character, so a newline in an
/// argument cannot forge a second log line.
pub(crate) fn escape_into(out: &mut String, bytes: &[u8]) {
    escape_also(out, bytes, &[]);
}

/// Like [`escape_into`], and also writes each of the ASCII characters
/// `also` as `\xNN` (the user name escapes `:`, which ends it).
pub(crate) fn escape_also(out: &mut String, bytes: &[u8], also: &[char]) {
    escape_with(out, bytes, also, true);
}

/// Like [`escape_into`] but keeps `;`: for values that stand alone (a JSON
/// string of the trail), not in a ` ; `-separated line.
pub(crate) fn escape_value(out: &mut String, bytes: &[u8]) {
    escape_with(out, bytes, &[], false);
}

fn escape_with(out: &mut String, bytes: &[u8], also: &[char], semicolon: bool) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                ';' if semicolon => push_hex_byte(out, b';'),
                c if c.is_ascii() && also.contains(&c) => push_hex_byte(out, c as u8),
                c if c.is_ascii_control() => push_hex_byte(out, c as u8),
                c if needs_unicode_escape(c) => {
                    // Writing to a String cannot fail.
                    let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
                }
                c => out.push(c),
            }
        }
        for &b in chunk.invalid() {
            push_hex_byte(out, b);
        }
    }
}

fn push_hex_byte(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('\\');
    out.push('x');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0x0f)]));
}

/// Characters that are valid UTF-8 but would mislead a reader or a line-based
/// log parser.
fn needs_unicode_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'            // arabic letter mark
            | '\u{200e}'..='\u{200f}' // LRM, RLM
            | '\u{2028}'..='\u{2029}' // line and paragraph separators
            | '\u{202a}'..='\u{202e}' // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidi isolates
        )
}

#[cfg(test)]
mod tests {
    use super::escape_into;

    fn escape(bytes: &[u8]) -> String {
        let mut out = String::new();
        escape_into(&mut out, bytes);
        out
    }

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(escape(b"/usr/bin/id -u"), "/usr/bin/id -u");
        assert_eq!(escape("caf\u{e9}".as_bytes()), "caf\u{e9}");
    }

    #[test]
    fn newline_and_controls_are_escaped() {
        assert_eq!(escape(b"a\nb"), "a\\x0ab");
        assert_eq!(escape(b"\r\t\x1b[31m\x7f"), "\\x0d\\x09\\x1b[31m\\x7f");
    }

    #[test]
    fn invalid_utf8_is_escaped() {
        assert_eq!(escape(b"a\xffb\xc3"), "a\\xffb\\xc3");
    }

    #[test]
    fn backslash_is_escaped_so_escapes_cannot_be_forged() {
        assert_eq!(escape(b"\\x0a"), "\\\\x0a");
    }

    #[test]
    fn semicolons_are_escaped_so_fields_cannot_be_forged() {
        assert_eq!(escape(b"/x ; USER=root ; y"), "/x \\x3b USER=root \\x3b y");
        let mut user = String::new();
        super::escape_also(&mut user, b"a : b;c", &[':']);
        assert_eq!(user, "a \\x3a b\\x3bc");
    }

    #[test]
    fn unicode_controls_and_bidi_are_escaped() {
        assert_eq!(escape("a\u{85}b".as_bytes()), "a\\u{85}b");
        assert_eq!(escape("x\u{202e}y".as_bytes()), "x\\u{202e}y");
        assert_eq!(escape("x\u{2028}y".as_bytes()), "x\\u{2028}y");
    }
}
