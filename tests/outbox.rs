//! The alert outbox in a real SQLite file: an alert raised by the access rules is
//! prepared with its photos, sealed evidence and one delivery per channel; deliveries
//! move to sent, retry, failed or expired; photos leave when every channel is done; a
//! reopened database resumes where it stopped. And `doorguard alerts` shows it.

mod common;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use common::alerts::{photo, prepare, raise_lockout, raise_lockout_at, secs, store_at, t0};
use common::{Kiosk, stdout};
use doorguard::access::AlertKind;
use doorguard::alerts::outbox::Outbox;
use doorguard::store::{DeliveryState, Store};

fn state(store: &Store, id: i64, channel: &str) -> (DeliveryState, u32) {
    let alert = store.alert(id).unwrap().unwrap();
    let d = alert
        .deliveries
        .iter()
        .find(|d| d.channel == channel)
        .unwrap();
    (d.state, d.tries)
}

#[test]
fn an_alert_goes_out_once_prepared_and_its_photos_leave_when_every_channel_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_at(&dir.path().join("k.db"));
    let id = raise_lockout(&mut store);
    assert!(
        store
            .due_deliveries(t0() + secs(60), 10)
            .unwrap()
            .is_empty(),
        "nothing is sent before the alert is prepared"
    );

    let photos = [photo(10), photo(200)];
    let content = prepare(&mut store, id, &photos, &["email", "ntfy"]);
    assert!(store.unprepared_alerts().unwrap().is_empty());
    assert_eq!(content.kind, AlertKind::Lockout);
    assert_eq!(content.attempts, 3);

    let (stored, held) = store.alert_for_delivery(id).unwrap();
    assert_eq!(stored, content, "the content is kept exactly as prepared");
    assert_eq!(held, photos, "the photos are held best first");

    let due = store.due_deliveries(t0() + secs(3), 10).unwrap();
    let channels: Vec<&str> = due.iter().map(|d| d.channel.as_str()).collect();
    assert_eq!(channels, ["email", "ntfy"]);

    store
        .record_try(id, "email", Ok("250 queued as 4F2A"), t0() + secs(4))
        .unwrap();
    assert_eq!(state(&store, id, "email"), (DeliveryState::Sent, 1));
    // A second record for a delivery already sent changes nothing.
    store
        .record_try(id, "email", Ok("250 again"), t0() + secs(5))
        .unwrap();
    assert_eq!(state(&store, id, "email"), (DeliveryState::Sent, 1));
    let due = store.due_deliveries(t0() + secs(5), 10).unwrap();
    assert_eq!(due.len(), 1, "only ntfy is still due");
    assert_eq!(
        store.alert(id).unwrap().unwrap().photos_held,
        2,
        "ntfy still needs them"
    );

    store
        .record_try(
            id,
            "ntfy",
            Err(("403 forbidden: topic is reserved", None)),
            t0() + secs(6),
        )
        .unwrap();
    let alert = store.alert(id).unwrap().unwrap();
    assert_eq!(state(&store, id, "ntfy"), (DeliveryState::Failed, 1));
    assert_eq!(
        alert.photos_held, 0,
        "plaintext photos leave once every channel is done"
    );
    let ntfy = alert
        .deliveries
        .iter()
        .find(|d| d.channel == "ntfy")
        .unwrap();
    assert_eq!(
        ntfy.last_error.as_deref(),
        Some("403 forbidden: topic is reserved")
    );
    let email = alert
        .deliveries
        .iter()
        .find(|d| d.channel == "email")
        .unwrap();
    assert_eq!(email.receipt.as_deref(), Some("250 queued as 4F2A"));

    // The sealed evidence copies stay, unreadable without the vault.
    let conn = rusqlite::Connection::open(dir.path().join("k.db")).unwrap();
    let sealed: Vec<Vec<u8>> = conn
        .prepare("SELECT sealed_jpeg FROM evidence ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(sealed.len(), 2);
    for (s, p) in sealed.iter().zip(&photos) {
        assert!(
            !s.windows(16).any(|w| p.jpeg.windows(16).next() == Some(w)),
            "sealed, not plain"
        );
    }

    // Retry puts the failed delivery back; the alert then goes without photos.
    assert_eq!(store.retry_alert(id, t0() + secs(10)).unwrap(), 1);
    assert_eq!(state(&store, id, "ntfy").0, DeliveryState::Pending);
    assert!(store.alert_for_delivery(id).unwrap().1.is_empty());
}

