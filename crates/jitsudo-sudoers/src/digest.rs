//! Digests as sudoers writes them (hexadecimal or base64) turned into the
//! lower-case hexadecimal a jitsudo policy takes.

/// The hexadecimal form of a SHA-256 digest written in hex or base64
/// (padded or not), or `None` if it is neither or not 32 bytes long.
pub(crate) fn sha256_hex(value: &str) -> Option<String> {
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(value.to_ascii_lowercase());
    }
    let bytes = base64(value)?;
    if bytes.len() != 32 {
        return None;
    }
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Decodes standard base64 (`+`, `/`, optional `=` padding).
fn base64(text: &str) -> Option<Vec<u8>> {
    let digits = text.trim_end_matches('=');
    if text.len() - digits.len() > 2 || digits.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in digits.bytes() {
        let value = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256 of the empty string.
    const EMPTY_HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn hex_is_lower_cased() {
        assert_eq!(
            sha256_hex(&EMPTY_HEX.to_ascii_uppercase()).as_deref(),
            Some(EMPTY_HEX)
        );
    }

    #[test]
    fn base64_with_and_without_padding() {
        let padded = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        assert_eq!(sha256_hex(padded).as_deref(), Some(EMPTY_HEX));
        assert_eq!(
            sha256_hex(padded.trim_end_matches('=')).as_deref(),
            Some(EMPTY_HEX)
        );
    }

    #[test]
    fn rejects_other_lengths_and_characters() {
        for bad in [
            "",
            "abcd",
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hS",
            "*",
            &EMPTY_HEX[1..],
        ] {
            assert_eq!(sha256_hex(bad), None, "{bad:?}");
        }
    }
}
