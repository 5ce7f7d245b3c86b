//! A webhook: one multipart/form-data `POST` to a URL of the owner's choosing, with the
//! alert as JSON (part `alert`) and the photos as JPEGs (parts `photo1`…, best first).
//!
//! Every request is signed so the receiver can tell it came from this kiosk and was
//! not replayed: `X-Doorguard-Timestamp` is the Unix time of sending and
//! `X-Doorguard-Signature` is `sha256=` and the hex HMAC-SHA256, keyed with the
//! `webhook_secret` secret, of the timestamp, a `.`, and the exact body bytes.
//! `X-Doorguard-Alert` carries the alert id, the same on every try, so a receiver can
//! drop the rare repeat after a crash.
//!
//! Owns the webhook request; must never show the secret.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use reqwest::blocking::Client;
use sha2::Sha256;

use super::http::{self, Multipart};
use crate::alerts::{AlertContent, AlertPhoto, Notifier, Receipt, SendError, render};
use crate::config::SecretValue;

/// `[webhook]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Where to `POST` (http or https).
    pub url: String,
    /// How long a request may take (default 30 s).
    pub timeout: Duration,
}

/// The webhook channel.
pub struct Webhook {
    client: Client,
    url: String,
    secret: Option<SecretValue>,
}

/// `sha256=` and the hex HMAC-SHA256 of `{timestamp}.{body}` under `secret`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// A JSON error body's `error` or `message` text, if any.
fn api_error(body: &serde_json::Value) -> Option<String> {
    ["error", "message"]
        .iter()
        .find_map(|k| body.get(*k)?.as_str().map(str::to_owned))
}

impl Webhook {
    /// Builds the client. Without a `webhook_secret` the requests go unsigned (a
    /// warning is logged once here).
    pub fn new(
        settings: &WebhookSettings,
        secret: Option<SecretValue>,
    ) -> Result<Webhook, SendError> {
        if secret.is_none() {
            tracing::warn!("webhook: no `webhook_secret` is set; requests are not signed");
        }
        Ok(Webhook {
            client: http::client("webhook", settings.timeout)?,
            url: settings.url.clone(),
            secret,
        })
    }
}

impl Notifier for Webhook {
    fn channel(&self) -> &'static str {
        "webhook"
    }

    fn send(&mut self, alert: &AlertContent, photos: &[AlertPhoto]) -> Result<Receipt, SendError> {
        let mut form = Multipart::new().text("alert", &render::json(alert).to_string());
        for (n, photo) in photos.iter().enumerate() {
            let name = format!("photo{}", n + 1);
            let filename = format!("doorguard-{}-{}.jpg", alert.id, n + 1);
            form = form.file(&name, &filename, "image/jpeg", &photo.jpeg);
        }
        let (content_type, body) = form.finish();
        let timestamp = chrono::Utc::now().timestamp();
        let mut request = self
            .client
            .post(&self.url)
            .header("Content-Type", content_type)
            .header("X-Doorguard-Alert", alert.id.to_string())
            .header("X-Doorguard-Timestamp", timestamp.to_string());
        if let Some(secret) = &self.secret {
            request = request.header(
                "X-Doorguard-Signature",
                signature(secret.expose().as_bytes(), timestamp, &body),
            );
        }
        let response = request
            .body(body)
            .send()
            .map_err(|e| http::network_error("webhook", e))?;
        let status = response.status();
        http::read("webhook", response, api_error, http::no_hint)?;
        Ok(Receipt {
            detail: format!("webhook HTTP {status}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_and_body() {
        // Reference value from Python:
        // hmac.new(b"key", b"1764075787.body", hashlib.sha256).hexdigest()
        assert_eq!(
            signature(b"key", 1764075787, b"body"),
            "sha256=f2c425747f6f83bc6f54165144ae04d986d586555d815fac77d718cb2898110d"
        );
    }
}
