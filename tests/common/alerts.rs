//! An initialized kiosk database with alerts raised through the real access rules, for
//! the outbox and channel tests.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeDelta, TimeZone, Utc};
use doorguard::access::{AccessMachine, AlertKind, Event, PinOutcome};
use doorguard::alerts::{AlertContent, AlertPhoto, Place};
use doorguard::config::Settings;
use doorguard::store::Store;
use doorguard::vault::{KdfParams, Passphrase};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 13, 0, 0).unwrap()
}

pub fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

/// An initialized database at `path`.
pub fn store_at(path: &Path) -> Store {
    let mut store = Store::open(path).expect("open");
    if !store.is_initialized().unwrap() {
        let pass = Passphrase::parse(super::PASSPHRASE).unwrap();
        store
            .initialize("alice", &pass, KdfParams::OWASP_MINIMUM, t0())
            .unwrap();
    }
    store
}

/// Three wrong PINs through the access rules and the store: returns the lockout
/// alert's id.
pub fn raise_lockout(store: &mut Store) -> i64 {
    raise_lockout_at(store, t0())
}

/// [`raise_lockout`] with the first wrong PIN at `at`.
pub fn raise_lockout_at(store: &mut Store, at: DateTime<Utc>) -> i64 {
    let mut machine = AccessMachine::new(Settings::defaults().access);
    let mut ids = Vec::new();
    for i in 0..3 {
        let now = at + secs(i);
        let commands = machine.handle(Event::Pin(PinOutcome::Wrong), now);
        ids.extend(
            store
                .record_access_outcome(&machine, &commands, now)
                .unwrap(),
        );
    }
    assert_eq!(ids.len(), 1, "one lockout alert");
    ids[0]
}

pub fn photo(n: u8) -> AlertPhoto {
    let rgb = vec![n; 64 * 48 * 3];
    let jpeg = doorguard::hw::camera::encode_jpeg(&rgb, 64, 48, 80).unwrap();
    AlertPhoto {
        jpeg,
        width: 64,
        height: 48,
    }
}

pub fn prepare(
    store: &mut Store,
    id: i64,
    photos: &[AlertPhoto],
    channels: &[&str],
) -> AlertContent {
    prepare_at(store, id, photos, channels, t0() + secs(3))
}

/// [`prepare`] at `now`: the deliveries fall due then.
pub fn prepare_at(
    store: &mut Store,
    id: i64,
    photos: &[AlertPhoto],
    channels: &[&str],
    now: DateTime<Utc>,
) -> AlertContent {
    let pending = store.unprepared_alerts().unwrap();
    let raised = pending
        .iter()
        .find(|p| p.id == id)
        .expect("raised, not prepared");
    let content = AlertContent::new(
        id,
        "Test door",
        raised.alert,
        raised.created_at,
        Some(Place {
            address: "1 Test Street".into(),
            latitude: Some(52.5),
            longitude: Some(13.4),
        }),
        vec!["192.168.1.20 (eth0)".into()],
        None,
        photos.len() as u32,
    );
    let key = store.evidence_public_key().unwrap();
    let retention = Duration::from_secs(90 * 86400);
    store
        .prepare_alert(&content, photos, channels, &key, retention, now)
        .unwrap();
    content
}

/// A lockout alert as prepared for kiosk "Front door", alert id 42.
pub fn sample_lockout() -> AlertContent {
    let at = Utc.with_ymd_and_hms(2026, 11, 25, 13, 3, 7).unwrap();
    AlertContent {
        id: 42,
        kiosk: "Front door".into(),
        kind: AlertKind::Lockout,
        at,
        at_local: at.with_timezone(&FixedOffset::east_opt(3600).unwrap()),
        zone: "Europe/Berlin".into(),
        place: Some(Place {
            address: "12 Example Street, Springfield".into(),
            latitude: Some(52.520008),
            longitude: Some(13.404954),
        }),
        lan_addresses: vec!["192.168.1.20 (eth0)".into(), "fd00::20 (eth0)".into()],
        public_ip: Some("203.0.113.7".into()),
        attempts: 3,
        photos: 1,
        test: false,
    }
}
