//! What the gateway accepts from clients before anything reaches the network: keys under
//! `safething/v1/` only (and store reads under `safething/store/v1/`, `docs/store.md`),
//! well-formed protocol v2 request frames (read with the runtime's codec,
//! `safething::frame`: the gateway has no reader of its own), bounded timeouts. None of these checks
//! is a security boundary (devices check every message themselves); they keep the network free
//! of garbage and give clients clear errors.

use std::time::Duration;

use bytes::Bytes;
use data_encoding::BASE64URL_NOPAD;

use super::error::ApiError;
use safething::frame::{self, FrameError, Kind};
use safething::keys::{self, Route};
use safething::stored::{self, StoreQuery};
use safething::transport::keyexpr;

/// The prefix every key a client names must start with.
const PREFIX: &str = "safething/v1/";

/// The prefix of the keys stores answer on (`docs/protocol.md` §11).
const STORE_PREFIX: &str = "safething/store/v1/";

/// The largest store query payload (its JSON is a few dozen bytes).
const MAX_STORE_QUERY: usize = 256;

/// The only wildcard query: discovery of every thing's description.
const DISCOVERY: &str = keys::ALL_DESCRIPTIONS;

/// Default timeout of a query, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 5000;

/// The longest a query may stay open by default, in milliseconds (longer requests are clamped;
/// [`crate::GatewayConfig::max_query_ms`] raises it).
pub const MAX_TIMEOUT_MS: u64 = 60_000;

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
/// `attributes/<name>`, `actions/<name>`, `requests/<id>`, `admin`), the discovery
/// expression `safething/v1/*/description`, or a store's copy of a concrete key of what a
/// store keeps ([`store_key`]).
pub fn query_key(key: &str) -> Result<(), ApiError> {
    if key.starts_with(STORE_PREFIX) {
        return store_key(key);
    }
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
    // Session handshakes (`docs/protocol.md` §10) go to `safething/v1/<id>/session`.
    if key
        .strip_suffix("/session")
        .and_then(keys::parse_thing)
        .is_some()
    {
        return Ok(());
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

/// A store key a query may name: `safething/store/v1/<id>/` followed by `description`,
/// `attributes/<name>`, `events/<name>` or `requests/<id>` (what a store keeps), without
/// wildcards. Only queries reach it: the gateway puts nothing anywhere, and subscriptions stay
/// under `safething/v1/` (a store publishes nothing).
fn store_key(key: &str) -> Result<(), ApiError> {
    // One concrete key: `keys::parse` reads the id chunk as it comes, wildcards included.
    let kept = stored::thing_key(key)
        .filter(|k| keyexpr::is_valid(k) && !k.contains('*'))
        .is_some_and(|k| {
            matches!(
                keys::parse(&k),
                Some((
                    _,
                    Route::Description | Route::Attribute(_) | Route::Event(_) | Route::Request(_)
                ))
            )
        });
    if kept {
        Ok(())
    } else {
        Err(invalid(
            key,
            "not a key a store answers: safething/store/v1/<id>/description, \
             attributes/<name>, events/<name> or requests/<id>",
        ))
    }
}

/// The payload of a query on `key` (the base64url text of its `frame` member): a request frame
/// ([`request_frame`]) for a thing's key, a store query (`{"op":"latest"}`, … as JSON bytes,
/// [`StoreQuery`]) for a store's key — checked, then relayed unchanged.
pub fn query_payload(key: &str, text: &str) -> Result<Bytes, ApiError> {
    if !key.starts_with(STORE_PREFIX) {
        return request_frame(text);
    }
    let bytes = BASE64URL_NOPAD
        .decode(text.as_bytes())
        .ok()
        .filter(|b| b.len() <= MAX_STORE_QUERY)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_frame",
                format!(
                    "`frame` of a store query is base64url without padding of at most \
                     {MAX_STORE_QUERY} bytes"
                ),
            )
        })?;
    serde_json::from_slice::<StoreQuery>(&bytes).map_err(|e| {
        ApiError::bad_request(
            "invalid_frame",
            format!(
                "`frame` of a store query is not one (`{{\"op\":\"latest\"}}`, \
                 `{{\"op\":\"history\",\"limit\":N}}` or \
                 `{{\"op\":\"since\",\"after\":{{\"epoch\":E,\"seq\":S,\"ts\":T}},\"limit\":N}}`): {e}"
            ),
        )
    })?;
    Ok(Bytes::from(bytes))
}

