//! The HTTP side: routes, the request guard (origin and host), the REST endpoints and the
//! console's static files.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::query::{Caps, permit};
use super::{OPENAPI, Shared, check, ws};
use safething::keys;
use safething::transport::{Reply, Sample};
use safething::wire::Description;

/// The routes, behind the guard; `listen` is the address served on (its host is allowed).
pub(crate) fn router(shared: Arc<Shared>, listen: Option<SocketAddr>) -> Router {
    let max_body = shared.config.max_body;
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
        .into_iter()
        .map(str::to_owned)
        .chain(listen.map(|a| match a.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        }))
        .chain(shared.config.allowed_hosts.iter().cloned())
        .map(|h| host_name(&h))
        .collect();
    hosts.sort();
    hosts.dedup();
    let guard_state = GuardState {
        shared: shared.clone(),
        hosts: hosts.into(),
    };
    Router::new()
        .route("/", get(console_index))
        .route("/console/{file}", get(console_file))
        .route("/sdk/{file}", get(sdk_file))
        .route("/v2/things", get(things))
        .route("/v2/things/{id}", get(thing))
        .route("/v2/query", post(query))
        .route("/v2/ws", get(ws::upgrade))
        .route("/v2/openapi.json", get(openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(guard_state, guard))
        .with_state(shared)
}

/// What the guard checks requests against.
#[derive(Clone)]
struct GuardState {
    shared: Arc<Shared>,
    /// Host names answered to, as [`host_name`] writes them.
    hosts: Arc<[String]>,
}

/// A JSON response.
fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_string(body) {
        Ok(text) => (status, [(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("cannot write the response: {e}"),
        )
        .into_response(),
    }
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(uri.path())
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "`{method} {}` is not served: see /v2/openapi.json",
            uri.path()
        ),
    )
}

/// Refuses requests whose `Host` is not on the allow-list (DNS rebinding: a page whose domain
/// now resolves to the gateway still sends its own domain as `Host`), and pages of other
/// origins (browsers send `Origin` with cross-origin requests and every WebSocket handshake).
/// Programs that send no `Origin` (curl, Node.js, devices) pass the origin rule.
async fn guard(State(state): State<GuardState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()));
    let allowed = host
        .as_deref()
        .is_some_and(|h| host_allowed(h, &state.hosts));
    if !allowed {
        let shown = host.as_deref().unwrap_or("");
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_host",
            format!(
                "this gateway does not answer for the host `{shown}` (it answers for {}; start \
                 it with --allow-host NAME to add a name)",
                state.hosts.join(", ")
            ),
        )
        .into_response();
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !origin_allowed(
            origin,
            host.as_deref(),
            &state.shared.config.allowed_origins,
        ) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden_origin",
                format!(
                    "pages from `{origin}` may not use this gateway (start it with \
                     --allow-origin {origin} to allow them)"
                ),
            )
            .into_response();
        }
    }
    next.run(request).await
}

fn origin_allowed(origin: &str, host: Option<&str>, allowed: &[String]) -> bool {
    if allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    match (authority, host) {
        (Some(authority), Some(host)) => authority.eq_ignore_ascii_case(host),
        _ => false,
    }
}

/// A host without its port, lowercase; IPv6 addresses in brackets, written canonically.
fn host_name(host: &str) -> String {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, _port)) => {
                return match ip.parse::<std::net::Ipv6Addr>() {
                    Ok(ip) => format!("[{ip}]"),
                    Err(_) => format!("[{}]", ip.to_ascii_lowercase()),
                };
            }
            None => host,
        }
    } else {
        match host.rsplit_once(':') {
            // One colon: name:port. More: an IPv6 address without brackets (no port then).
            Some((name, _port)) if !name.contains(':') => name,
            _ => host,
        }
    };
    match name.parse::<IpAddr>() {
        Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
        Ok(IpAddr::V4(ip)) => ip.to_string(),
        Err(_) => name.to_ascii_lowercase(),
    }
}

/// Whether `host` (a `Host` header, port ignored) is one of `allowed` (written by
/// [`host_name`]).
fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let name = host_name(host);
    !name.is_empty() && allowed.contains(&name)
}

/// One thing as `GET /v2/things` lists it: convenience fields read from the description's body
/// (checked by the gateway, but clients that trust nothing verify `frame` themselves).
#[derive(Serialize)]
struct Summary {
    id: String,
    name: String,
    title: String,
    version: String,
    state: safething::wire::Lifecycle,
    online: bool,
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    key_expression: String,
    frame: String,
}

