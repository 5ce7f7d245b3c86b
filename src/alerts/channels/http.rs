//! What the HTTP channels share: a blocking client with timeouts, and the reading of an
//! answer into a [`Receipt`]-worthy body or a [`SendError`] — 2xx is accepted; 408,
//! 429, 5xx and network faults are worth another try (honouring `Retry-After`); any
//! other 4xx is final, with the API's own error text.
//!
//! Must never put a URL (tokens travel in some paths), an auth header or a body of
//! unbounded size into an error.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::alerts::{SendError, render};

/// The longest API error text kept in an error message.
const MAX_ERROR_TEXT: usize = 300;

/// A blocking client: 10 s to connect, `timeout` for the whole request.
pub fn client(channel: &str, timeout: Duration) -> Result<Client, SendError> {
    super::install_crypto_provider();
    Client::builder()
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .timeout(timeout)
        .user_agent(concat!("doorguard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SendError::Permanent {
            reason: format!(
                "{channel}: cannot build an HTTP client: {}",
                e.without_url()
            ),
        })
}

/// A request that did not get an answer: always worth another try. The URL is left
/// out of the text.
pub fn network_error(channel: &str, e: reqwest::Error) -> SendError {
    let what = if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "the request failed"
    };
    // The innermost cause says what happened ("Connection refused", "dns error");
    // reqwest's own text only says that a request failed.
    let e = e.without_url();
    let mut cause: &dyn std::error::Error = &e;
    while let Some(source) = cause.source() {
        cause = source;
    }
    SendError::Retry {
        reason: format!("{channel}: {what}: {cause}"),
        after: None,
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// An API's text, trimmed and cut to [`MAX_ERROR_TEXT`] characters.
fn cut(text: &str) -> String {
    render::truncate(text.trim(), MAX_ERROR_TEXT)
}

/// Reads an answer: the body of a 2xx, else the error it means. `api_error` pulls
/// the API's own message out of a JSON error body; `retry_hint` an API's own "try
/// again later" (Telegram's `parameters.retry_after`, Meta's throttling codes), which
/// makes any status worth another try.
pub fn read(
    channel: &str,
    response: Response,
    api_error: fn(&serde_json::Value) -> Option<String>,
    retry_hint: fn(&serde_json::Value) -> Option<Duration>,
) -> Result<String, SendError> {
    let status = response.status();
    let after = retry_after(response.headers());
    let body = response.text().map_err(|e| network_error(channel, e))?;
    if status.is_success() {
        return Ok(body);
    }
    let json = serde_json::from_str::<serde_json::Value>(&body).ok();
    let detail = json
        .as_ref()
        .and_then(api_error)
        .unwrap_or_else(|| cut(&body));
    let hint = json.as_ref().and_then(retry_hint);
    let reason = if detail.is_empty() {
        format!("{channel}: HTTP {status}")
    } else {
        format!("{channel}: HTTP {status}: {}", cut(&detail))
    };
    if let Some(hint) = hint {
        // The API says in its own words to come back later, whatever the status.
        return Err(SendError::Retry {
            reason,
            after: Some(after.map_or(hint, |a| a.max(hint))),
        });
    }
    Err(classify(status, reason, after))
}

/// 408, 429 and 5xx are worth another try; other statuses are final.
pub fn classify(status: StatusCode, reason: String, after: Option<Duration>) -> SendError {
    if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
    {
        SendError::Retry { reason, after }
    } else {
        SendError::Permanent { reason }
    }
}

/// A multipart/form-data body built in memory (RFC 7578), so its exact bytes are
/// known: the webhook signs them, and every request carries a `Content-Length`.
pub struct Multipart {
    boundary: String,
    body: Vec<u8>,
}

impl Default for Multipart {
    fn default() -> Self {
        Multipart::new()
    }
}

impl Multipart {
    /// An empty body with a random boundary.
    pub fn new() -> Multipart {
        let mut random = [0u8; 12];
        // A fixed boundary still works unless a part contains it; JPEGs and JSON
        // practically never do.
        let _ = getrandom::fill(&mut random);
        let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
        Multipart {
            boundary: format!("doorguard-{hex}"),
            body: Vec::new(),
        }
    }

    fn head(&mut self, disposition: &str, content_type: Option<&str>) {
        self.body
            .extend_from_slice(format!("--{}\r\n", self.boundary).as_bytes());
        self.body.extend_from_slice(
            format!("Content-Disposition: form-data; {disposition}\r\n").as_bytes(),
        );
        if let Some(content_type) = content_type {
            self.body
                .extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        self.body.extend_from_slice(b"\r\n");
    }

    /// A text field.
    pub fn text(mut self, name: &str, value: &str) -> Multipart {
        self.head(&format!("name=\"{name}\""), None);
        self.body.extend_from_slice(value.as_bytes());
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// A file field. `name` and `filename` must not contain quotes or line breaks.
    pub fn file(
        mut self,
        name: &str,
        filename: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Multipart {
        self.head(
            &format!("name=\"{name}\"; filename=\"{filename}\""),
            Some(content_type),
        );
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// The `Content-Type` header value and the body.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (
            format!("multipart/form-data; boundary={}", self.boundary),
            self.body,
        )
    }
}

/// The JSON of an accepted answer; an answer that is not JSON is kept as text in the
/// error, worth another try (a proxy's error page, a truncated body).
pub fn json_body(channel: &str, body: &str) -> Result<serde_json::Value, SendError> {
    serde_json::from_str(body).map_err(|_| SendError::Retry {
        reason: format!("{channel}: the answer is not JSON: {}", cut(body)),
        after: None,
    })
}

/// No API-specific retry hint.
pub fn no_hint(_: &serde_json::Value) -> Option<Duration> {
    None
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let after = retry_after(&headers).unwrap();
        assert!(
            after > Duration::from_secs(100) && after <= Duration::from_secs(120),
            "{after:?}"
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn multipart_bodies_have_one_part_per_field_and_a_closing_boundary() {
        let (content_type, body) = Multipart::new()
            .text("alert", "{}")
            .file("photo1", "a.jpg", "image/jpeg", b"\xff\xd8\xff\xd9")
            .finish();
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"alert\"\r\n\r\n{{}}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"photo1\"; filename=\"a.jpg\"\r\n\
             Content-Type: image/jpeg\r\n\r\n"
        );
        assert!(body.starts_with(expected.as_bytes()));
        let end = [
            &[0xff, 0xd9][..],
            format!("\r\n--{boundary}--\r\n").as_bytes(),
        ]
        .concat();
        assert!(body.ends_with(&end));
    }

    #[test]
    fn only_timeouts_throttling_and_server_faults_are_retried() {
        let retried = |code: u16| {
            matches!(
                classify(StatusCode::from_u16(code).unwrap(), String::new(), None),
                SendError::Retry { .. }
            )
        };
        assert!(retried(408) && retried(429) && retried(500) && retried(503));
        assert!(!retried(400) && !retried(401) && !retried(403) && !retried(404));
    }
}
