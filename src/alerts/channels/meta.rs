//! WhatsApp through Meta's Cloud API: the best photo is uploaded first
//! (`POST /{phone-number-id}/media`, multipart), then a message is sent
//! (`POST /{phone-number-id}/messages`, JSON) — an `image` message with the alert as
//! caption, or, when a template is configured, that template with the photo as its
//! image header and a one-line summary as its body's `{{1}}`. Free-form messages only
//! reach a number that wrote to the business in the last 24 hours; a template
//! approved by Meta reaches it at any time.
//!
//! Owns the Cloud API requests; must never show the access token (sent as a bearer
//! token). Meta's throttling codes are retried even when they come with HTTP 400.

use std::time::Duration;

use reqwest::blocking::Client;
use serde_json::{Value, json};

use super::http::{self, Multipart};
use crate::alerts::{AlertContent, AlertPhoto, Notifier, Receipt, SendError, render};
use crate::config::SecretValue;

/// `[whatsapp]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaSettings {
    /// The Graph API with its version (default `https://graph.facebook.com/v21.0`).
    pub base_url: String,
    /// The sending number's id, from the WhatsApp Manager.
    pub phone_number_id: String,
    /// The owner's number in international form, digits only (`4915112345678`).
    pub to: String,
    /// An approved template with an image header and `{{1}}` in its body, if set.
    pub template: Option<String>,
    /// The template's language code (default `en`).
    pub template_language: String,
    /// How long a request may take (default 60 s).
    pub timeout: Duration,
}

/// The WhatsApp (Meta Cloud API) channel.
pub struct Meta {
    client: Client,
    url: String,
    settings: MetaSettings,
    token: SecretValue,
}

/// Meta's error: `{"error":{"message":"…","code":131047,"error_data":{"details":"…"}}}`.
fn api_error(body: &Value) -> Option<String> {
    let error = body.get("error")?;
    let message = error.get("message")?.as_str()?;
    let details = error
        .pointer("/error_data/details")
        .and_then(Value::as_str)
        .filter(|d| *d != message);
    let code = error.get("code").and_then(Value::as_i64);
    Some(match (code, details) {
        (Some(code), Some(details)) => format!("{message} (code {code}): {details}"),
        (Some(code), None) => format!("{message} (code {code})"),
        (None, Some(details)) => format!("{message}: {details}"),
        (None, None) => message.to_owned(),
    })
}

/// Throttling and temporary faults Meta reports with its own codes: try again in a
/// minute (4 and 80007 app/account rate limits, 130429 throughput, 131056 pair rate
/// limit, 131016 service unavailable, 133016 registration rate limit).
fn retry_hint(body: &Value) -> Option<Duration> {
    let code = body.pointer("/error/code")?.as_i64()?;
    [4, 80007, 130429, 131016, 131056, 133016]
        .contains(&code)
        .then_some(Duration::from_secs(60))
}

impl Meta {
    /// Checks the settings and builds the client; the `whatsapp_token` secret is
    /// required.
    pub fn new(settings: &MetaSettings, token: Option<SecretValue>) -> Result<Meta, SendError> {
        let token = super::required("whatsapp", "whatsapp_token", token)?;
        let id = settings.phone_number_id.trim();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
            return Err(SendError::Permanent {
                reason: "whatsapp: `whatsapp.phone_number_id` must be the number's id (digits)"
                    .to_owned(),
            });
        }
        Ok(Meta {
            client: http::client("whatsapp", settings.timeout)?,
            url: format!("{}/{id}", settings.base_url.trim_end_matches('/')),
            settings: settings.clone(),
            token,
        })
    }

    fn upload(&self, alert: &AlertContent, photo: &AlertPhoto) -> Result<String, SendError> {
        let (content_type, body) = Multipart::new()
            .text("messaging_product", "whatsapp")
            .text("type", "image/jpeg")
            .file(
                "file",
                &format!("doorguard-{}.jpg", alert.id),
                "image/jpeg",
                &photo.jpeg,
            )
            .finish();
        let response = self
            .client
            .post(format!("{}/media", self.url))
            .bearer_auth(self.token.expose())
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .map_err(|e| http::network_error("whatsapp", e))?;
        let body = http::read("whatsapp", response, api_error, retry_hint)?;
        http::json_body("whatsapp", &body)?
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| SendError::Retry {
                reason: "whatsapp: the photo upload answered without a media id".to_owned(),
                after: None,
            })
    }

    fn message(&self, alert: &AlertContent, media: Option<&str>) -> Value {
        let s = &self.settings;
        let mut message = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": s.to,
        });
        match (&s.template, media) {
            (Some(name), media) => {
                let mut components = Vec::new();
                if let Some(id) = media {
                    components.push(json!({
                        "type": "header",
                        "parameters": [{"type": "image", "image": {"id": id}}],
                    }));
                }
                components.push(json!({
                    "type": "body",
                    "parameters": [{"type": "text", "text": render::one_line(alert)}],
                }));
                message["type"] = json!("template");
                message["template"] = json!({
                    "name": name,
                    "language": {"code": s.template_language},
                    "components": components,
                });
            }
            (None, Some(id)) => {
                message["type"] = json!("image");
                message["image"] = json!({"id": id, "caption": render::caption(alert)});
            }
            (None, None) => {
                message["type"] = json!("text");
                message["text"] = json!({"body": render::text(alert)});
            }
        }
        message
    }
}

impl Notifier for Meta {
    fn channel(&self) -> &'static str {
        "whatsapp"
    }

    fn send(&mut self, alert: &AlertContent, photos: &[AlertPhoto]) -> Result<Receipt, SendError> {
        let media = match photos.first() {
            Some(photo) => Some(self.upload(alert, photo)?),
            None => None,
        };
        let response = self
            .client
            .post(format!("{}/messages", self.url))
            .bearer_auth(self.token.expose())
            .json(&self.message(alert, media.as_deref()))
            .send()
            .map_err(|e| http::network_error("whatsapp", e))?;
        let body = http::read("whatsapp", response, api_error, retry_hint)?;
        let id = http::json_body("whatsapp", &body)?
            .pointer("/messages/0/id")
            .and_then(Value::as_str)
            .map_or_else(|| "(no id)".to_owned(), str::to_owned);
        Ok(Receipt {
            detail: format!("whatsapp message {id}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_with_code_and_details_and_throttling_is_retried() {
        let body = json!({"error": {"message": "Re-engagement message", "type": "OAuthException",
            "code": 131047, "error_data": {"messaging_product": "whatsapp",
            "details": "Message failed to send because more than 24 hours have passed"}}});
        assert_eq!(
            api_error(&body).unwrap(),
            "Re-engagement message (code 131047): Message failed to send because more than 24 hours have passed"
        );
        assert_eq!(retry_hint(&body), None);
        let throttled = json!({"error": {"message": "Rate limit hit", "code": 130429}});
        assert_eq!(retry_hint(&throttled), Some(Duration::from_secs(60)));
    }
}
