//! Alerts end to end through the real binary: a lockout raised by the access rules,
//! with a photo from the (simulated) camera, delivered by `doorguard alerts deliver`
//! to a real SMTP server on loopback; and `doorguard alerts test` through e-mail and an
//! ntfy-like server, with the camera on and off.

mod common;

use std::time::Duration;

use chrono::{Local, TimeDelta, Utc};
use common::alerts::raise_lockout_at;
use common::http::{listener, ok, serve};
use common::smtp::SmtpServer;
use common::{Kiosk, stderr, stdout};
use doorguard::alerts::netinfo::{PublicIp, lan_addresses};
use doorguard::alerts::{AlertPhoto, Preparation, prepare_pending};
use doorguard::config::Settings;
use doorguard::hw::camera::{Camera, decode_jpeg};
use doorguard::store::Store;
use mail_parser::MessageParser;

fn config(smtp_port: u16, extra: &str) -> String {
    format!(
        "[kiosk]\nname = \"Test door\"\n[camera]\ndevice = \"sim\"\n\
         [alerts]\npublic_ip_url = \"\"\n\
         [location]\naddress = \"1 Test Street\"\ncoordinates = \"52.520008, 13.404954\"\n\
         [email]\nenabled = true\nserver = \"smtp://127.0.0.1:{smtp_port}\"\n\
         to = [\"owner@example.org\"]\n{extra}"
    )
}

#[test]
fn a_lockout_at_the_door_reaches_the_owner_by_email_with_its_photo() {
    let (kiosk, _code) = Kiosk::initialized();
    let smtp = SmtpServer::start(kiosk.dir.path());
    kiosk.file("config.toml", &config(smtp.port, ""));

    // The kiosk's side: three wrong PINs, the burst from the camera, the alert
    // prepared as configured and committed with its photo for the e-mail channel.
    let settings = Settings::load(&kiosk.config_path(), true).unwrap();
    let photo =
        Camera::photo_now(&settings.camera, Duration::from_secs(5)).expect("the sim camera");
    let raised_at = Utc::now();
    let id = {
        let mut store = Store::open(&kiosk.db).unwrap();
        let id = raise_lockout_at(&mut store, raised_at);
        let photo = AlertPhoto::from(photo);
        let public_ip = PublicIp::new(settings.alerts.public_ip_url.clone());
        let how = Preparation {
            kiosk: &settings.kiosk.name,
            place: settings.alerts.place.clone(),
            public_ip: &public_ip,
            channels: &["email"],
            evidence_retention: settings.alerts.evidence_retention,
        };
        let prepared =
            prepare_pending(&mut store, &how, |_| vec![photo.clone()], Utc::now).unwrap();
        assert_eq!(prepared, [id]);
        id
    };

    let out = kiosk.run(&["alerts", "deliver"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains(&format!("alert {id} → email: sent: 250")),
        "{}",
        stdout(&out)
    );

    let raw = smtp.first_message();
    let message = MessageParser::default()
        .parse(&raw)
        .expect("a MIME message");
    assert_eq!(
        message.subject(),
        Some("Test door: lockout after 3 wrong attempts")
    );
    let text = message.body_text(0).expect("a text body");
    // The third wrong PIN, two seconds after the first, raised the lockout.
    let locked_at = raised_at + TimeDelta::seconds(2);
    let local = locked_at.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S");
    let utc = locked_at.format("%Y-%m-%dT%H:%M:%SZ");
    assert!(
        text.contains(&format!("When:      {local} ")) && text.contains(&format!("({utc})")),
        "local time and UTC of the lockout: {text}"
    );
    assert!(
        text.contains("Map:       https://www.openstreetmap.org/?mlat=52.520008&mlon=13.404954"),
        "{text}"
    );
    for address in lan_addresses() {
        assert!(text.contains(&address), "LAN address {address}: {text}");
    }
    assert!(text.contains("Public IP: unknown"), "{text}");
    let attachment = message.attachment(0).expect("the photo attached");
    let (_, w, h) = decode_jpeg(attachment.contents()).expect("a JPEG");
    assert_eq!((w, h), (1280, 720), "the size the camera captured");

    let list = stdout(&kiosk.ok(&["alerts", "list"]));
    assert!(list.contains("email sent"), "{list}");
    // Nothing left to send: a second pass sends nothing.
    let again = stdout(&kiosk.ok(&["alerts", "deliver"]));
    assert!(again.contains("0 sent"), "{again}");
    assert_eq!(smtp.messages().len(), 1);
}

#[test]
fn alerts_test_sends_a_marked_sample_through_each_channel_and_prints_the_answers() {
    let kiosk = Kiosk::new();
    let smtp = SmtpServer::start(kiosk.dir.path());
    let (socket, ntfy_url) = listener();
    let ntfy = serve(socket, |n, _| {
        ok(serde_json::json!({"id": format!("sample{n}"), "event": "message", "topic": "door"}))
    });
    let ntfy_section =
        format!("[ntfy]\nenabled = true\nbase_url = \"{ntfy_url}\"\ntopic = \"door\"\n");
    kiosk.file("config.toml", &config(smtp.port, &ntfy_section));

    // No database is needed: nothing is queued.
    let out = kiosk.run(&["alerts", "test"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(
        text.contains("photo: from the camera (sim), 1280×720"),
        "{text}"
    );
    assert!(text.contains("email     sent: 250"), "{text}");
    assert!(
        text.contains("ntfy      sent: ntfy message sample0"),
        "{text}"
    );
    let message = MessageParser::default()
        .parse(&smtp.first_message())
        .map(|m| m.subject().map(str::to_owned))
        .unwrap();
    assert_eq!(
        message.as_deref(),
        Some("TEST Test door: lockout after 3 wrong attempts")
    );
    let photo = ntfy.lock().unwrap()[0].body.clone();
    assert_eq!(decode_jpeg(&photo).unwrap().1, 1280);

    // The camera unplugged: the built-in sample picture goes instead, to ntfy only.
    kiosk.file(
        "config.toml",
        &config(smtp.port, &ntfy_section)
            .replace("device = \"sim\"", "device = \"/dev/video-gone\""),
    );
    let out = kiosk.run(&["alerts", "test", "--channel", "ntfy"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(
        text.contains("sending the built-in sample picture"),
        "{text}"
    );
    assert!(
        !text.contains("email"),
        "only the channel asked for: {text}"
    );
    let requests = ntfy.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    assert!(
        decode_jpeg(&requests[1].body).is_ok(),
        "a picture was attached"
    );
    assert_eq!(smtp.messages().len(), 1, "no second e-mail");
}

#[test]
fn a_channel_that_does_not_answer_fails_the_test_with_its_reason() {
    let kiosk = Kiosk::new();
    let port = common::smtp::free_port();
    kiosk.file("config.toml", &config(port, ""));
    let out = kiosk.run(&["alerts", "test"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("email     not delivered (would be retried): e-mail:"),
        "{text}"
    );
    assert!(stderr(&out).contains("the test alert did not go through: email"));

    let out = kiosk.run(&["alerts", "test", "--channel", "whatsapp"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("channel `whatsapp` is not enabled; enabled: email"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn without_an_enabled_channel_the_commands_say_where_to_enable_one() {
    let (kiosk, _code) = Kiosk::initialized();
    for args in [&["alerts", "test"][..], &["alerts", "deliver"]] {
        let out = kiosk.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(
                "no alert channel is enabled: set `enabled = true` in one of [email], [whatsapp], [twilio], [telegram], [ntfy], [webhook], [mqtt]"
            ),
            "{err}"
        );
        assert!(err.contains("config.toml"), "{err}");
    }
}
