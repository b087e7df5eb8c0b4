//! Durations: sudo's (`90`, `5m`, `1h30m`, `2D`) as jitsudo's, and
//! minutes as TOML floats.

use super::super::error::Error;

/// A sudo duration (`90`, `5m`, `1h30m`, `2D`) as a jitsudo duration
/// (`"90s"`, `"5m"`, `"1h30m"`, `"2d"`); `Ok(None)` for zero (no timeout).
pub(super) fn timeout(text: &str) -> Result<Option<String>, Error> {
    let invalid = || Error::Unconvertible(format!("`{text}` is not a duration"));
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: u64 = text.parse().map_err(|_| invalid())?;
        return Ok((seconds > 0).then(|| format!("{seconds}s")));
    }
    if text.is_empty() {
        return Err(invalid());
    }
    let lower = text.to_ascii_lowercase();
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in lower.chars() {
        match c {
            '0'..='9' => digits.push(c),
            'd' | 'h' | 'm' | 's' if !digits.is_empty() => {
                let amount: u64 = digits.parse().map_err(|_| invalid())?;
                total = total.saturating_add(amount);
                digits.clear();
            }
            _ => return Err(invalid()),
        }
    }
    if !digits.is_empty() {
        return Err(invalid());
    }
    Ok((total > 0).then_some(lower))
}

/// Formats minutes as a TOML float.
pub(super) fn minutes(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.1}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_durations_become_jitsudo_durations() {
        assert_eq!(timeout("90"), Ok(Some("90s".into())));
        assert_eq!(timeout("1H30m"), Ok(Some("1h30m".into())));
        assert_eq!(timeout("2d"), Ok(Some("2d".into())));
        assert_eq!(timeout("0"), Ok(None));
        assert_eq!(timeout("0m"), Ok(None));
        for bad in ["", "m", "5x", "1.5h", "5m3"] {
            assert!(timeout(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn minutes_are_toml_floats() {
        assert_eq!(minutes(15.0), "15.0");
        assert_eq!(minutes(2.5), "2.5");
    }
}