/// A key expression a subscription or liveliness watch may name: under `safething/v1/`, with
/// `*` and `**` allowed.
pub fn watch_key(key: &str) -> Result<(), ApiError> {
    under_root(key)
}

/// A request frame a client sends, as the base64url text (RFC 4648 §5, no padding) of a JSON
/// `frame` member: decoded to bytes, then its header read with the runtime's frame codec. Only
/// a well-formed protocol v2 *request* frame passes; its bytes are relayed unchanged.
pub fn request_frame(text: &str) -> Result<Bytes, ApiError> {
    if text.starts_with('{') {
        return Err(ApiError::bad_request(
            "unsupported_version",
            "`frame` holds a protocol v1 JSON envelope: this gateway relays protocol v2 frames \
             (binary, as base64url)",
        ));
    }
    let bytes = BASE64URL_NOPAD.decode(text.as_bytes()).map_err(|e| {
        ApiError::bad_request(
            "invalid_frame",
            format!("`frame` is not base64url without padding: {e}"),
        )
    })?;
    // A session's hello or sealed request is relayed as it is (the device checks it).
    if let Some(t) = safething::session::frame_type(&bytes) {
        return if t == safething::session::HELLO || t == safething::session::SEALED {
            Ok(Bytes::from(bytes))
        } else {
            Err(ApiError::bad_request(
                "invalid_frame",
                "`frame` is a session frame clients do not send",
            ))
        };
    }
    match frame::decode(&bytes) {
        Ok(f) if f.header.kind == Kind::Request => Ok(Bytes::from(bytes)),
        Ok(f) => Err(ApiError::bad_request(
            "invalid_frame",
            format!(
                "`frame` is a {:?} frame: clients send request frames only",
                f.header.kind
            ),
        )),
        Err(FrameError::UnsupportedVersion(v)) => Err(ApiError::bad_request(
            "unsupported_version",
            format!(
                "`frame` is a protocol v{v} message: this gateway relays protocol v{} frames",
                frame::VERSION
            ),
        )),
        Err(e) => Err(ApiError::bad_request(
            "invalid_frame",
            format!("`frame` is not a well-formed request frame: {e}"),
        )),
    }
}

/// Whether bytes received from the network are a well-formed v2 frame (of any kind); others
/// are not relayed, so clients never see what the runtime could not read either.
pub fn is_frame(key: &str, bytes: &[u8]) -> bool {
    if safething::session::frame_type(bytes).is_some() {
        // Session answers (welcome, sealed replies, refusals) are for the requester to check.
        return true;
    }
    match frame::decode(bytes) {
        Ok(_) => true,
        Err(e) => {
            tracing::debug!(%key, error = %e, "dropped a message that is not a v2 frame");
            false
        }
    }
}

/// A frame as JSON carries it: base64url without padding.
pub fn encode_frame(bytes: &[u8]) -> String {
    BASE64URL_NOPAD.encode(bytes)
}

