//! Telegram through the Bot API: the best photo with the alert as its caption
//! (`sendPhoto`, multipart), or the text alone (`sendMessage`) when there is no photo.
//! A group chat reaches several people with one delivery.
//!
//! Owns the Bot API request; must never show the bot token, which travels in the URL
//! path (`/bot{token}/sendPhoto`): errors are built without the URL. Telegram's own
//! throttling hint (`parameters.retry_after`) is honoured like `Retry-After`.

use std::time::Duration;

use reqwest::blocking::Client;

use super::http::{self, Multipart};
use crate::alerts::{AlertContent, AlertPhoto, Notifier, Receipt, SendError, render};
use crate::config::SecretValue;

/// `[telegram]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramSettings {
    /// The Bot API server (default `https://api.telegram.org`).
    pub base_url: String,
    /// The chat: a numeric id (`-100…` for groups) or `@channelname`.
    pub chat_id: String,
    /// How long a request may take (default 60 s).
    pub timeout: Duration,
}

/// The Telegram channel.
pub struct Telegram {
    client: Client,
    base_url: String,
    chat_id: String,
    token: SecretValue,
}

/// Telegram's error: `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`.
fn api_error(body: &serde_json::Value) -> Option<String> {
    body.get("description")?.as_str().map(str::to_owned)
}

/// `{"parameters":{"retry_after":5}}` on a 429.
fn retry_hint(body: &serde_json::Value) -> Option<Duration> {
    let secs = body.get("parameters")?.get("retry_after")?.as_u64()?;
    Some(Duration::from_secs(secs))
}

impl Telegram {
    /// Checks the settings and builds the client; the `telegram_bot_token` secret is
    /// required.
    pub fn new(
        settings: &TelegramSettings,
        token: Option<SecretValue>,
    ) -> Result<Telegram, SendError> {
        let token = super::required("telegram", "telegram_bot_token", token)?;
        Ok(Telegram {
            client: http::client("telegram", settings.timeout)?,
            base_url: settings.base_url.trim_end_matches('/').to_owned(),
            chat_id: settings.chat_id.trim().to_owned(),
            token,
        })
    }

    fn url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.base_url, self.token.expose())
    }
}

impl Notifier for Telegram {
    fn channel(&self) -> &'static str {
        "telegram"
    }

    fn send(&mut self, alert: &AlertContent, photos: &[AlertPhoto]) -> Result<Receipt, SendError> {
        let request = match photos.first() {
            Some(photo) => {
                let (content_type, body) = Multipart::new()
                    .text("chat_id", &self.chat_id)
                    .text("caption", &render::caption(alert))
                    .file(
                        "photo",
                        &format!("doorguard-{}.jpg", alert.id),
                        "image/jpeg",
                        &photo.jpeg,
                    )
                    .finish();
                self.client
                    .post(self.url("sendPhoto"))
                    .header("Content-Type", content_type)
                    .body(body)
            }
            None => self
                .client
                .post(self.url("sendMessage"))
                .json(&serde_json::json!({
                    "chat_id": self.chat_id,
                    "text": render::text(alert),
                })),
        };
        let response = request
            .send()
            .map_err(|e| http::network_error("telegram", e))?;
        let body = http::read("telegram", response, api_error, retry_hint)?;
        let answer = http::json_body("telegram", &body)?;
        if answer.get("ok").and_then(serde_json::Value::as_bool) != Some(true) {
            return Err(SendError::Permanent {
                reason: format!(
                    "telegram: {}",
                    api_error(&answer).unwrap_or_else(|| "the answer says not ok".into())
                ),
            });
        }
        let id = answer
            .pointer("/result/message_id")
            .and_then(serde_json::Value::as_i64)
            .map_or_else(|| "(no id)".to_owned(), |id| id.to_string());
        Ok(Receipt {
            detail: format!("telegram message {id}"),
        })
    }
}
