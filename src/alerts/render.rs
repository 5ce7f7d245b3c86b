//! An alert rendered for each medium: an e-mail subject, plain text, HTML, a caption for
//! WhatsApp and Telegram (at most [`CAPTION_MAX`] characters), and JSON for webhooks and
//! MQTT. Pure functions of [`AlertContent`].

use serde_json::{Value, json};

use super::AlertContent;
use crate::access::AlertKind;

/// WhatsApp and Telegram refuse captions longer than this many characters.
pub const CAPTION_MAX: usize = 1024;

/// The event in words, for people.
pub fn title(kind: AlertKind, attempts: u32) -> String {
    match kind {
        AlertKind::Lockout => format!("lockout after {attempts} wrong attempts"),
        AlertKind::Duress => "duress PIN used".to_owned(),
        AlertKind::DoorForced => "door forced open".to_owned(),
        AlertKind::DoorHeldOpen => "door held open".to_owned(),
        AlertKind::Tamper => "tamper switch triggered".to_owned(),
        AlertKind::HardLock => format!("hard lock after {attempts} failed attempts"),
    }
}

/// `Front door: lockout after 3 wrong attempts`; a test starts with `TEST`.
pub fn subject(alert: &AlertContent) -> String {
    let test = if alert.test { "TEST " } else { "" };
    format!(
        "{test}{}: {}",
        alert.kiosk,
        title(alert.kind, alert.attempts)
    )
}

/// What a test alert says under its subject.
const TEST_NOTE: &str =
    "This is a test sent with `doorguard alerts test`; nothing happened at the door.";

/// The labelled lines every rendering shows, in order.
fn lines(alert: &AlertContent) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    if alert.test {
        lines.push(("Test", TEST_NOTE.to_owned()));
    }
    lines.extend([
        (
            "When",
            format!(
                "{} {} ({})",
                alert.at_local.format("%Y-%m-%d %H:%M:%S"),
                alert.zone,
                alert.at.format("%Y-%m-%dT%H:%M:%SZ")
            ),
        ),
        ("Attempts", alert.attempts.to_string()),
    ]);
    if let Some(place) = &alert.place {
        lines.push(("Where", place.address.clone()));
        if let Some(link) = place.map_link() {
            lines.push(("Map", link));
        }
    }
    let lan = if alert.lan_addresses.is_empty() {
        "none".to_owned()
    } else {
        alert.lan_addresses.join(", ")
    };
    lines.push(("LAN", lan));
    lines.push((
        "Public IP",
        alert
            .public_ip
            .clone()
            .unwrap_or_else(|| "unknown".to_owned()),
    ));
    lines.push((
        "Photos",
        match alert.photos {
            0 => "none (camera offline or no frame)".to_owned(),
            n => format!("{n} attached, sharpest first"),
        },
    ));
    lines
}