/// A key and a frame, in base64url.
#[derive(Serialize)]
struct KeyFrame<'a> {
    key: &'a str,
    frame: String,
}

impl<'a> KeyFrame<'a> {
    fn of(sample: &'a Sample) -> KeyFrame<'a> {
        KeyFrame {
            key: &sample.key,
            frame: check::encode_frame(&sample.payload),
        }
    }
}

/// A description that verifies: signed by the thing's own key, on its own key.
fn open_description(shared: &Shared, sample: &Sample) -> Option<Description> {
    let opened = shared
        .verifier
        .open::<Description>(&sample.key, &sample.payload)
        .map_err(|e| tracing::debug!(key = %sample.key, error = %e, "ignored a description"))
        .ok()?;
    let d = opened.body;
    (keys::description(&d.id) == *sample.key && opened.from == d.thing_key).then_some(d)
}

async fn things(State(shared): State<Arc<Shared>>) -> Result<Response, ApiError> {
    let _permit = permit(&shared)?;
    let mut replies = shared
        .transport
        .query(
            keys::ALL_DESCRIPTIONS,
            None,
            shared.config.discovery_timeout,
        )
        .await
        .map_err(|e| ApiError::transport(&e))?;
    let mut found: BTreeMap<String, (u64, Summary)> = BTreeMap::new();
    while let Some(reply) = replies.recv().await {
        let Reply::Ok(sample) = reply else { continue };
        let Some(d) = open_description(&shared, &sample) else {
            continue;
        };
        if found
            .get(d.id.as_str())
            .is_some_and(|(revision, _)| *revision >= d.revision)
        {
            continue;
        }
        let thing = &d.definition.thing;
        let summary = Summary {
            id: d.id.to_string(),
            name: thing.name.clone(),
            title: thing.title.clone().unwrap_or_else(|| thing.name.clone()),
            version: thing.version.clone(),
            state: d.state,
            online: shared.is_online(d.id.as_str()),
            key: d.thing_key.to_string(),
            owner: d.owner.map(|o| o.to_string()),
            key_expression: sample.key.to_string(),
            frame: check::encode_frame(&sample.payload),
        };
        found.insert(d.id.to_string(), (d.revision, summary));
    }
    #[derive(Serialize)]
    struct Things {
        things: Vec<Summary>,
    }
    Ok(json(
        StatusCode::OK,
        &Things {
            things: found.into_values().map(|(_, s)| s).collect(),
        },
    ))
}

async fn thing(
    State(shared): State<Arc<Shared>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|e| ApiError::bad_request("invalid_request", e.body_text()))?;
    let Ok(thing_id) = safething::ir::ThingId::new(id.as_str()) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_thing",
            format!("`{id}` is not a thing id (5 to 64 characters of A-Z a-z 0-9 - _ .)"),
        ));
    };
    let key = keys::description(&thing_id);
    let _permit = permit(&shared)?;
    let mut replies = shared
        .transport
        .query(&key, None, shared.config.request_timeout)
        .await
        .map_err(|e| ApiError::transport(&e))?;
    while let Some(reply) = replies.recv().await {
        let Reply::Ok(sample) = reply else { continue };
        if let Some(d) = open_description(&shared, &sample)
            && d.id == thing_id
        {
            return Ok(json(StatusCode::OK, &KeyFrame::of(&sample)));
        }
    }
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_thing",
        format!("no thing `{id}` answered"),
    ))
}

/// The body of `POST /v2/query`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryRequest {
    key: String,
    #[serde(default)]
    frame: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
}

/// Reads a JSON request: `malformed_json` for text that is not JSON, `invalid_request` for JSON
/// of the wrong shape.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::bad_request("invalid_request", e.to_string())
        }
        _ => ApiError::bad_request("malformed_json", format!("not JSON: {e}")),
    })
}

