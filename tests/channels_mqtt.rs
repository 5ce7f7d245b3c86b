//! The MQTT channel against a real broker (Debian's mosquitto, installed by
//! `.ci/setup` and started here on a free loopback port): a subscriber checks the Home
//! Assistant discovery configuration, the event JSON and the JPEG, and what stays
//! retained for a subscriber that comes later.

mod common;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::alerts::sample_lockout;
use common::smtp::free_port;
use doorguard::alerts::channels::mqtt::{Mqtt, MqttSettings};
use doorguard::alerts::{AlertPhoto, Notifier, SendError, render};
use doorguard::config::SecretValue;
use doorguard::hw::camera::{decode_jpeg, encode_jpeg};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use serde_json::Value;

const MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// mosquitto on a free port with `extra` configuration lines; killed on drop.
struct Broker {
    child: Child,
    port: u16,
}

impl Broker {
    fn start(dir: &Path, extra: &str) -> Broker {
        let port = free_port();
        let conf = dir.join(format!("mosquitto-{port}.conf"));
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\npersistence false\n{extra}\n"),
        )
        .unwrap();
        let child = Command::new(MOSQUITTO)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {MOSQUITTO} ({e}); run ./.ci/setup to install mosquitto")
            });
        let mut broker = Broker { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = broker.child.try_wait() {
                panic!("mosquitto exited with {status}");
            }
            assert!(
                Instant::now() < deadline,
                "mosquitto did not start listening"
            );
            thread::sleep(Duration::from_millis(20));
        }
        broker
    }

    fn settings(&self) -> MqttSettings {
        MqttSettings {
            server: format!("mqtt://127.0.0.1:{}", self.port),
            username: None,
            topic_prefix: "doorguard".into(),
            discovery_prefix: "homeassistant".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A message as the subscriber got it.
#[derive(Debug, Clone)]
struct Got {
    topic: String,
    payload: Vec<u8>,
    retain: bool,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).expect("a JSON payload")
    }
}

/// Subscribes to everything, runs `during`, and collects messages until `count` came
/// or 10 s passed.
fn subscribe(port: u16, count: usize, during: impl FnOnce()) -> Vec<Got> {
    let mut options = MqttOptions::new(format!("test-{}", free_port()), "127.0.0.1", port);
    options.set_max_packet_size(16 * 1024 * 1024, 1024);
    let (client, mut connection) = Client::new(options, 10);
    client.subscribe("#", QoS::AtLeastOnce).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    let mut during = Some(during);
    while got.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match connection.recv_timeout(left) {
            Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => {
                if let Some(f) = during.take() {
                    f();
                }
            }
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => got.push(Got {
                topic: p.topic.clone(),
                payload: p.payload.to_vec(),
                retain: p.retain,
            }),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("subscriber: {e}"),
            Err(_) => break,
        }
    }
    got
}

fn find<'a>(got: &'a [Got], topic: &str) -> &'a Got {
    got.iter().find(|g| g.topic == topic).unwrap_or_else(|| {
        let topics: Vec<&str> = got.iter().map(|g| g.topic.as_str()).collect();
        panic!("nothing on {topic}; got {topics:?}")
    })
}

fn big_photo() -> AlertPhoto {
    let rgb: Vec<u8> = (0..1280 * 720)
        .flat_map(|i| [(i % 1280 / 5) as u8, (i / 1280 / 3) as u8, (i % 251) as u8])
        .collect();
    AlertPhoto {
        jpeg: encode_jpeg(&rgb, 1280, 720, 90).unwrap(),
        width: 1280,
        height: 720,
    }
}

