//! The outbox worker against a local server that answers like ntfy, through faults: a
//! server that is down for five tries, throttling with `Retry-After`, and a refusal.
//! The clock the worker records with is driven by the test, so hours of backoff pass
//! at once; the network is real (loopback).

mod common;

use std::cell::Cell;
use std::net::TcpListener;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::alerts::{photo, prepare, raise_lockout, secs, store_at, t0};
use common::http::{Answer, Log, serve};
use common::{Kiosk, stdout};
use doorguard::alerts::channels::ntfy::{Ntfy, NtfySettings};
use doorguard::alerts::outbox::Outbox;
use doorguard::alerts::{Notifier, SendError};
use doorguard::store::{DeliveryState, Store};

/// An ntfy-like server on `listener` answering the n-th request with `answer(n)`.
fn ntfy_server(listener: TcpListener, answer: impl Fn(usize) -> Answer + Send + 'static) -> Log {
    serve(listener, move |n, _| answer(n))
}

fn ok_json(n: usize) -> String {
    format!(r#"{{"id":"msg{n}","time":1764075787,"event":"message","topic":"door-alerts"}}"#)
}

fn ntfy(port: u16) -> Box<dyn Notifier> {
    Box::new(
        Ntfy::new(NtfySettings {
            base_url: format!("http://127.0.0.1:{port}"),
            topic: "door-alerts".into(),
            priority: 5,
            tags: vec!["rotating_light".into()],
            token: Some("tk_secret_ntfy_token".into()),
            timeout: Duration::from_secs(5),
        })
        .unwrap(),
    )
}

fn free_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

/// A kiosk database with one prepared lockout alert for ntfy.
fn kiosk_with_alert(path: &std::path::Path) -> (Store, i64) {
    let mut store = store_at(path);
    let id = raise_lockout(&mut store);
    prepare(&mut store, id, &[photo(7)], &["ntfy"]);
    (store, id)
}

fn delivery(store: &Store, id: i64) -> doorguard::store::Delivery {
    store.alert(id).unwrap().unwrap().deliveries[0].clone()
}

#[test]
fn a_server_down_for_five_tries_gets_the_alert_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, id) = kiosk_with_alert(&dir.path().join("k.db"));
    // Reserve a port, then close it: nothing listens there for the first five tries.
    let port = free_listener().local_addr().unwrap().port();
    let mut outbox = Outbox::new(vec![ntfy(port)], Duration::from_secs(7 * 86400));
    let clock = Cell::new(t0() + secs(3));
    let now = || clock.get();

    let mut waits = Vec::new();
    for attempt in 1..=5 {
        let reports = outbox.deliver_due(&mut store, &now).unwrap();
        assert_eq!(reports.len(), 1, "try {attempt}");
        assert!(
            matches!(reports[0].outcome, Err(SendError::Retry { .. })),
            "{reports:?}"
        );
        let next = store.next_delivery_at().unwrap().unwrap();
        waits.push((next - clock.get()).num_milliseconds());
        // Nothing is tried before its time.
        assert!(outbox.deliver_due(&mut store, &now).unwrap().is_empty());
        clock.set(next);
    }
    // 1 s, 2 s, 4 s, 8 s, 16 s, each ±20 %.
    for (n, wait) in waits.iter().enumerate() {
        let base = 1000i64 << n;
        assert!(
            (base * 8 / 10..=base * 12 / 10).contains(wait),
            "wait {n}: {wait} ms, {waits:?}"
        );
    }
    let d = delivery(&store, id);
    assert_eq!((d.state, d.tries), (DeliveryState::Pending, 5));
    assert!(
        d.last_error
            .as_deref()
            .unwrap()
            .starts_with("ntfy: cannot connect"),
        "{d:?}"
    );

    let listener = TcpListener::bind(("127.0.0.1", port)).expect("the reserved port is free");
    let received = ntfy_server(listener, |n| (200, vec![], ok_json(n)));
    let reports = outbox.deliver_due(&mut store, &now).unwrap();
    assert!(reports[0].outcome.is_ok(), "{reports:?}");
    for _ in 0..3 {
        clock.set(clock.get() + chrono::TimeDelta::hours(2));
        assert!(
            outbox.deliver_due(&mut store, &now).unwrap().is_empty(),
            "never sent again"
        );
    }

    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "delivered exactly once");
    let request = &got[0];
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("PUT", "/door-alerts")
    );
    assert_eq!(
        request.header("Authorization"),
        Some("Bearer tk_secret_ntfy_token")
    );
    assert_eq!(request.header("X-Priority"), Some("5"));
    assert_eq!(request.header("X-Tags"), Some("rotating_light"));
    assert_eq!(request.body, photo(7).jpeg, "the photo, byte for byte");
    let d = delivery(&store, id);
    assert_eq!((d.state, d.tries), (DeliveryState::Sent, 6));
    assert_eq!(d.receipt.as_deref(), Some("ntfy message msg0"));
    assert_eq!(store.alert(id).unwrap().unwrap().photos_held, 0);
}

