//! The local time zone, as the C library sees it (TZ, /etc/localtime).

/// The local zone's offset from UTC in seconds at `unix_seconds`
/// (`tm_gmtoff` of `localtime_r`); 0 when it cannot be computed.
pub fn local_utc_offset(unix_seconds: i64) -> i32 {
    // time_t is 64 bits on every target jitsudo supports; the libc crate
    // marks musl's alias deprecated over musl 1.2's change to 64 bits on
    // 32-bit targets, which jitsudo does not build for.
    #[allow(deprecated)]
    let time: libc::time_t = unix_seconds;
    // SAFETY: `tm` is a plain C struct of integers and one pointer, for
    // which all-zero bytes are a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: localtime_r reads `time` and writes only the `tm` we own; it
    // returns null on failure, and then `tm` is not read.
    if unsafe { libc::localtime_r(&time, &mut tm) }.is_null() {
        return 0;
    }
    i32::try_from(tm.tm_gmtoff).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_is_within_a_day() {
        let offset = local_utc_offset(1_700_000_000);
        assert!(offset.abs() <= 26 * 3600);
    }
}
