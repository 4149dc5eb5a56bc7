//! Key expressions as Zenoh spells them: `/`-separated chunks, `*` for exactly one chunk,
//! `**` for any number of chunks (including none).

/// Whether some concrete key matches both expressions.
pub fn intersects(a: &str, b: &str) -> bool {
    let a: Vec<&str> = a.split('/').collect();
    let b: Vec<&str> = b.split('/').collect();
    intersect_chunks(&a, &b)
}

/// Whether the concrete key `key` matches the expression `expr`.
pub fn matches(expr: &str, key: &str) -> bool {
    intersects(expr, key)
}

/// Whether `expr` is a well-formed key expression: non-empty chunks, no leading or trailing
/// `/`, wildcards only as whole chunks, no `**/**`.
pub fn is_valid(expr: &str) -> bool {
    // One pass over the bytes: every key a device sends goes through here.
    let bytes = expr.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let (mut start, mut previous_double) = (0, false);
    for i in 0..=bytes.len() {
        match bytes.get(i) {
            Some(b'?' | b'#' | b'$') => return false,
            Some(b) if *b != b'/' => continue,
            _ => {}
        }
        let chunk = &bytes[start..i];
        let double = chunk == b"**";
        if chunk.is_empty()
            || (chunk.contains(&b'*') && chunk != b"*" && !double)
            || (double && previous_double)
        {
            return false;
        }
        previous_double = double;
        start = i + 1;
    }
    true
}

fn intersect_chunks(a: &[&str], b: &[&str]) -> bool {
    // Dynamic programming over (i, j): whether a[i..] and b[j..] can match the same key.
    let (n, m) = (a.len(), b.len());
    let mut dp = vec![vec![false; m + 1]; n + 1];
    dp[n][m] = true;
    for i in (0..=n).rev() {
        for j in (0..=m).rev() {
            if i == n && j == m {
                continue;
            }
            let ai = a.get(i).copied();
            let bj = b.get(j).copied();
            dp[i][j] = match (ai, bj) {
                (Some("**"), _) => dp[i + 1][j] || (j < m && dp[i][j + 1]),
                (_, Some("**")) => dp[i][j + 1] || (i < n && dp[i + 1][j]),
                (Some(x), Some(y)) => (x == "*" || y == "*" || x == y) && dp[i + 1][j + 1],
                _ => false,
            };
        }
    }
    dp[0][0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(intersects(
            "safething/v1/*/description",
            "safething/v1/abcde/description"
        ));
        assert!(!intersects(
            "safething/v1/*/description",
            "safething/v1/a/b/description"
        ));
        assert!(intersects(
            "safething/v1/**",
            "safething/v1/a/b/description"
        ));
        assert!(intersects("safething/v1/**", "safething/v1"));
        assert!(intersects(
            "safething/**/description",
            "safething/v1/x/description"
        ));
        assert!(intersects(
            "safething/v1/abcde/**",
            "safething/v1/*/description"
        ));
        assert!(!intersects(
            "safething/v1/abcde/**",
            "safething/v1/other/description"
        ));
        assert!(intersects("a/*/c", "a/**"));
        assert!(!intersects("a/b", "a/b/c"));
        assert!(intersects("**", "anything/at/all"));
    }

    #[test]
    fn validity() {
        assert!(is_valid("a/b/c"));
        assert!(is_valid("a/*/**"));
        for bad in ["", "/a", "a/", "a//b", "a/b*", "a/**/**", "a/$x", "a?b"] {
            assert!(!is_valid(bad), "{bad}");
        }
    }
}
