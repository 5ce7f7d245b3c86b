//! Every HTTP channel against a local server that answers like the real API (status
//! codes and JSON bodies as their documentation shows): the request's method, path,
//! auth header, form or multipart fields and image bytes are checked field by field,
//! and the API's errors are read into "try again" or "refused, because …".

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::alerts::{photo, sample_lockout};
use common::http::{Answer, listener, ok, part, serve};
use doorguard::alerts::channels::meta::{Meta, MetaSettings};
use doorguard::alerts::channels::ntfy::{Ntfy, NtfySettings};
use doorguard::alerts::channels::telegram::{Telegram, TelegramSettings};
use doorguard::alerts::channels::twilio::{Twilio, TwilioSettings};
use doorguard::alerts::channels::webhook::{Webhook, WebhookSettings, signature};
use doorguard::alerts::{Notifier, SendError, render};
use doorguard::config::SecretValue;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const SECS: Duration = Duration::from_secs(10);

fn status(code: u16, body: Value) -> Answer {
    (
        code,
        vec![("Content-Type", "application/json".into())],
        body.to_string(),
    )
}

fn meta(base_url: &str, template: Option<&str>) -> Meta {
    let settings = MetaSettings {
        base_url: format!("{base_url}/v21.0"),
        phone_number_id: "106540352242922".into(),
        to: "+4915112345678".into(),
        template: template.map(str::to_owned),
        template_language: "de".into(),
        timeout: SECS,
    };
    Meta::new(&settings, Some(SecretValue::new("EAAG-meta-token"))).unwrap()
}

#[test]
fn whatsapp_meta_uploads_the_photo_then_sends_an_image_message() {
    let (socket, base) = listener();
    let log = serve(socket, |n, _| match n {
        0 => ok(json!({"id": "1037543291543636"})),
        _ => ok(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "+4915112345678", "wa_id": "4915112345678"}],
            "messages": [{"id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3"}]
        })),
    });
    let alert = sample_lockout();
    let receipt = meta(&base, None)
        .send(&alert, &[photo(9), photo(4)])
        .unwrap();
    assert_eq!(
        receipt.detail,
        "whatsapp message wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3"
    );

    let got = log.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "an upload, then a message");
    let upload = &got[0];
    assert_eq!(
        (upload.method.as_str(), upload.url.as_str()),
        ("POST", "/v21.0/106540352242922/media")
    );
    assert_eq!(
        upload.header("Authorization"),
        Some("Bearer EAAG-meta-token")
    );
    let parts = upload.multipart();
    assert_eq!(part(&parts, "messaging_product").text(), "whatsapp");
    assert_eq!(part(&parts, "type").text(), "image/jpeg");
    let file = part(&parts, "file");
    assert_eq!(file.content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(file.filename.as_deref(), Some("doorguard-42.jpg"));
    assert_eq!(file.body, photo(9).jpeg, "the best photo, byte for byte");

    let send = &got[1];
    assert_eq!(
        (send.method.as_str(), send.url.as_str()),
        ("POST", "/v21.0/106540352242922/messages")
    );
    assert_eq!(send.header("Authorization"), Some("Bearer EAAG-meta-token"));
    assert!(
        send.header("Content-Type")
            .unwrap()
            .starts_with("application/json")
    );
    let body = send.json();
    assert_eq!(body["messaging_product"], "whatsapp");
    assert_eq!(body["to"], "+4915112345678");
    assert_eq!(body["type"], "image");
    assert_eq!(
        body["image"]["id"], "1037543291543636",
        "the uploaded media"
    );
    assert_eq!(body["image"]["caption"], render::caption(&alert));
    assert!(
        body["image"]["caption"]
            .as_str()
            .unwrap()
            .starts_with("Front door: lockout")
    );
}