/// The plain-text body.
pub fn text(alert: &AlertContent) -> String {
    let mut out = format!("{}\n\n", subject(alert));
    for (label, value) in lines(alert) {
        out.push_str(&format!("{:<11}{value}\n", format!("{label}:")));
    }
    out.push_str(&format!("\nAlert #{} from doorguard.\n", alert.id));
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML body (the alternative to [`text`] in e-mails).
pub fn html(alert: &AlertContent) -> String {
    let mut rows = String::new();
    for (label, value) in lines(alert) {
        let value = if label == "Map" {
            format!("<a href=\"{0}\">{0}</a>", escape(&value))
        } else {
            escape(&value)
        };
        rows.push_str(&format!(
            "<tr><th align=\"left\" style=\"padding:2px 12px 2px 0\">{label}</th><td>{value}</td></tr>\n"
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n\
         <h2 style=\"color:#b00020\">{}</h2>\n<table>\n{rows}</table>\n\
         <p style=\"color:#666\">Alert #{} from doorguard.</p>\n</body></html>\n",
        escape(&subject(alert)),
        alert.id
    )
}

/// The caption for a photo message: the text without its footer, cut to
/// [`CAPTION_MAX`] characters.
pub fn caption(alert: &AlertContent) -> String {
    let mut out = format!("{}\n", subject(alert));
    for (label, value) in lines(alert) {
        out.push_str(&format!("{label}: {value}\n"));
    }
    truncate(out.trim_end(), CAPTION_MAX)
}

/// `text` if it has at most `max` characters, else its first `max - 1` and `…`.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The alert in one line — subject, local time, address — for template parameters,
/// which may not hold line breaks, tabs or runs of spaces (WhatsApp templates).
pub fn one_line(alert: &AlertContent) -> String {
    let mut line = format!(
        "{} at {} {}",
        subject(alert),
        alert.at_local.format("%Y-%m-%d %H:%M"),
        alert.zone
    );
    if let Some(place) = &alert.place {
        line.push_str(&format!(", {}", place.address));
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The JSON document for webhooks and MQTT.
pub fn json(alert: &AlertContent) -> Value {
    let place = alert.place.as_ref();
    json!({
        "id": alert.id,
        "kiosk": alert.kiosk,
        "event": alert.kind.as_str(),
        "title": title(alert.kind, alert.attempts),
        "at": alert.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "at_local": alert.at_local.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        "zone": alert.zone,
        "address": place.map(|p| p.address.clone()),
        "latitude": place.and_then(|p| p.latitude),
        "longitude": place.and_then(|p| p.longitude),
        "map": place.and_then(|p| p.map_link()),
        "lan_addresses": alert.lan_addresses,
        "public_ip": alert.public_ip,
        "attempts": alert.attempts,
        "photos": alert.photos,
        "test": alert.test,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, TimeZone, Utc};

    use super::*;
    use crate::alerts::Place;

    pub(crate) fn sample() -> AlertContent {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 13, 3, 7).unwrap();
        AlertContent {
            id: 12,
            kiosk: "Front <door>".into(),
            kind: AlertKind::Lockout,
            at,
            at_local: at.with_timezone(&FixedOffset::east_opt(3600).unwrap()),
            zone: "CET".into(),
            place: Some(Place {
                address: "12 Example Street, Springfield".into(),
                latitude: Some(52.520008),
                longitude: Some(13.404954),
            }),
            lan_addresses: vec!["192.168.1.20".into(), "fd00::20".into()],
            public_ip: None,
            attempts: 3,
            photos: 2,
            test: false,
        }
    }

    #[test]
    fn the_text_says_what_when_where_and_from_which_addresses() {
        let text = text(&sample());
        assert!(
            text.starts_with("Front <door>: lockout after 3 wrong attempts\n"),
            "{text}"
        );
        assert!(
            text.contains("When:      2026-11-25 14:03:07 CET (2026-11-25T13:03:07Z)"),
            "{text}"
        );
        assert!(
            text.contains(
                "Map:       https://www.openstreetmap.org/?mlat=52.520008&mlon=13.404954"
            ),
            "{text}"
        );
        assert!(text.contains("LAN:       192.168.1.20, fd00::20"), "{text}");
        assert!(text.contains("Public IP: unknown"), "{text}");
    }

    #[test]
    fn html_escapes_what_it_shows() {
        let html = html(&sample());
        assert!(html.contains("Front &lt;door&gt;: lockout"), "{html}");
        assert!(!html.contains("<door>"), "{html}");
    }

    #[test]
    fn captions_are_cut_to_the_limit() {
        let mut alert = sample();
        alert.place.as_mut().unwrap().address = "x".repeat(3000);
        let caption = caption(&alert);
        assert_eq!(caption.chars().count(), CAPTION_MAX);
        assert!(caption.ends_with('…'));
        assert!(super::caption(&sample()).chars().count() < CAPTION_MAX);
    }

    #[test]
    fn json_carries_both_times_and_the_event_name() {
        let v = json(&sample());
        assert_eq!(v["event"], "lockout");
        assert_eq!(v["at"], "2026-11-25T13:03:07Z");
        assert_eq!(v["at_local"], "2026-11-25T14:03:07+01:00");
        assert_eq!(v["public_ip"], Value::Null);
        assert_eq!(v["test"], false);
    }

    #[test]
    fn the_one_line_summary_has_no_line_breaks() {
        let mut alert = sample();
        alert.place.as_mut().unwrap().address = "Back door\n\t12   Example Street".into();
        assert_eq!(
            one_line(&alert),
            "Front <door>: lockout after 3 wrong attempts at 2026-11-25 14:03 CET, Back door 12 Example Street"
        );
    }

    #[test]
    fn a_test_alert_says_so_first() {
        let mut alert = sample();
        alert.test = true;
        assert!(subject(&alert).starts_with("TEST Front <door>: lockout"));
        assert!(
            text(&alert).contains("Test:      This is a test"),
            "{}",
            text(&alert)
        );
        assert!(caption(&alert).contains("nothing happened at the door"));
        assert_eq!(json(&alert)["test"], true);
    }
}
