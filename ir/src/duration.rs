//! The duration syntax of definitions: `500ms`, `30s`, `2m`, `1h`, `1m30s`.

use std::time::Duration;

/// Parses a duration; every part is digits followed by `ms`, `s`, `m` or `h`.
/// The result must be positive and at most a day (longer deadlines are mistakes).
pub fn parse(text: &str) -> Result<Duration, String> {
    const MAX: Duration = Duration::from_secs(24 * 3600);
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("empty duration; write e.g. \"30s\" or \"500ms\"".into());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "`{text}` is not a duration: expected digits at `{rest}`; write e.g. \"30s\""
            ));
        }
        let (number, after) = rest.split_at(digits);
        let value: u64 = number
            .parse()
            .map_err(|_| format!("`{number}` in `{text}` is too large"))?;
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let part = match unit {
            "ms" => Duration::from_millis(value),
            "s" => Duration::from_secs(value),
            "m" => Duration::from_secs(value.saturating_mul(60)),
            "h" => Duration::from_secs(value.saturating_mul(3600)),
            "" => {
                return Err(format!(
                    "`{text}` has no unit after `{number}`; use ms, s, m or h"
                ));
            }
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{text}`; use ms, s, m or h"
                ));
            }
        };
        total = total.saturating_add(part);
        rest = after;
    }
    if total.is_zero() {
        return Err(format!("`{text}` is zero; a timeout must be positive"));
    }
    if total > MAX {
        return Err(format!("`{text}` is longer than the 24h maximum"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_units_and_combinations() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
    }

    #[test]
    fn rejects_garbage_with_a_reason() {
        for bad in [
            "",
            "30",
            "s",
            "30 s",
            "3x",
            "0s",
            "-1s",
            "25h",
            "99999999999999999999s",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
