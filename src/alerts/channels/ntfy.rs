//! ntfy (a self-hosted or ntfy.sh push server): the best photo `PUT` to the topic as an
//! attachment, with the title, the alert text, the priority and tags in headers; without
//! a photo, the text is the body. Header texts are RFC 2047-encoded, which ntfy decodes
//! (so newlines and non-ASCII characters survive).
//!
//! Owns the ntfy request; must not retry by itself and must never show the access
//! token.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::blocking::Client;

use super::http;
use crate::alerts::{AlertContent, AlertPhoto, Notifier, Receipt, SendError, render};

/// `[ntfy]` settings.
#[derive(Clone, PartialEq, Eq)]
pub struct NtfySettings {
    /// The server (default `https://ntfy.sh`).
    pub base_url: String,
    /// The topic the owner's phone subscribes to; long and unguessable on ntfy.sh.
    pub topic: String,
    /// 1 (min) to 5 (urgent, the default).
    pub priority: u8,
    /// Tags shown as emoji or labels (default `rotating_light`).
    pub tags: Vec<String>,
    /// An access token (the `ntfy_token` secret), if the topic is protected.
    pub token: Option<String>,
    /// How long a request may take (default 60 s).
    pub timeout: Duration,
}

impl fmt::Debug for NtfySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NtfySettings")
            .field("base_url", &self.base_url)
            .field("topic", &self.topic)
            .field("priority", &self.priority)
            .field("tags", &self.tags)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The ntfy channel.
pub struct Ntfy {
    client: Client,
    url: String,
    settings: NtfySettings,
}

/// `=?UTF-8?B?…?=`: any text as a header value.
fn encoded_word(text: &str) -> String {
    format!("=?UTF-8?B?{}?=", STANDARD.encode(text))
}

/// ntfy's error JSON: `{"code": 40301, "http": 403, "error": "forbidden", …}`.
fn api_error(body: &serde_json::Value) -> Option<String> {
    let error = body.get("error")?.as_str()?;
    Some(match body.get("code").and_then(serde_json::Value::as_i64) {
        Some(code) => format!("{error} (code {code})"),
        None => error.to_owned(),
    })
}

impl Ntfy {
    /// Checks the settings and builds the client.
    pub fn new(settings: NtfySettings) -> Result<Ntfy, SendError> {
        let topic = settings.topic.trim();
        if topic.is_empty() || topic.contains('/') {
            return Err(SendError::Permanent {
                reason: "ntfy: `ntfy.topic` must be one word without slashes".to_owned(),
            });
        }
        let url = format!("{}/{topic}", settings.base_url.trim_end_matches('/'));
        Ok(Ntfy {
            client: http::client("ntfy", settings.timeout)?,
            url,
            settings,
        })
    }
}

impl Notifier for Ntfy {
    fn channel(&self) -> &'static str {
        "ntfy"
    }

    fn send(&mut self, alert: &AlertContent, photos: &[AlertPhoto]) -> Result<Receipt, SendError> {
        let s = &self.settings;
        let request = match photos.first() {
            Some(photo) => self
                .client
                .put(&self.url)
                .header("X-Message", encoded_word(&render::caption(alert)))
                .header("X-Filename", format!("doorguard-{}.jpg", alert.id))
                .header("Content-Type", "image/jpeg")
                .body(photo.jpeg.clone()),
            None => self
                .client
                .post(&self.url)
                .header("Content-Type", "text/plain; charset=utf-8")
                .body(render::caption(alert)),
        };
        let mut request = request
            .header("X-Title", encoded_word(&render::subject(alert)))
            .header("X-Priority", s.priority.clamp(1, 5).to_string())
            .header("X-Tags", s.tags.join(","));
        if let Some(token) = &s.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().map_err(|e| http::network_error("ntfy", e))?;
        let body = http::read("ntfy", response, api_error, http::no_hint)?;
        let id = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("id")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| "(no id in the answer)".to_owned());
        Ok(Receipt {
            detail: format!("ntfy message {id}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_texts_are_encoded_words() {
        assert_eq!(encoded_word("Tür\nzu"), "=?UTF-8?B?VMO8cgp6dQ==?=");
    }

    #[test]
    fn a_topic_with_a_slash_is_refused() {
        let settings = NtfySettings {
            base_url: "https://ntfy.sh".into(),
            topic: "a/b".into(),
            priority: 5,
            tags: vec![],
            token: None,
            timeout: Duration::from_secs(5),
        };
        assert!(Ntfy::new(settings).is_err());
    }
}