#[test]
fn throttling_with_retry_after_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, id) = kiosk_with_alert(&dir.path().join("k.db"));
    let listener = free_listener();
    let port = listener.local_addr().unwrap().port();
    let received = ntfy_server(listener, |n| match n {
        0 => (
            429,
            vec![("Retry-After", "3".to_owned())],
            r#"{"code":42901,"http":429,"error":"limit reached: too many requests"}"#.to_owned(),
        ),
        n => (200, vec![], ok_json(n)),
    });
    let mut outbox = Outbox::new(vec![ntfy(port)], Duration::from_secs(86400));
    let clock = Cell::new(t0() + secs(3));
    let now = || clock.get();

    let reports = outbox.deliver_due(&mut store, &now).unwrap();
    match &reports[0].outcome {
        Err(SendError::Retry { reason, after }) => {
            assert_eq!(*after, Some(Duration::from_secs(3)));
            assert!(
                reason.contains("429") && reason.contains("limit reached"),
                "{reason}"
            );
        }
        other => panic!("expected a retry, got {other:?}"),
    }
    let next: DateTime<Utc> = reports[0].next_try_at.unwrap();
    assert!(
        next >= clock.get() + secs(3),
        "next try {next} is sooner than Retry-After"
    );
    clock.set(clock.get() + chrono::TimeDelta::milliseconds(2999));
    assert!(
        outbox.deliver_due(&mut store, &now).unwrap().is_empty(),
        "not before 3 s"
    );
    clock.set(next);
    assert!(
        outbox.deliver_due(&mut store, &now).unwrap()[0]
            .outcome
            .is_ok()
    );
    assert_eq!(received.lock().unwrap().len(), 2);
    assert_eq!(delivery(&store, id).state, DeliveryState::Sent);
}

#[test]
fn a_refusal_is_final_and_shown_with_the_apis_message() {
    let (kiosk, _code) = Kiosk::initialized();
    let listener = free_listener();
    let port = listener.local_addr().unwrap().port();
    let received = ntfy_server(listener, |_| {
        (
            400,
            vec![],
            r#"{"code":40010,"http":400,"error":"invalid request: topic invalid","link":"https://ntfy.sh/docs/publish/"}"#
                .to_owned(),
        )
    });
    let (mut store, id) = {
        let mut store = Store::open(&kiosk.db).unwrap();
        let id = raise_lockout(&mut store);
        prepare(&mut store, id, &[photo(3)], &["ntfy"]);
        (store, id)
    };
    let mut outbox = Outbox::new(vec![ntfy(port)], Duration::from_secs(86400));
    let clock = Cell::new(t0() + secs(3));
    let now = || clock.get();
    let reports = outbox.deliver_due(&mut store, &now).unwrap();
    assert!(
        matches!(reports[0].outcome, Err(SendError::Permanent { .. })),
        "{reports:?}"
    );
    clock.set(clock.get() + chrono::TimeDelta::days(1));
    assert!(
        outbox.deliver_due(&mut store, &now).unwrap().is_empty(),
        "never tried again"
    );
    assert_eq!(received.lock().unwrap().len(), 1);

    let list = stdout(&kiosk.ok(&["alerts", "list"]));
    assert!(list.contains("ntfy FAILED"), "{list}");
    assert!(
        list.contains("ntfy: HTTP 400 Bad Request: invalid request: topic invalid (code 40010)"),
        "{list}"
    );
    assert!(!list.contains("tk_secret"), "{list}");
    assert_eq!(delivery(&store, id).state, DeliveryState::Failed);
}
