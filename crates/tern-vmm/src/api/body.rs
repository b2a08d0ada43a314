//! JSON in and out: a strict request-body extractor and the response helper.
//!
//! axum's own `Json` extractor answers errors in plain text; this one answers with the
//! API's `{ "error": "..." }` body and a message naming what is wrong.

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::ApiError;
use super::limits::BODY_TIMEOUT;

/// Largest accepted request body in bytes. The largest legitimate body, a snapshot
/// request with a `PATH_MAX` path, is under 5 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request body parsed as JSON into `T`.
///
/// A `Content-Type` other than `application/json` is refused (415); a missing one is
/// accepted, so `curl --data-binary @req.json` works without `-H`. A body larger than
/// [`MAX_BODY_BYTES`] is refused (413), one that takes longer than [`BODY_TIMEOUT`] to
/// arrive too (408).
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("");
            let essence = ct.split(';').next().unwrap_or("").trim();
            if !essence.eq_ignore_ascii_case("application/json") {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!(
                        "request body must be application/json, not `{}`",
                        ct.escape_debug()
                    ),
                ));
            }
        }
        let read = tokio::time::timeout(BODY_TIMEOUT, Bytes::from_request(req, state));
        let Ok(read) = read.await else {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "request body did not arrive within {} s",
                    BODY_TIMEOUT.as_secs()
                ),
            ));
        };
        let bytes = read.map_err(|r| match r {
            BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body is larger than {MAX_BODY_BYTES} bytes"),
                )
            }
            other => ApiError::new(
                other.status(),
                format!("cannot read request body: {}", other.body_text()),
            ),
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "request body is empty: expected a JSON object",
            ));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
    }
}

/// A response with `value` serialized as JSON.
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => raw_json_response(status, bytes),
        // Serializing the API's own plain structs cannot fail; answer sanely anyway.
        Err(e) => {
            tracing::error!("cannot encode response: {e}");
            raw_json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &b"{\"error\":\"cannot encode response\"}"[..],
            )
        }
    }
}

/// A response whose body is already JSON text.
pub fn raw_json_response(status: StatusCode, bytes: impl Into<Body>) -> Response {
    let mut response = Response::new(bytes.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