#[test]
fn a_reopened_database_resumes_pending_deliveries_at_their_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.db");
    let id = {
        let mut store = store_at(&path);
        let id = raise_lockout(&mut store);
        prepare(&mut store, id, &[photo(1)], &["webhook"]);
        let next = t0() + secs(30);
        store
            .record_try(
                id,
                "webhook",
                Err(("connection refused", Some(next))),
                t0() + secs(4),
            )
            .unwrap();
        id
    };
    let store = store_at(&path);
    assert!(
        store
            .due_deliveries(t0() + secs(29), 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_delivery_at().unwrap(), Some(t0() + secs(30)));
    let due = store.due_deliveries(t0() + secs(30), 10).unwrap();
    assert_eq!((due[0].alert_id, due[0].tries), (id, 1));
    assert_eq!(
        store.alert_for_delivery(id).unwrap().1.len(),
        1,
        "the photo waited too"
    );
}

#[test]
fn deliveries_expire_after_the_maximum_age_and_evidence_after_its_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_at(&dir.path().join("k.db"));
    let id = raise_lockout(&mut store);
    prepare(&mut store, id, &[photo(1)], &["telegram"]);
    let week = Duration::from_secs(7 * 86400);

    assert_eq!(
        store
            .expire_deliveries(week, t0() + TimeDelta::days(6))
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .expire_deliveries(week, t0() + TimeDelta::days(8))
            .unwrap(),
        1
    );
    let alert = store.alert(id).unwrap().unwrap();
    assert_eq!(alert.deliveries[0].state, DeliveryState::Expired);
    assert!(
        alert.deliveries[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("maximum age")
    );
    assert_eq!(alert.photos_held, 0);

    assert_eq!(store.purge_evidence(t0() + TimeDelta::days(89)).unwrap(), 0);
    assert_eq!(store.purge_evidence(t0() + TimeDelta::days(91)).unwrap(), 1);

    // The running worker purges on its own: an attempt's photo kept with its audit
    // record is gone after the first pass past its retention, and the record stays.
    let day100 = t0() + TimeDelta::days(100);
    raise_lockout_at(&mut store, day100);
    let retention = Duration::from_secs(90 * 86400);
    let kept = store
        .attach_evidence("wrong_pin", &photo(2).jpeg, day100, retention)
        .unwrap()
        .expect("a wrong_pin record to attach to");
    let evidence_of_newest = |store: &Store| {
        store
            .recent_audit(50)
            .unwrap()
            .into_iter()
            .find(|e| e.kind == "wrong_pin")
            .unwrap()
            .evidence
    };
    assert_eq!(evidence_of_newest(&store), Some(kept));
    let mut outbox = Outbox::new(vec![], week);
    outbox
        .deliver_due(&mut store, &|| day100 + TimeDelta::days(89))
        .unwrap();
    assert_eq!(evidence_of_newest(&store), Some(kept), "kept for 90 days");
    outbox
        .deliver_due(&mut store, &|| day100 + TimeDelta::days(91))
        .unwrap();
    assert_eq!(
        evidence_of_newest(&store),
        None,
        "purged by the worker's pass"
    );
}