#[test]
fn home_assistant_gets_discovery_the_event_and_the_photo() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), "allow_anonymous true");
    let alert = sample_lockout();
    let photo = big_photo();
    assert!(photo.jpeg.len() > 64 * 1024, "a real-size photo");

    let mut channel = Mqtt::new(&broker.settings(), None).unwrap();
    let mut receipt = None;
    let got = subscribe(broker.port, 4, || {
        receipt = Some(channel.send(&alert, std::slice::from_ref(&photo)));
    });
    let receipt = receipt.unwrap().expect("the broker acknowledged");
    assert_eq!(
        receipt.detail,
        format!("mqtt: 4 messages acknowledged by 127.0.0.1:{}", broker.port)
    );
    assert_eq!(got.len(), 4, "{got:?}");

    let node = "doorguard_front_door";
    let event_config = find(&got, &format!("homeassistant/event/{node}/alert/config")).json();
    assert_eq!(
        event_config["state_topic"],
        format!("doorguard/{node}/event")
    );
    assert_eq!(event_config["unique_id"], format!("{node}_alert"));
    let types: Vec<&str> = event_config["event_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"lockout") && types.contains(&"duress"),
        "{types:?}"
    );
    assert_eq!(event_config["device"]["name"], "Front door");
    assert_eq!(event_config["device"]["identifiers"][0], node);

    let image_config = find(&got, &format!("homeassistant/image/{node}/photo/config")).json();
    assert_eq!(
        image_config["image_topic"],
        format!("doorguard/{node}/photo")
    );
    assert_eq!(image_config["content_type"], "image/jpeg");
    assert_eq!(image_config["device"], event_config["device"], "one device");

    let event = find(&got, &format!("doorguard/{node}/event")).json();
    assert_eq!(event["event_type"], "lockout", "what Home Assistant reads");
    let mut without_type = event.clone();
    without_type.as_object_mut().unwrap().remove("event_type");
    assert_eq!(without_type, render::json(&alert), "the alert's JSON");

    let jpeg = &find(&got, &format!("doorguard/{node}/photo")).payload;
    assert_eq!(jpeg, &photo.jpeg, "the JPEG, byte for byte");
    assert_eq!(decode_jpeg(jpeg).unwrap().1, 1280);

    // A subscriber that comes later (Home Assistant restarting) still finds the
    // entities and the last photo, but not the event again.
    let later = subscribe(broker.port, 3, || {});
    let mut topics: Vec<&str> = later.iter().map(|g| g.topic.as_str()).collect();
    topics.sort();
    assert_eq!(
        topics,
        [
            "doorguard/doorguard_front_door/photo",
            "homeassistant/event/doorguard_front_door/alert/config",
            "homeassistant/image/doorguard_front_door/photo/config",
        ]
    );
    assert!(later.iter().all(|g| g.retain));
}

#[test]
fn a_refused_login_is_final_and_a_missing_broker_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let passwords = dir.path().join("passwords");
    let status = Command::new("/usr/bin/mosquitto_passwd")
        .args(["-c", "-b"])
        .arg(&passwords)
        .args(["kiosk", "right-password"])
        .status()
        .expect("mosquitto_passwd (package mosquitto)");
    assert!(status.success());
    let broker = Broker::start(
        dir.path(),
        &format!(
            "allow_anonymous false\npassword_file {}",
            passwords.display()
        ),
    );
    let mut settings = broker.settings();
    settings.username = Some("kiosk".into());

    let mut wrong = Mqtt::new(&settings, Some(SecretValue::new("wrong-password"))).unwrap();
    match wrong.send(&sample_lockout(), &[]) {
        Err(SendError::Permanent { reason }) => {
            assert!(reason.contains("refused the login"), "{reason}");
            assert!(!reason.contains("wrong-password"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let mut right = Mqtt::new(&settings, Some(SecretValue::new("right-password"))).unwrap();
    let receipt = right.send(&sample_lockout(), &[]).expect("logged in");
    assert!(
        receipt.detail.starts_with("mqtt: 3 messages"),
        "{}",
        receipt.detail
    );

    drop(broker);
    match right.send(&sample_lockout(), &[]) {
        Err(SendError::Retry { reason, .. }) => assert!(reason.starts_with("mqtt:"), "{reason}"),
        other => panic!("a broker that is gone means try again, got {other:?}"),
    }
}
