//! The channels that carry alerts, one module each, every one behind
//! [`Notifier`](super::Notifier) and every base URL configurable (tests point them at
//! local servers): e-mail over SMTP, WhatsApp through Meta's Cloud API or Twilio,
//! Telegram, ntfy, a signed webhook, and MQTT with Home Assistant discovery.

pub mod email;
pub mod http;
pub mod meta;
pub mod mqtt;
pub mod ntfy;
pub mod telegram;
pub mod twilio;
pub mod webhook;

use std::sync::Once;

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