/// A query's timeout: the default when absent, clamped to `1..=max_ms`.
pub fn timeout(timeout_ms: Option<u64>, max_ms: u64) -> Duration {
    Duration::from_millis(
        timeout_ms
            .unwrap_or(DEFAULT_TIMEOUT_MS)
            .clamp(1, max_ms.max(1)),
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
            "safething/store/v1/garden-01/description",
            "safething/store/v1/garden-01/attributes/moisture_level",
            "safething/store/v1/garden-01/events/very_dry_alarm",
            "safething/store/v1/garden-01/requests/abc-1",
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
            "safething/store/v1/**",
            "safething/store/v1/*/description",
            "safething/store/v1/garden-01/**",
            "safething/store/v1/garden-01/attributes/*",
            "safething/store/v1/garden-01/actions/open_valve",
            "safething/store/v1/garden-01/admin",
            "safething/store/v1/garden-01/nope",
            "safething/store/v1/garden-01",
            "safething/store/v1/",
            "safething/store/v1//description",
            "safething/store/v2/garden-01/description",
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

    fn sealed(kind: Kind, binding: frame::Binding) -> Vec<u8> {
        let me = safething::Identity::generate().unwrap();
        safething::envelope::Sealer::new(me, safething::envelope::Signing::Signed)
            .seal(
                "safething/v1/garden-01/admin",
                kind,
                binding,
                &serde_json::json!({"op": "disable"}),
            )
            .unwrap()
            .to_vec()
    }

    #[test]
    fn request_frames() {
        let request = sealed(Kind::Request, frame::Binding::Epoch([7; 16]));
        let text = encode_frame(&request);
        assert!(!text.contains('=') && !text.contains('+') && !text.contains('/'));
        assert_eq!(request_frame(&text).unwrap().as_ref(), request.as_slice());

        let code = |text: &str| request_frame(text).unwrap_err().code;
        // Not base64url: the standard alphabet, padding, stray characters.
        assert_eq!(
            code(&data_encoding::BASE64.encode(&[0xfb; 40])),
            "invalid_frame"
        );
        assert_eq!(code(&format!("{text}=")), "invalid_frame");
        assert_eq!(code("not base64!"), "invalid_frame");
        // A v1 envelope, as text or as bytes; another version.
        assert_eq!(
            code(r#"{"v":1,"from":"st","id":"1","ts":1,"body":{}}"#),
            "unsupported_version"
        );
        assert_eq!(code(&encode_frame(br#"{"v":1}"#)), "unsupported_version");
        let mut v3 = request.clone();
        v3[2] = 3;
        let m = request_frame(&encode_frame(&v3)).unwrap_err();
        assert_eq!(m.code, "unsupported_version");
        assert!(m.message.contains("v3"), "{}", m.message);
        // Truncated, trailing bytes, empty, another kind.
        assert_eq!(
            code(&encode_frame(&request[..request.len() - 1])),
            "invalid_frame"
        );
        let mut longer = request.clone();
        longer.push(0);
        assert_eq!(code(&encode_frame(&longer)), "invalid_frame");
        assert_eq!(code(""), "invalid_frame");
        let description = sealed(Kind::Description, frame::Binding::None);
        assert_eq!(code(&encode_frame(&description)), "invalid_frame");
        assert!(is_frame("k", &description));
        assert!(!is_frame("k", b"{\"v\":1}"));
    }

    #[test]
    fn store_queries_pass_other_payloads_do_not() {
        let store = "safething/store/v1/garden-01/attributes/moisture_level";
        for ok in [
            r#"{"op":"latest"}"#,
            r#"{"op":"history","limit":10}"#,
            r#"{"op":"since","after":{"epoch":7,"seq":3,"ts":1000},"limit":10}"#,
        ] {
            let bytes = query_payload(store, &encode_frame(ok.as_bytes())).unwrap();
            assert_eq!(bytes.as_ref(), ok.as_bytes());
        }
        let code = |key: &str, text: &str| query_payload(key, text).unwrap_err().code;
        for bad in [r#"{"op":"put"}"#, r#"{"op":"history"}"#, "not json"] {
            assert_eq!(code(store, &encode_frame(bad.as_bytes())), "invalid_frame");
        }
        assert_eq!(code(store, "not base64!"), "invalid_frame");
        let long = format!(r#"{{"op":"latest","x":"{}"}}"#, "a".repeat(300));
        assert_eq!(code(store, &encode_frame(long.as_bytes())), "invalid_frame");
        // A request frame is no store query, and a store query no request frame.
        let request = encode_frame(&sealed(Kind::Request, frame::Binding::Epoch([7; 16])));
        assert_eq!(code(store, &request), "invalid_frame");
        let latest = encode_frame(br#"{"op":"latest"}"#);
        // (JSON where a frame belongs reads as a protocol v1 envelope.)
        assert_eq!(
            code("safething/v1/garden-01/attributes/moisture_level", &latest),
            "unsupported_version"
        );
        assert!(
            query_payload("safething/v1/garden-01/attributes/moisture_level", &request).is_ok()
        );
    }

    #[test]
    fn timeouts() {
        assert_eq!(
            timeout(None, MAX_TIMEOUT_MS),
            Duration::from_millis(DEFAULT_TIMEOUT_MS)
        );
        assert_eq!(timeout(Some(0), MAX_TIMEOUT_MS), Duration::from_millis(1));
        assert_eq!(
            timeout(Some(u64::MAX), MAX_TIMEOUT_MS),
            Duration::from_millis(MAX_TIMEOUT_MS)
        );
        assert_eq!(
            timeout(Some(90_000), 120_000),
            Duration::from_millis(90_000)
        );
    }
}
