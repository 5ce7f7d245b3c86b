//! The outbox worker killed with SIGKILL in the middle of a delivery, then started
//! again: every alert reaches the server, and nothing the server had already answered
//! is sent again. The worker is the real binary (`doorguard alerts deliver`), the
//! server a local one that answers like ntfy.

mod common;

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::alerts::{photo, prepare_at, raise_lockout_at};
use common::http::{listener, ok, serve};
use common::{Kiosk, stderr, stdout};
use doorguard::store::{DeliveryState, Store};

const ALERTS: usize = 6;
/// The request the server holds unanswered until the worker has been killed.
const HELD: usize = 2;

/// The alert id a request carries, from the attachment's name `doorguard-{id}.jpg`.
fn alert_id(filename: Option<&str>) -> i64 {
    filename
        .and_then(|f| {
            f.strip_prefix("doorguard-")?
                .strip_suffix(".jpg")?
                .parse()
                .ok()
        })
        .expect("X-Filename names the alert")
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_worker_killed_mid_delivery_resumes_and_delivers_every_alert() {
    let (kiosk, _code) = Kiosk::initialized();
    let mut ids = Vec::new();
    {
        let mut store = Store::open(&kiosk.db).unwrap();
        for n in 0..ALERTS {
            let id = raise_lockout_at(&mut store, Utc::now());
            prepare_at(&mut store, id, &[photo(n as u8)], &["ntfy"], Utc::now());
            ids.push(id);
        }
    }

    // The server answers at once, except request HELD, which waits for the test.
    let (release, held) = mpsc::channel::<()>();
    let held = Mutex::new(held);
    let answered = Arc::new(Mutex::new(Vec::<i64>::new()));
    let answered_log = Arc::clone(&answered);
    let (socket, base_url) = listener();
    let received = serve(socket, move |n, request| {
        if n == HELD {
            let _ = held.lock().unwrap().recv();
        }
        answered_log
            .lock()
            .unwrap()
            .push(alert_id(request.header("X-Filename")));
        ok(serde_json::json!({"id": format!("msg{n}"), "event": "message", "topic": "door"}))
    });
    kiosk.file(
        "config.toml",
        &format!(
            "[kiosk]\nname = \"Test door\"\n[alerts]\npublic_ip_url = \"\"\n\
             [ntfy]\nenabled = true\nbase_url = \"{base_url}\"\ntopic = \"door\"\n"
        ),
    );

    let mut worker = kiosk
        .command(&["alerts", "deliver", "--follow"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the worker");
    wait_until("the held request", || received.lock().unwrap().len() > HELD);

    // A second worker on the same database is refused while the first runs.
    let second = kiosk.run(&["alerts", "deliver"]);
    assert_eq!(second.status.code(), Some(1), "{}", stdout(&second));
    assert!(
        stderr(&second).contains("already sending the alerts"),
        "{}",
        stderr(&second)
    );

    worker.kill().expect("SIGKILL");
    worker.wait().unwrap();
    let in_flight = alert_id(received.lock().unwrap()[HELD].header("X-Filename"));
    release.send(()).unwrap();
    wait_until("the held answer", || answered.lock().unwrap().len() > HELD);

    let again = kiosk.run(&["alerts", "deliver"]);
    assert!(
        again.status.success(),
        "{}\n{}",
        stdout(&again),
        stderr(&again)
    );
    assert!(
        stdout(&again).contains("nothing left in the queue"),
        "{}",
        stdout(&again)
    );

    let store = Store::open(&kiosk.db).unwrap();
    for &id in &ids {
        let alert = store.alert(id).unwrap().unwrap();
        assert_eq!(alert.deliveries[0].state, DeliveryState::Sent, "alert {id}");
    }
    let mut times: BTreeMap<i64, usize> = BTreeMap::new();
    for request in received.lock().unwrap().iter() {
        *times
            .entry(alert_id(request.header("X-Filename")))
            .or_default() += 1;
    }
    assert_eq!(
        times.keys().copied().collect::<Vec<_>>(),
        ids,
        "every alert reached the server"
    );
    for (id, count) in &times {
        if *id == in_flight {
            // The try the kill interrupted: the server got it, the worker never
            // learned so, and sends it again with the same alert id.
            assert_eq!(*count, 2, "alert {id}, in flight at the kill");
        } else {
            assert_eq!(*count, 1, "alert {id} was sent twice");
        }
    }
}
