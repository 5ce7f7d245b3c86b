//! The channels that carry alerts, one module each, every one behind
//! [`Notifier`](super::Notifier) and every base URL configurable (tests point them at
//! local servers): e-mail over SMTP, WhatsApp through Meta's Cloud API or Twilio,
//! Telegram, ntfy, a signed webhook, and MQTT with Home Assistant discovery.

pub mod email;
pub mod folder;
pub mod http;
pub mod meta;
pub mod mqtt;
pub mod ntfy;
pub mod telegram;
pub mod twilio;
pub mod webhook;

use std::sync::Once;

use super::{Notifier, SendError};
use crate::config::{AlertSettings, SecretValue, Secrets};

/// Makes rustls use `ring` for every TLS connection of the process (reqwest and
/// rumqttc are built without a provider of their own; aws-lc-rs does not cross-build
/// reliably for the Pi). Call before building any client; later calls do nothing.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Fails only if a provider is already installed, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A secret the channel cannot work without, or an error naming it.
fn required(
    channel: &str,
    name: &str,
    secret: Option<SecretValue>,
) -> Result<SecretValue, SendError> {
    secret.ok_or_else(|| SendError::Permanent {
        reason: format!("{channel}: the `{name}` secret is not set"),
    })
}

/// Every channel's name, as its configuration section and in the outbox.
pub const NAMES: &[&str] = &[
    "email", "whatsapp", "twilio", "telegram", "ntfy", "webhook", "mqtt",
];

/// The channels enabled in the configuration, with their secrets, ready to send. A
/// channel that cannot be built (bad address, missing secret) is an error naming it.
pub fn configured(
    settings: &AlertSettings,
    secrets: &Secrets,
) -> Result<Vec<Box<dyn Notifier>>, SendError> {
    let secret = |name: &str| secrets.get(name).cloned();
    let mut channels: Vec<Box<dyn Notifier>> = Vec::new();
    if let Some(email) = &settings.email {
        let mut email = email.clone();
        email.password = secret("smtp_password").map(|s| s.expose().to_owned());
        channels.push(Box::new(email::Email::new(&email)?));
    }
    if let Some(whatsapp) = &settings.whatsapp {
        channels.push(Box::new(meta::Meta::new(
            whatsapp,
            secret("whatsapp_token"),
        )?));
    }
    if let Some(twilio) = &settings.twilio {
        channels.push(Box::new(twilio::Twilio::new(
            twilio,
            secret("twilio_auth_token"),
        )?));
    }
    if let Some(telegram) = &settings.telegram {
        channels.push(Box::new(telegram::Telegram::new(
            telegram,
            secret("telegram_bot_token"),
        )?));
    }
    if let Some(ntfy) = &settings.ntfy {
        let mut ntfy = ntfy.clone();
        ntfy.token = secret("ntfy_token").map(|s| s.expose().to_owned());
        channels.push(Box::new(ntfy::Ntfy::new(ntfy)?));
    }
    if let Some(webhook) = &settings.webhook {
        channels.push(Box::new(webhook::Webhook::new(
            webhook,
            secret("webhook_secret"),
        )?));
    }
    if let Some(mqtt) = &settings.mqtt {
        channels.push(Box::new(mqtt::Mqtt::new(mqtt, secret("mqtt_password"))?));
    }
    Ok(channels)
}
