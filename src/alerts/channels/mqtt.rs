//! MQTT (`rumqttc`), made for Home Assistant: each alert connects to the broker,
//! publishes the discovery configuration of an `event` entity and an `image` entity
//! (retained, so Home Assistant finds the kiosk after its own restart), then the event
//! JSON and the best photo as raw JPEG bytes (retained: the image entity shows the
//! last alert's photo), all at QoS 1, and returns once the broker has acknowledged
//! every one.
//!
//! Topics, with `{node}` made from the kiosk's name (`doorguard_front_door`):
//! `{discovery}/event/{node}/alert/config`, `{discovery}/image/{node}/photo/config`,
//! `{prefix}/{node}/event`, `{prefix}/{node}/photo`.
//!
//! Owns the MQTT session; must never show the password.

use std::time::{Duration, Instant};

use rumqttc::{
    Client, ConnectReturnCode, ConnectionError, Event, MqttOptions, Packet, QoS, RecvTimeoutError,
    TlsConfiguration, Transport,
};
use serde_json::{Value, json};

use crate::alerts::{AlertContent, AlertPhoto, Notifier, Receipt, SendError, render};
use crate::config::SecretValue;

/// The largest photo published (brokers commonly accept far more).
const MAX_PACKET: usize = 8 * 1024 * 1024;

/// `[mqtt]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttSettings {
    /// The broker: `mqtt://host:1883` or `mqtts://host:8883`.
    pub server: String,
    /// The user name, if the broker wants one (the password is the `mqtt_password`
    /// secret).
    pub username: Option<String>,
    /// The first level of the event and photo topics (default `doorguard`).
    pub topic_prefix: String,
    /// Home Assistant's discovery prefix (default `homeassistant`).
    pub discovery_prefix: String,
    /// How long connecting and publishing may take (default 30 s).
    pub timeout: Duration,
}

/// The MQTT channel.
pub struct Mqtt {
    settings: MqttSettings,
    host: String,
    port: u16,
    tls: bool,
    password: Option<SecretValue>,
}

/// `Front Door #2` → `front_door_2`.
pub fn node_id(kiosk: &str) -> String {
    let mut id = String::new();
    for c in kiosk.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.ends_with('_') {
            id.push('_');
        }
    }
    let id = id.trim_matches('_');
    format!("doorguard_{}", if id.is_empty() { "kiosk" } else { id })
}

fn retry(reason: String) -> SendError {
    SendError::Retry {
        reason,
        after: None,
    }
}

/// One message to publish.
struct Message {
    topic: String,
    payload: Vec<u8>,
    retain: bool,
}

