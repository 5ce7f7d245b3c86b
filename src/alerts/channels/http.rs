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

use crate::alerts::SendError;

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

fn cut(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_ERROR_TEXT {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_ERROR_TEXT).collect();
    cut.push('…');
    cut
}

/// Reads an answer: the body of a 2xx, else the error it means. `api_error` pulls
/// the API's own message out of a JSON error body; `retry_hint` an API's own retry
/// delay (Telegram's `parameters.retry_after`).
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
    let after = after.or_else(|| json.as_ref().and_then(retry_hint));
    let reason = if detail.is_empty() {
        format!("{channel}: HTTP {status}")
    } else {
        format!("{channel}: HTTP {status}: {}", cut(&detail))
    };
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