async fn query(
    State(shared): State<Arc<Shared>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large("the request body", shared.config.max_body)
        } else {
            ApiError::bad_request("invalid_request", e.body_text())
        }
    })?;
    let request: QueryRequest = parse_json(&body)?;
    check::query_key(&request.key)?;
    let frame = request
        .frame
        .as_deref()
        .map(|text| check::query_payload(&request.key, text))
        .transpose()?;
    let timeout = check::timeout(request.timeout_ms, shared.config.max_query_ms);
    let _permit = permit(&shared)?;
    let mut replies = shared
        .transport
        .query(&request.key, frame, timeout)
        .await
        .map_err(|e| ApiError::transport(&e))?;
    let mut caps = Caps::new(&shared);
    let mut samples = Vec::new();
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => break,
            reply = replies.recv() => match reply {
                Some(Reply::Ok(sample)) => {
                    if check::is_frame(&sample.key, &sample.payload) {
                        caps.admit(sample.payload.len())?;
                        samples.push(sample);
                    }
                }
                Some(Reply::Err(payload)) => {
                    tracing::debug!(key = %request.key, len = payload.len(), "dropped an error reply");
                }
                None => break,
            },
        }
    }
    #[derive(Serialize)]
    struct Replies<'a> {
        replies: Vec<KeyFrame<'a>>,
    }
    let replies = samples.iter().map(KeyFrame::of).collect();
    Ok(json(StatusCode::OK, &Replies { replies }))
}

async fn openapi() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        OPENAPI,
    )
        .into_response()
}

/// The console's Content-Security-Policy: its own scripts and styles only, connections to the
/// gateway only.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

fn content_type(name: &str) -> &'static str {
    if name.ends_with(".d.ts") {
        "text/plain; charset=utf-8"
    } else if name.ends_with(".js") || name.ends_with(".mjs") {
        "text/javascript; charset=utf-8"
    } else if name.ends_with(".css") {
        "text/css; charset=utf-8"
    } else if name.ends_with(".html") {
        "text/html; charset=utf-8"
    } else if name.ends_with(".svg") {
        "image/svg+xml"
    } else {
        "application/octet-stream"
    }
}

fn static_file(files: &'static [(&'static str, &'static str)], dir: &str, name: &str) -> Response {
    let Some((name, text)) = files.iter().find(|(n, _)| *n == name) else {
        return ApiError::not_found(&format!("/{dir}/{name}")).into_response();
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if name.ends_with(".html") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    (headers, Body::from(*text)).into_response()
}

async fn console_index() -> Response {
    static_file(
        safething_typescript::console::FILES,
        "console",
        "index.html",
    )
}

async fn console_file(file: Result<Path<String>, PathRejection>) -> Response {
    match file {
        Ok(Path(name)) => static_file(safething_typescript::console::FILES, "console", &name),
        Err(e) => ApiError::bad_request("invalid_request", e.body_text()).into_response(),
    }
}

async fn sdk_file(file: Result<Path<String>, PathRejection>) -> Response {
    match file {
        Ok(Path(name)) => static_file(safething_typescript::ts::DIST, "sdk", &name),
        Err(e) => ApiError::bad_request("invalid_request", e.body_text()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_origins() {
        let allowed: Vec<String> = [
            "localhost",
            "127.0.0.1",
            "[::1]",
            "0.0.0.0",
            "Garden.LAN:80",
        ]
        .iter()
        .map(|h| host_name(h))
        .collect();
        for ok in [
            "localhost",
            "LocalHost:8080",
            "127.0.0.1:1",
            "[::1]:80",
            "[::1]",
            "[0:0::1]:80",
            "0.0.0.0:8080",
            "garden.lan",
            "garden.lan:8443",
        ] {
            assert!(host_allowed(ok, &allowed), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "10.0.0.1:80",
            "127.1.2.3",
            "[::2]:80",
            "[::1",
            "localhost.evil",
            "localhost.",
            "",
            ":80",
            "garden.lan.evil",
        ] {
            assert!(!host_allowed(bad, &allowed), "{bad}");
        }
        assert!(origin_allowed(
            "http://127.0.0.1:8080",
            Some("127.0.0.1:8080"),
            &[]
        ));
        assert!(origin_allowed(
            "https://LOCALHOST:8443",
            Some("localhost:8443"),
            &[]
        ));
        assert!(!origin_allowed(
            "http://evil.example",
            Some("127.0.0.1:8080"),
            &[]
        ));
        assert!(!origin_allowed("null", Some("127.0.0.1:8080"), &[]));
        assert!(origin_allowed(
            "http://localhost:3000",
            Some("127.0.0.1:8080"),
            &["http://localhost:3000/".to_owned()]
        ));
    }
}