impl Mqtt {
    /// Checks the settings; connects only when sending.
    pub fn new(settings: &MqttSettings, password: Option<SecretValue>) -> Result<Mqtt, SendError> {
        let bad = |why: &str| SendError::Permanent {
            reason: format!("mqtt: `mqtt.server` {why}"),
        };
        let url = reqwest::Url::parse(&settings.server)
            .map_err(|e| bad(&format!("is not a URL ({e})")))?;
        let (tls, default_port) = match url.scheme() {
            "mqtt" | "tcp" => (false, 1883),
            "mqtts" | "ssl" => (true, 8883),
            other => {
                return Err(bad(&format!(
                    "must start with mqtt:// or mqtts://, not {other}://"
                )));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("has no host"))?
            .trim_matches(['[', ']'])
            .to_owned();
        super::install_crypto_provider();
        Ok(Mqtt {
            settings: settings.clone(),
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            password,
        })
    }

    fn options(&self, node: &str) -> Result<MqttOptions, SendError> {
        let mut options = MqttOptions::new(
            format!("{node}-{}", std::process::id()),
            &self.host,
            self.port,
        );
        options
            .set_keep_alive(Duration::from_secs(30))
            .set_clean_session(true)
            .set_max_packet_size(64 * 1024, MAX_PACKET);
        if let Some(user) = &self.settings.username {
            let password = self.password.as_ref().map_or("", |p| p.expose());
            options.set_credentials(user.clone(), password.to_owned());
        }
        if self.tls {
            let loaded = rustls_native_certs::load_native_certs();
            let mut roots = rustls::RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(loaded.certs);
            if added == 0 {
                return Err(SendError::Permanent {
                    reason: "mqtt: no trusted root certificates found on this system (install ca-certificates)".into(),
                });
            }
            let config = rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth();
            options.set_transport(Transport::Tls(TlsConfiguration::from(config)));
        }
        Ok(options)
    }

    fn messages(&self, alert: &AlertContent, photos: &[AlertPhoto]) -> Vec<Message> {
        let s = &self.settings;
        let node = node_id(&alert.kiosk);
        let event_topic = format!("{}/{node}/event", s.topic_prefix);
        let photo_topic = format!("{}/{node}/photo", s.topic_prefix);
        let device = json!({
            "identifiers": [node],
            "name": alert.kiosk,
            "manufacturer": "doorguard",
            "model": "Door access kiosk",
            "sw_version": env!("CARGO_PKG_VERSION"),
        });
        let event_config = json!({
            "name": "Alert",
            "unique_id": format!("{node}_alert"),
            "object_id": format!("{node}_alert"),
            "state_topic": event_topic,
            "event_types": crate::access::AlertKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            "device_class": "doorbell",
            "icon": "mdi:shield-alert",
            "device": device,
        });
        let image_config = json!({
            "name": "Alert photo",
            "unique_id": format!("{node}_photo"),
            "object_id": format!("{node}_photo"),
            "image_topic": photo_topic,
            "content_type": "image/jpeg",
            "device": device,
        });
        let mut event = render::json(alert);
        event["event_type"] = Value::from(alert.kind.as_str());
        let mut messages = vec![
            Message {
                topic: format!("{}/event/{node}/alert/config", s.discovery_prefix),
                payload: event_config.to_string().into_bytes(),
                retain: true,
            },
            Message {
                topic: format!("{}/image/{node}/photo/config", s.discovery_prefix),
                payload: image_config.to_string().into_bytes(),
                retain: true,
            },
            Message {
                topic: event_topic,
                payload: event.to_string().into_bytes(),
                retain: false,
            },
        ];
        if let Some(photo) = photos.first() {
            messages.push(Message {
                topic: photo_topic,
                payload: photo.jpeg.clone(),
                retain: true,
            });
        }
        messages
    }
}

fn connection_error(e: ConnectionError) -> SendError {
    match e {
        ConnectionError::ConnectionRefused(
            code @ (ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized),
        ) => SendError::Permanent {
            reason: format!(
                "mqtt: the broker refused the login ({code:?}); check `mqtt.username` and the `mqtt_password` secret"
            ),
        },
        other => retry(format!("mqtt: {other}")),
    }
}

impl Notifier for Mqtt {
    fn channel(&self) -> &'static str {
        "mqtt"
    }

    fn send(&mut self, alert: &AlertContent, photos: &[AlertPhoto]) -> Result<Receipt, SendError> {
        let node = node_id(&alert.kiosk);
        let messages = self.messages(alert, photos);
        let (client, mut connection) = Client::new(self.options(&node)?, messages.len() + 2);
        for m in &messages {
            client
                .publish(
                    m.topic.as_str(),
                    QoS::AtLeastOnce,
                    m.retain,
                    m.payload.clone(),
                )
                .map_err(|e| retry(format!("mqtt: cannot queue a message: {e}")))?;
        }
        let deadline = Instant::now() + self.settings.timeout;
        let mut acked = 0;
        while acked < messages.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match connection.recv_timeout(left) {
                Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(connection_error(e)),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(retry(format!(
                        "mqtt: no answer from {}:{} in time ({acked} of {} messages acknowledged)",
                        self.host,
                        self.port,
                        messages.len()
                    )));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(retry("mqtt: the connection closed".into()));
                }
            }
        }
        let _ = client.disconnect();
        // Let the DISCONNECT go out; the broker has every message already.
        let _ = connection.recv_timeout(Duration::from_millis(200));
        Ok(Receipt {
            detail: format!(
                "mqtt: {acked} messages acknowledged by {}:{}",
                self.host, self.port
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_lowercase_words_joined_by_underscores() {
        assert_eq!(node_id("Front Door #2"), "doorguard_front_door_2");
        assert_eq!(node_id("Tür"), "doorguard_t_r");
        assert_eq!(node_id("!!"), "doorguard_kiosk");
    }

    #[test]
    fn the_server_must_be_an_mqtt_url() {
        let settings = |server: &str| MqttSettings {
            server: server.into(),
            username: None,
            topic_prefix: "doorguard".into(),
            discovery_prefix: "homeassistant".into(),
            timeout: Duration::from_secs(5),
        };
        assert!(Mqtt::new(&settings("mqtt://127.0.0.1"), None).is_ok());
        let err = Mqtt::new(&settings("http://broker"), None).err().unwrap();
        assert!(err.to_string().contains("mqtt:// or mqtts://"), "{err}");
    }
}