#[test]
fn alerts_list_show_and_retry_at_the_shell() {
    let (kiosk, _code) = Kiosk::initialized();
    let id = {
        let mut store = Store::open(&kiosk.db).unwrap();
        let id = raise_lockout(&mut store);
        prepare(&mut store, id, &[photo(1)], &["email", "ntfy"]);
        store
            .record_try(id, "email", Ok("250 2.0.0 Ok: queued"), t0() + secs(4))
            .unwrap();
        store
            .record_try(
                id,
                "ntfy",
                Err(("400 Bad Request: invalid topic", None)),
                t0() + secs(4),
            )
            .unwrap();
        id
    };

    let list = stdout(&kiosk.ok(&["alerts", "list"]));
    assert!(list.contains("lockout"), "{list}");
    assert!(list.contains("email sent, ntfy FAILED"), "{list}");
    assert!(
        list.contains("ntfy: 400 Bad Request: invalid topic"),
        "{list}"
    );

    let show = stdout(&kiosk.ok(&["alerts", "show", &id.to_string()]));
    assert!(
        show.contains("Test door: lockout after 3 wrong attempts"),
        "{show}"
    );
    assert!(
        show.contains("https://www.openstreetmap.org/?mlat=52.500000&mlon=13.400000"),
        "{show}"
    );
    assert!(show.contains("server said: 250 2.0.0 Ok: queued"), "{show}");

    let retry = stdout(&kiosk.ok(&["alerts", "retry", &id.to_string()]));
    assert!(retry.contains("1 delivery queued again"), "{retry}");
    let json = stdout(&kiosk.ok(&["alerts", "list", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["deliveries"][1]["state"], "pending");

    let missing = kiosk.run(&["alerts", "show", "999"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(common::stderr(&missing).contains("there is no alert 999"));
}

/// A public-IP service on loopback: answers `{"ip": …}` after `delay`, counting calls.
fn ip_service(delay: Duration) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/?format=json",
        server.server_addr().to_ip().unwrap()
    );
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&calls);
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                let _ =
                    request.respond(tiny_http::Response::from_string(r#"{"ip":"203.0.113.7"}"#));
            });
        }
    });
    (url, calls)
}

fn prepare_with_ip(
    store: &mut Store,
    lookup: &doorguard::alerts::netinfo::PublicIp,
) -> (Vec<i64>, Duration) {
    let how = doorguard::alerts::Preparation {
        kiosk: "Test door",
        place: None,
        public_ip: lookup,
        channels: &["email"],
        evidence_retention: Duration::from_secs(86400),
    };
    let started = std::time::Instant::now();
    let ids =
        doorguard::alerts::prepare_pending(store, &how, |_| vec![photo(5)], Utc::now).unwrap();
    (ids, started.elapsed())
}

#[test]
fn a_hanging_public_ip_lookup_delays_the_alert_at_most_two_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_at(&dir.path().join("k.db"));
    let (url, _) = ip_service(Duration::from_secs(30));
    let lookup = doorguard::alerts::netinfo::PublicIp::new(Some(url));
    let id = raise_lockout(&mut store);

    let (ids, took) = prepare_with_ip(&mut store, &lookup);
    assert_eq!(ids, [id]);
    assert!(
        took < Duration::from_millis(2500),
        "preparing took {took:?}"
    );
    let (content, photos) = store.alert_for_delivery(id).unwrap();
    assert_eq!(content.public_ip, None);
    assert!(doorguard::alerts::render::text(&content).contains("Public IP: unknown"));
    assert_eq!(photos.len(), 1);
}

#[test]
fn a_public_ip_that_answers_goes_into_the_alert_and_is_cached() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_at(&dir.path().join("k.db"));
    let (url, calls) = ip_service(Duration::ZERO);
    let lookup = doorguard::alerts::netinfo::PublicIp::new(Some(url));
    for _ in 0..2 {
        let id = raise_lockout(&mut store);
        prepare_with_ip(&mut store, &lookup);
        let (content, _) = store.alert_for_delivery(id).unwrap();
        assert_eq!(content.public_ip.as_deref(), Some("203.0.113.7"));
    }
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the second alert used the cache"
    );
}
