//! WhatsApp through Twilio: `POST /2010-04-01/Accounts/{sid}/Messages.json`, a form
//! with `whatsapp:` numbers, HTTP Basic auth (account SID and auth token). Either a
//! free-form `Body` (only within 24 hours of the owner's last message to the sender)
//! or, when a content template is configured, `ContentSid` with `ContentVariables`
//! (`{"1": one-line summary}`), which works at any time.
//!
//! Twilio fetches a message's media from a public URL (`MediaUrl`); the kiosk has no
//! public address. So the photo goes only when `public_media_base_url` is set: the
//! JPEG is written under an unguessable name into the media folder, which the owner
//! publishes at that URL (a reverse proxy or tunnel); files older than a day are
//! removed. Otherwise the message is text only.
//!
//! Owns the Twilio request; must never show the auth token.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use reqwest::blocking::Client;
use serde_json::Value;

use super::http;
use crate::alerts::{AlertContent, AlertPhoto, Notifier, Receipt, SendError, render};
use crate::config::SecretValue;

/// Twilio refuses message bodies longer than this.
pub const BODY_MAX: usize = 1600;
/// Published photos are removed after this long.
const MEDIA_KEPT: Duration = Duration::from_secs(24 * 3600);

/// `[twilio]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioSettings {
    /// The API (default `https://api.twilio.com`).
    pub base_url: String,
    /// The account SID (`AC…`).
    pub account_sid: String,
    /// The WhatsApp sender, `+14155238886` (the `whatsapp:` prefix is added).
    pub from: String,
    /// The owner's number, `+4915112345678`.
    pub to: String,
    /// A content template's SID (`HX…`), if set.
    pub content_sid: Option<String>,
    /// Where the media folder is published, if it is (see the module docs).
    pub public_media_base_url: Option<String>,
    /// The media folder (next to the database).
    pub media_dir: PathBuf,
    /// How long a request may take (default 60 s).
    pub timeout: Duration,
}

/// The WhatsApp (Twilio) channel.
pub struct Twilio {
    client: Client,
    url: String,
    settings: TwilioSettings,
    token: SecretValue,
}

/// Twilio's error: `{"code":21211,"message":"Invalid 'To' Phone Number","status":400}`.
fn api_error(body: &Value) -> Option<String> {
    let message = body.get("message")?.as_str()?;
    Some(match body.get("code").and_then(Value::as_i64) {
        Some(code) => format!("{message} (code {code})"),
        None => message.to_owned(),
    })
}

fn whatsapp(number: &str) -> String {
    let number = number.trim();
    if number.starts_with("whatsapp:") {
        number.to_owned()
    } else {
        format!("whatsapp:{number}")
    }
}

impl Twilio {
    /// Checks the settings and builds the client; the `twilio_auth_token` secret is
    /// required.
    pub fn new(settings: &TwilioSettings, token: Option<SecretValue>) -> Result<Twilio, SendError> {
        let token = super::required("twilio", "twilio_auth_token", token)?;
        let sid = settings.account_sid.trim();
        if !(sid.starts_with("AC")
            && sid.len() == 34
            && sid.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(SendError::Permanent {
                reason:
                    "twilio: `twilio.account_sid` must be the account SID (AC and 32 characters)"
                        .to_owned(),
            });
        }
        Ok(Twilio {
            client: http::client("twilio", settings.timeout)?,
            url: format!(
                "{}/2010-04-01/Accounts/{sid}/Messages.json",
                settings.base_url.trim_end_matches('/')
            ),
            settings: settings.clone(),
            token,
        })
    }

    /// Writes the photo into the media folder under a random name and returns its
    /// public URL; removes photos published more than a day ago.
    fn publish(&self, base: &str, photo: &AlertPhoto) -> Result<String, SendError> {
        let dir = &self.settings.media_dir;
        let fail = |e: std::io::Error| SendError::Retry {
            reason: format!("twilio: cannot write the photo to {}: {e}", dir.display()),
            after: None,
        };
        fs::create_dir_all(dir).map_err(fail)?;
        if let Ok(entries) = fs::read_dir(dir) {
            for entry in entries.flatten() {
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age > MEDIA_KEPT);
                if old {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| SendError::Retry {
            reason: format!("twilio: no randomness for a file name: {e}"),
            after: None,
        })?;
        let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("{name}.jpg");
        fs::write(dir.join(&name), &photo.jpeg).map_err(fail)?;
        Ok(format!("{}/{name}", base.trim_end_matches('/')))
    }
}

impl Notifier for Twilio {
    fn channel(&self) -> &'static str {
        "twilio"
    }

    fn send(&mut self, alert: &AlertContent, photos: &[AlertPhoto]) -> Result<Receipt, SendError> {
        let s = &self.settings;
        let mut form = vec![("To", whatsapp(&s.to)), ("From", whatsapp(&s.from))];
        match &s.content_sid {
            Some(sid) => {
                form.push(("ContentSid", sid.clone()));
                let variables = serde_json::json!({"1": render::one_line(alert)});
                form.push(("ContentVariables", variables.to_string()));
            }
            None => form.push(("Body", render::truncate(&render::caption(alert), BODY_MAX))),
        }
        if let (Some(base), Some(photo)) = (&s.public_media_base_url, photos.first()) {
            form.push(("MediaUrl", self.publish(base, photo)?));
        }
        let response = self
            .client
            .post(&self.url)
            .basic_auth(s.account_sid.trim(), Some(self.token.expose()))
            .form(&form)
            .send()
            .map_err(|e| http::network_error("twilio", e))?;
        let body = http::read("twilio", response, api_error, http::no_hint)?;
        let answer = http::json_body("twilio", &body)?;
        let field = |k: &str| {
            answer
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned()
        };
        Ok(Receipt {
            detail: format!("twilio message {} {}", field("sid"), field("status")),
        })
    }
}