#[test]
fn whatsapp_meta_template_carries_the_photo_header_and_a_one_line_summary() {
    let (socket, base) = listener();
    let log = serve(socket, |n, _| match n {
        0 => ok(json!({"id": "555"})),
        _ => ok(json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.T"}]})),
    });
    let alert = sample_lockout();
    meta(&base, Some("door_alert"))
        .send(&alert, &[photo(1)])
        .unwrap();
    let body = log.lock().unwrap()[1].json();
    assert_eq!(body["type"], "template");
    assert_eq!(body["template"]["name"], "door_alert");
    assert_eq!(body["template"]["language"]["code"], "de");
    let components = body["template"]["components"].as_array().unwrap();
    assert_eq!(components[0]["type"], "header");
    assert_eq!(components[0]["parameters"][0]["type"], "image");
    assert_eq!(components[0]["parameters"][0]["image"]["id"], "555");
    assert_eq!(components[1]["type"], "body");
    let text = components[1]["parameters"][0]["text"].as_str().unwrap();
    assert_eq!(text, render::one_line(&alert));
    assert!(
        !text.contains('\n') && text.contains("12 Example Street"),
        "{text}"
    );
}

#[test]
fn whatsapp_meta_errors_are_final_or_retried_as_meta_means_them() {
    let (socket, base) = listener();
    serve(socket, |n, _| match n {
        0 => status(
            400,
            json!({"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException",
                "code": 131047, "error_data": {"messaging_product": "whatsapp",
                "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
                "fbtrace_id": "AbCdEf"}}),
        ),
        _ => status(
            400,
            json!({"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException",
                "code": 130429, "fbtrace_id": "AbCdEg"}}),
        ),
    });
    let mut channel = meta(&base, None);
    match channel.send(&sample_lockout(), &[]) {
        Err(SendError::Permanent { reason }) => {
            assert!(reason.starts_with("whatsapp: HTTP 400"), "{reason}");
            assert!(
                reason.contains("Re-engagement message (code 131047)"),
                "{reason}"
            );
            assert!(!reason.contains("EAAG"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    match channel.send(&sample_lockout(), &[]) {
        Err(SendError::Retry { reason, after }) => {
            assert!(reason.contains("Rate limit hit"), "{reason}");
            assert_eq!(after, Some(Duration::from_secs(60)));
        }
        other => panic!("throttling is retried, got {other:?}"),
    }
}

fn twilio(
    base_url: &str,
    media: Option<(&str, &std::path::Path)>,
    content_sid: Option<&str>,
) -> Twilio {
    let settings = TwilioSettings {
        base_url: base_url.to_owned(),
        account_sid: "AC0123456789abcdef0123456789abcdef".into(),
        from: "+14155238886".into(),
        to: "+4915112345678".into(),
        content_sid: content_sid.map(str::to_owned),
        public_media_base_url: media.map(|(url, _)| url.to_owned()),
        media_dir: media.map_or_else(std::env::temp_dir, |(_, dir)| dir.to_owned()),
        timeout: SECS,
    };
    Twilio::new(&settings, Some(SecretValue::new("twilio-auth-token-1"))).unwrap()
}

fn twilio_created(n: usize) -> Answer {
    status(
        201,
        json!({"sid": format!("SM{n:032x}"), "status": "queued", "num_segments": "1",
            "to": "whatsapp:+4915112345678", "from": "whatsapp:+14155238886"}),
    )
}

#[test]
fn whatsapp_twilio_posts_a_form_with_basic_auth_and_no_media_without_a_public_url() {
    let (socket, base) = listener();
    let log = serve(socket, |n, _| twilio_created(n));
    let alert = sample_lockout();
    let receipt = twilio(&base, None, None).send(&alert, &[photo(2)]).unwrap();
    assert_eq!(
        receipt.detail,
        "twilio message SM00000000000000000000000000000000 queued"
    );
    let request = log.lock().unwrap()[0].clone();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.url,
        "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
    );
    let basic = STANDARD.encode("AC0123456789abcdef0123456789abcdef:twilio-auth-token-1");
    assert_eq!(
        request.header("Authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(
        request.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = request.form();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(field("To").as_deref(), Some("whatsapp:+4915112345678"));
    assert_eq!(field("From").as_deref(), Some("whatsapp:+14155238886"));
    assert_eq!(field("Body"), Some(render::caption(&alert)));
    assert_eq!(field("MediaUrl"), None, "no public URL, so no photo");
    assert_eq!(field("ContentSid"), None);
}

#[test]
fn whatsapp_twilio_template_and_published_photo() {
    let (socket, base) = listener();
    let log = serve(socket, |n, _| twilio_created(n));
    let media = tempfile::tempdir().unwrap();
    let alert = sample_lockout();
    twilio(
        &base,
        Some(("https://door.example.org/media/", media.path())),
        Some("HXb5b62575e6e4ff6129ad7c8efe1f983e"),
    )
    .send(&alert, &[photo(6)])
    .unwrap();
    let form = log.lock().unwrap()[0].form();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        field("ContentSid").as_deref(),
        Some("HXb5b62575e6e4ff6129ad7c8efe1f983e")
    );
    let variables: Value = serde_json::from_str(&field("ContentVariables").unwrap()).unwrap();
    assert_eq!(variables, json!({"1": render::one_line(&alert)}));
    assert_eq!(field("Body"), None, "the template replaces the body");
    let url = field("MediaUrl").unwrap();
    let name = url
        .strip_prefix("https://door.example.org/media/")
        .unwrap_or_else(|| panic!("{url}"));
    assert_eq!(name.len(), 32 + 4, "an unguessable name: {name}");
    assert_eq!(
        std::fs::read(media.path().join(name)).unwrap(),
        photo(6).jpeg,
        "the published file is the photo"
    );
}

#[test]
fn whatsapp_twilio_refusal_carries_twilios_message() {
    let (socket, base) = listener();
    serve(socket, |_, _| {
        status(
            400,
            json!({"code": 21211, "message": "Invalid 'To' Phone Number: whatsapp:+4915112345678",
                "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}),
        )
    });
    match twilio(&base, None, None).send(&sample_lockout(), &[]) {
        Err(SendError::Permanent { reason }) => {
            assert_eq!(
                reason,
                "twilio: HTTP 400 Bad Request: Invalid 'To' Phone Number: whatsapp:+4915112345678 (code 21211)"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn telegram(base_url: &str) -> Telegram {
    let settings = TelegramSettings {
        base_url: base_url.to_owned(),
        chat_id: "-1001234567890".into(),
        timeout: SECS,
    };
    Telegram::new(&settings, Some(SecretValue::new("123456:ABC-tg-token"))).unwrap()
}

#[test]
fn telegram_sends_the_photo_with_its_caption_to_the_chat() {
    let (socket, base) = listener();
    let log = serve(socket, |_, _| {
        ok(
            json!({"ok": true, "result": {"message_id": 4711, "date": 1764075787,
            "chat": {"id": -1001234567890i64, "type": "supergroup", "title": "Home"},
            "photo": [{"file_id": "AgAC", "width": 64, "height": 48}]}}),
        )
    });
    let alert = sample_lockout();
    let receipt = telegram(&base).send(&alert, &[photo(5)]).unwrap();
    assert_eq!(receipt.detail, "telegram message 4711");
    let request = log.lock().unwrap()[0].clone();
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("POST", "/bot123456:ABC-tg-token/sendPhoto")
    );
    let parts = request.multipart();
    assert_eq!(part(&parts, "chat_id").text(), "-1001234567890");
    assert_eq!(part(&parts, "caption").text(), render::caption(&alert));
    let photo_part = part(&parts, "photo");
    assert_eq!(photo_part.filename.as_deref(), Some("doorguard-42.jpg"));
    assert_eq!(photo_part.content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(photo_part.body, photo(5).jpeg);

    // No photo: the text alone.
    telegram(&base).send(&alert, &[]).unwrap();
    let request = log.lock().unwrap()[1].clone();
    assert_eq!(request.url, "/bot123456:ABC-tg-token/sendMessage");
    let body = request.json();
    assert_eq!(body["chat_id"], "-1001234567890");
    assert_eq!(body["text"], render::text(&alert));
}

#[test]
fn telegram_throttling_and_refusals_never_show_the_token() {
    let (socket, base) = listener();
    serve(socket, |n, _| match n {
        0 => status(
            429,
            json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7}}),
        ),
        _ => status(
            403,
            json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
        ),
    });
    let mut channel = telegram(&base);
    match channel.send(&sample_lockout(), &[photo(1)]) {
        Err(SendError::Retry { reason, after }) => {
            assert_eq!(after, Some(Duration::from_secs(7)));
            assert!(reason.contains("Too Many Requests"), "{reason}");
            assert!(!reason.contains("ABC-tg-token"), "{reason}");
        }
        other => panic!("expected a retry, got {other:?}"),
    }
    match channel.send(&sample_lockout(), &[photo(1)]) {
        Err(SendError::Permanent { reason }) => {
            assert_eq!(
                reason,
                "telegram: HTTP 403 Forbidden: Forbidden: bot was blocked by the user"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Even a network fault's text leaves the URL (and so the token) out.
    let unreachable = TelegramSettings {
        base_url: format!("http://127.0.0.1:{}", common::smtp::free_port()),
        chat_id: "1".into(),
        timeout: SECS,
    };
    let err = Telegram::new(&unreachable, Some(SecretValue::new("999:XYZ-secret")))
        .unwrap()
        .send(&sample_lockout(), &[])
        .unwrap_err();
    assert!(!err.to_string().contains("XYZ-secret"), "{err}");
}

#[test]
fn ntfy_puts_the_photo_with_title_priority_tags_and_token() {
    let (socket, base) = listener();
    let log = serve(socket, |_, _| {
        ok(
            json!({"id": "sPs8fJ2a0y", "time": 1764075787, "event": "message", "topic": "door-8f3k2",
            "attachment": {"name": "doorguard-42.jpg", "type": "image/jpeg"}}),
        )
    });
    let alert = sample_lockout();
    let mut channel = Ntfy::new(NtfySettings {
        base_url: base,
        topic: "door-8f3k2".into(),
        priority: 5,
        tags: vec!["rotating_light".into(), "door".into()],
        token: Some("tk_ntfy_token".into()),
        timeout: SECS,
    })
    .unwrap();
    let receipt = channel.send(&alert, &[photo(8)]).unwrap();
    assert_eq!(receipt.detail, "ntfy message sPs8fJ2a0y");
    let request = log.lock().unwrap()[0].clone();
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("PUT", "/door-8f3k2")
    );
    assert_eq!(
        request.header("Authorization"),
        Some("Bearer tk_ntfy_token")
    );
    assert_eq!(request.header("X-Priority"), Some("5"));
    assert_eq!(request.header("X-Tags"), Some("rotating_light,door"));
    assert_eq!(request.header("X-Filename"), Some("doorguard-42.jpg"));
    let decoded = |h: &str| {
        let word = request.header(h).unwrap();
        let b64 = word
            .strip_prefix("=?UTF-8?B?")
            .unwrap()
            .strip_suffix("?=")
            .unwrap();
        String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap()
    };
    assert_eq!(decoded("X-Title"), render::subject(&alert));
    assert_eq!(decoded("X-Message"), render::caption(&alert));
    assert_eq!(request.body, photo(8).jpeg);
}

#[test]
fn webhook_posts_json_and_photos_signed_over_timestamp_and_body() {
    let (socket, base) = listener();
    let log = serve(socket, |_, _| ok(json!({"received": true})));
    let alert = sample_lockout();
    let settings = WebhookSettings {
        url: format!("{base}/hooks/door"),
        timeout: SECS,
    };
    let mut channel = Webhook::new(&settings, Some(SecretValue::new("whsec-shared"))).unwrap();
    let receipt = channel.send(&alert, &[photo(3), photo(7)]).unwrap();
    assert_eq!(receipt.detail, "webhook HTTP 200 OK");

    let request = log.lock().unwrap()[0].clone();
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("POST", "/hooks/door")
    );
    assert_eq!(request.header("X-Doorguard-Alert"), Some("42"));
    let timestamp: i64 = request
        .header("X-Doorguard-Timestamp")
        .unwrap()
        .parse()
        .unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
    // The receiver's check: HMAC-SHA256 over "{timestamp}.{body}" with the shared secret.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"whsec-shared").unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&request.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        request.header("X-Doorguard-Signature"),
        Some(format!("sha256={expected}").as_str())
    );
    assert_ne!(
        request.header("X-Doorguard-Signature").unwrap(),
        signature(b"another secret", timestamp, &request.body)
    );

    let parts = request.multipart();
    assert_eq!(parts.len(), 3);
    let json: Value = serde_json::from_slice(&part(&parts, "alert").body).unwrap();
    assert_eq!(json, render::json(&alert));
    assert_eq!(json["event"], "lockout");
    assert_eq!(part(&parts, "photo1").body, photo(3).jpeg, "best first");
    assert_eq!(part(&parts, "photo2").body, photo(7).jpeg);
    assert_eq!(
        part(&parts, "photo2").filename.as_deref(),
        Some("doorguard-42-2.jpg")
    );
}

#[test]
fn a_channel_without_its_secret_says_which_secret_is_missing() {
    let settings = TelegramSettings {
        base_url: "https://api.telegram.org".into(),
        chat_id: "1".into(),
        timeout: SECS,
    };
    let err = Telegram::new(&settings, None).err().unwrap();
    assert_eq!(
        err.to_string(),
        "telegram: the `telegram_bot_token` secret is not set"
    );
}
