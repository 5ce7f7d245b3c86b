//! The e-mail channel against a real SMTP server on loopback (Debian's aiosmtpd, which
//! `.ci/setup` installs, storing what it receives in a Maildir). The received message
//! is parsed with a MIME parser and checked as the owner would read it.

use std::time::Duration;

use doorguard::alerts::channels::email::{Email, EmailSettings};
use doorguard::alerts::{AlertPhoto, Notifier, SendError};
use doorguard::hw::camera::{decode_jpeg, encode_jpeg};
use mail_parser::{MessageParser, MimeHeaders};

mod common;

use common::alerts::sample_lockout;
use common::smtp::{SmtpServer, free_port};

fn settings(port: u16) -> EmailSettings {
    EmailSettings {
        server: format!("smtp://127.0.0.1:{port}"),
        from: "Front door <kiosk@example.org>".into(),
        to: vec![
            "owner@example.org".into(),
            "Neighbour <next.door@example.net>".into(),
        ],
        username: None,
        password: None,
        timeout: Duration::from_secs(10),
    }
}

fn photo() -> AlertPhoto {
    let rgb: Vec<u8> = (0..640 * 360)
        .flat_map(|i| [(i % 640 / 3) as u8, 90, (i / 640) as u8])
        .collect();
    AlertPhoto {
        jpeg: encode_jpeg(&rgb, 640, 360, 85).unwrap(),
        width: 640,
        height: 360,
    }
}

#[test]
fn the_lockout_email_arrives_with_its_photo_time_map_link_and_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(dir.path());
    let mut email = Email::new(&settings(server.port)).unwrap();
    let receipt = email
        .send(&sample_lockout(), &[photo()])
        .expect("the server accepts the alert");
    assert!(receipt.detail.starts_with("250"), "{}", receipt.detail);

    let raw = server.first_message();
    let message = MessageParser::default()
        .parse(&raw)
        .expect("a MIME message");

    assert_eq!(
        message.subject(),
        Some("Front door: lockout after 3 wrong attempts")
    );
    let to: Vec<String> = message
        .to()
        .unwrap()
        .iter()
        .filter_map(|a| a.address().map(str::to_owned))
        .collect();
    assert_eq!(to, ["owner@example.org", "next.door@example.net"]);
    assert!(
        message
            .message_id()
            .unwrap()
            .starts_with("doorguard-alert-42.")
    );

    let text = message.body_text(0).expect("a text body");
    assert!(
        text.contains("2026-11-25 14:03:07 Europe/Berlin (2026-11-25T13:03:07Z)"),
        "{text}"
    );
    assert!(
        text.contains("https://www.openstreetmap.org/?mlat=52.520008&mlon=13.404954"),
        "{text}"
    );
    assert!(
        text.contains("192.168.1.20 (eth0), fd00::20 (eth0)"),
        "{text}"
    );
    assert!(text.contains("203.0.113.7"), "{text}");
    let html = message.body_html(0).expect("an HTML alternative");
    assert!(
        html.contains("<a href=\"https://www.openstreetmap.org/?mlat=52.520008"),
        "{html}"
    );

    let attachment = message.attachment(0).expect("a photo attached");
    assert_eq!(attachment.content_type().map(|c| c.ctype()), Some("image"));
    assert_eq!(attachment.attachment_name(), Some("doorguard-42-1.jpg"));
    let (_, w, h) = decode_jpeg(attachment.contents()).expect("the attachment is a JPEG");
    assert_eq!((w, h), (640, 360), "the captured size");
    assert_eq!(attachment.contents(), &photo().jpeg[..], "byte for byte");
}

#[test]
fn a_server_that_is_not_there_means_try_again() {
    let mut email = Email::new(&settings(free_port())).unwrap();
    match email.send(&sample_lockout(), &[]) {
        Err(SendError::Retry { reason, .. }) => assert!(reason.starts_with("e-mail:"), "{reason}"),
        other => panic!("expected a retry, got {other:?}"),
    }
}

#[test]
fn the_password_never_appears_in_an_error() {
    let mut s = settings(free_port());
    s.username = Some("kiosk".into());
    s.password = Some("hunter2-smtp-secret".into());
    let mut email = Email::new(&s).unwrap();
    let err = email.send(&sample_lockout(), &[photo()]).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(!format!("{err:?} {s:?}").contains("hunter2"));
}
