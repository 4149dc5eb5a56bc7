//! The gateway's errors: one JSON shape, `{"error": {"code": "...", "message": "..."}}`, for
//! every refused request and every refused WebSocket frame.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use safething::transport::TransportError;

/// A refused request: an HTTP status, a stable machine-readable code and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status it is answered with (WebSocket error frames carry only code and message).
    pub status: StatusCode,
    /// A stable code: `malformed_json`, `invalid_request`, `invalid_key`, `invalid_frame`,
    /// `unsupported_version`, `payload_too_large`, `unknown_thing`, `unknown_op`,
    /// `duplicate_id`, `unknown_id`, `too_many_operations`, `too_many_sockets`,
    /// `too_many_queries`, `too_many_replies`, `forbidden_origin`, `forbidden_host`,
    /// `not_found`, `method_not_allowed`, `not_websocket`, `binary_frame`, `transport`.
    pub code: &'static str,
    /// What was wrong, for people.
    pub message: String,
}

/// The body of an error (and the `error` member of a WebSocket error frame).
#[derive(Serialize)]
pub(crate) struct ErrorBody<'a> {
    pub(crate) code: &'a str,
    pub(crate) message: &'a str,
}

impl ApiError {
    /// A refusal with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 413 `payload_too_large`.
    pub fn too_large(what: &str, limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("{what} is larger than the limit of {limit} bytes"),
        )
    }

    /// 404 `not_found` for a path the gateway does not serve.
    pub fn not_found(path: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such resource `{path}`: see /v2/openapi.json for the API"),
        )
    }

    /// The transport failed underneath a request.
    pub fn transport(error: &TransportError) -> ApiError {
        match error {
            TransportError::InvalidKey(key) => ApiError::bad_request(
                "invalid_key",
                format!("`{key}` is not a valid key expression"),
            ),
            TransportError::Closed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "transport",
                "the gateway's network session is closed",
            ),
            other => ApiError::new(StatusCode::BAD_GATEWAY, "transport", other.to_string()),
        }
    }

    /// The error as its JSON text.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Outer<'a> {
            error: ErrorBody<'a>,
        }
        serde_json::to_string(&Outer {
            error: ErrorBody {
                code: self.code,
                message: &self.message,
            },
        })
        .unwrap_or_else(|_| String::from(r#"{"error":{"code":"internal","message":"?"}}"#))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.to_json(),
        )
            .into_response()
    }
}
