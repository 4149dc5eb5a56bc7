//! What the gateway accepts from clients before anything reaches the network: keys under
//! `safething/v1/` only, envelopes that are JSON objects, bounded timeouts. None of these checks
//! is a security boundary (devices check every message themselves); they keep the network free
//! of garbage and give clients clear errors.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::de::IgnoredAny;

use super::error::ApiError;
use safething::keys::{self, Route};
use safething::transport::keyexpr;

/// The prefix every key a client names must start with.
const PREFIX: &str = "safething/v1/";

/// The only wildcard query: discovery of every thing's description.
const DISCOVERY: &str = keys::ALL_DESCRIPTIONS;

/// Default timeout of a query, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 5000;

/// The longest a query may stay open, in milliseconds (longer requests are clamped).
pub const MAX_TIMEOUT_MS: u64 = 600_000;

fn invalid(key: &str, why: &str) -> ApiError {
    ApiError::bad_request("invalid_key", format!("`{key}`: {why}"))
}

fn under_root(key: &str) -> Result<(), ApiError> {
    if !key.starts_with(PREFIX) || key.len() == PREFIX.len() {
        return Err(invalid(key, "only keys under `safething/v1/` are relayed"));
    }
    if !keyexpr::is_valid(key) {
        return Err(invalid(
            key,
            "not a valid key expression (non-empty `/`-separated chunks; `*` and `**` only as \
             whole chunks; no `**/**`; no `?`, `#` or `$`)",
        ));
    }
    Ok(())
}

/// A key a query may name: a concrete key of a thing that answers queries (`description`,
/// `attributes/<name>`, `actions/<name>`, `requests/<id>`, `admin`), or the discovery
/// expression `safething/v1/*/description`.
pub fn query_key(key: &str) -> Result<(), ApiError> {
    under_root(key)?;
    if key == DISCOVERY {
        return Ok(());
    }
    if key.split('/').any(|chunk| chunk == "*" || chunk == "**") {
        return Err(invalid(
            key,
            "queries name one key (wildcards only in `safething/v1/*/description`, for \
             discovery); subscribe to follow many keys",
        ));
    }
    match keys::parse(key) {
        Some((_, Route::Event(_))) => Err(invalid(
            key,
            "events are published, not queried: subscribe to them",
        )),
        Some(_) => Ok(()),
        None => Err(invalid(
            key,
            "not a key a thing answers: safething/v1/<id>/description, attributes/<name>, \
             actions/<name>, requests/<id> or admin",
        )),
    }
}

/// A key expression a subscription or liveliness watch may name: under `safething/v1/`, with
/// `*` and `**` allowed.
pub fn watch_key(key: &str) -> Result<(), ApiError> {
    under_root(key)
}

/// An envelope a client sends: a JSON object with the envelope's members (`v`, `from`, `id`,
/// `ts`, `body`). Only checked, never re-serialized: the bytes relayed are the client's own.
pub fn envelope(text: &str) -> Result<(), ApiError> {
    let members: BTreeMap<String, IgnoredAny> = serde_json::from_str(text).map_err(|e| {
        ApiError::bad_request(
            "invalid_envelope",
            format!("`payload` must hold an envelope's JSON text (a JSON object): {e}"),
        )
    })?;
    if let Some(missing) = ["v", "from", "id", "ts", "body"]
        .into_iter()
        .find(|m| !members.contains_key(*m))
    {
        return Err(ApiError::bad_request(
            "invalid_envelope",
            format!("`payload` is not an envelope: it has no `{missing}` member"),
        ));
    }
    Ok(())
}

/// A query's timeout: the default when absent, clamped to `1..=MAX_TIMEOUT_MS`.
pub fn timeout(timeout_ms: Option<u64>) -> Duration {
    Duration::from_millis(
        timeout_ms
            .unwrap_or(DEFAULT_TIMEOUT_MS)
            .clamp(1, MAX_TIMEOUT_MS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keys() {
        for ok in [
            "safething/v1/*/description",
            "safething/v1/garden-01/description",
            "safething/v1/garden-01/attributes/moisture_level",
            "safething/v1/garden-01/actions/open_valve",
            "safething/v1/garden-01/requests/abc-1",
            "safething/v1/garden-01/admin",
        ] {
            assert!(query_key(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "safething/v1/",
            "safething/v1",
            "safething/v2/garden-01/description",
            "other/garden-01/description",
            "**",
            "safething/**",
            "safething/v1/**",
            "safething/v1/garden-01/**",
            "safething/v1/*/attributes/x",
            "safething/v1/garden-01/events/very_dry_alarm",
            "safething/v1/garden-01/nope",
            "safething/v1/garden-01/description/",
            "safething/v1//description",
            "safething/v1/a$b/description",
            "safething/v1/garden-01/attributes/a*b",
        ] {
            let e = query_key(bad).expect_err(bad);
            assert_eq!(e.code, "invalid_key", "{bad}");
        }
    }

    #[test]
    fn watch_keys() {
        for ok in [
            "safething/v1/*",
            "safething/v1/**",
            "safething/v1/garden-01/attributes/*",
            "safething/v1/garden-01/events/very_dry_alarm",
        ] {
            assert!(watch_key(ok).is_ok(), "{ok}");
        }
        for bad in [
            "**",
            "safething/**",
            "safething/*/x",
            "safething/v1",
            "safething/v1/**/**",
            "safething/v1/a**",
            "safething/v1/a?",
        ] {
            assert!(watch_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn envelopes_and_timeouts() {
        assert!(envelope(r#"{"v":1,"from":"st","id":"1","ts":1,"body":{}}"#).is_ok());
        assert!(envelope("[]").is_err());
        assert!(envelope(r#"{"v":1}"#).is_err());
        assert!(envelope("{").is_err());
        assert_eq!(timeout(None), Duration::from_millis(DEFAULT_TIMEOUT_MS));
        assert_eq!(timeout(Some(0)), Duration::from_millis(1));
        assert_eq!(
            timeout(Some(u64::MAX)),
            Duration::from_millis(MAX_TIMEOUT_MS)
        );
    }
}
