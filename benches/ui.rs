//! The controller path of a wrong PIN while the kiosk is busy: the camera capturing at
//! 15 fps, the alert worker draining a backlog to a slow local HTTP endpoint, and a
//! thread writing to the same database every 5 ms.
//!
//! - "tap OK → frame with feedback": the keypad's OK tapped through its adapter and the
//!   next frame rendered by the software renderer at 800×480 (it shows "Checking…").
//!   This is what a person sees at once; it must fit in one frame (16.7 ms at 60 Hz).
//! - "wrong PIN verdict": the kiosk core's whole answer to a wrong PIN (Argon2id of the
//!   PIN, the index probe, the access rules, the state, audit and alert rows committed,
//!   the sharpest of a 5-frame burst from the pre-roll) — the time until the "Wrong PIN"
//!   screen; it runs on the core's thread, never on the UI's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use doorguard::alerts::channels::webhook::{Webhook, WebhookSettings};
use doorguard::alerts::outbox::{Outbox, OutboxWorker};
use doorguard::config::Settings;
use doorguard::hw::camera::Camera;
use doorguard::hw::gpio::Gpio;
use doorguard::kiosk::{Core, CoreThread, Parts};
use doorguard::store::Store;
use doorguard::ui::admin::Delivery;
use doorguard::ui::headless::Display;
use doorguard::ui::{AppWindow, IdleAdapter};
use doorguard::vault::{KdfParams, Passphrase};
use slint::ComponentHandle;

fn settings() -> Settings {
    let mut s = Settings::simulated();
    // Every tap is a wrong PIN here: no lockout gets in the way of measuring.
    s.access.threshold = 1_000_000;
    s.access.hard_lock_after = 2_000_000;
    s
}

/// A local endpoint that takes 10 ms per request, like a slow network.
fn slow_endpoint() -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("a local HTTP server");
    let url = format!("http://{}/hook", server.server_addr());
    thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let _ = std::io::copy(request.as_reader(), &mut std::io::sink());
            thread::sleep(Duration::from_millis(10));
            let _ = request.respond(tiny_http::Response::from_string("{}"));
        }
    });
    url
}

/// A kiosk database with a backlog of alerts for the webhook.
fn busy_database(path: &std::path::Path) {
    let mut store = Store::open(path).expect("open");
    let pass = Passphrase::parse("correct horse battery").expect("passphrase");
    store
        .initialize("alice", &pass, KdfParams::OWASP_MINIMUM, Utc::now())
        .expect("init");
    let policy = Settings::defaults().access;
    for _ in 0..300 {
        let mut machine = doorguard::access::AccessMachine::new(policy.clone());
        for _ in 0..3 {
            let commands = machine.handle(
                doorguard::access::Event::Pin(doorguard::access::PinOutcome::Wrong),
                Utc::now(),
            );
            store
                .record_access_outcome(&machine, &commands, Utc::now())
                .expect("record");
        }
    }
}

fn wrong_pin(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("kiosk.db");
    busy_database(&db);
    let s = settings();

    let display = Display::install().expect("headless display");
    display.resize(800, 480);
    let app = AppWindow::new().expect("window");
    let gpio = Gpio::start(&s.gpio, |_| {}).expect("gpio");
    let (camera, _) = Camera::start(&s.camera, |_| {}).expect("camera");
    assert!(camera.handle().wait_until_ready(Duration::from_secs(10)));
    thread::sleep(Duration::from_millis(1500));

    // Busy: the outbox drains 300 alerts to a slow endpoint; a writer never stops.
    let webhook = Webhook::new(
        &WebhookSettings {
            url: slow_endpoint(),
            timeout: Duration::from_secs(10),
        },
        None,
    )
    .expect("webhook");
    let outbox = OutboxWorker::start(
        db.clone(),
        Outbox::new(vec![Box::new(webhook)], Duration::from_secs(86400)),
    )
    .expect("outbox");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), Arc::clone(&stop));
        thread::spawn(move || {
            let mut store = Store::open(&db).expect("open");
            // A write every 5 ms, each its own fsync'd transaction: far busier than a
            // kiosk's database ever is, but leaving the lock free between writes as
            // every writer of the kiosk does.
            while !stop.load(Ordering::Relaxed) {
                let _ = store.audit(Utc::now(), "door_closed", None, None, "bench");
                thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let mut store = Store::open(&db).expect("open");
    // Alerts raised above are prepared now, with one delivery each for the webhook.
    let prepared = doorguard::alerts::prepare_pending(
        &mut store,
        &doorguard::alerts::Preparation {
            kiosk: "Bench door",
            place: None,
            public_ip: &doorguard::alerts::netinfo::PublicIp::new(None),
            channels: &["webhook"],
            evidence_retention: Duration::from_secs(86400),
        },
        |_| Vec::new(),
        Utc::now,
    )
    .expect("prepare");
    assert_eq!(prepared.len(), 300);
    outbox.wake();

    let parts = |outbox| Parts {
        gpio: gpio.handle(),
        camera: Some(camera.handle()),
        speaker: None,
        outbox,
    };
    let (core, _) = Core::open(
        s.clone(),
        store,
        parts(Some(outbox)),
        vec!["webhook"],
        Utc::now(),
    )
    .expect("core");
    let core = std::rc::Rc::new(CoreThread::start(core, |_| {}).expect("core thread"));
    let sender = std::rc::Rc::clone(&core);
    // As on the kiosk, where the keypad waits while a PIN is checked, at most one PIN
    // is with the core at a time; the taps in between are measured all the same.
    let checking = Arc::new(AtomicBool::new(false));
    let (_door, _admin) = doorguard::ui::connect(
        &app,
        std::rc::Rc::new(move |request| {
            if checking.swap(true, Ordering::SeqCst) {
                return true;
            }
            let done = Arc::clone(&checking);
            sender.send(request)
                && sender.send(doorguard::kiosk::Request::Job(Box::new(move |_| {
                    done.store(false, Ordering::SeqCst);
                })))
        }),
        Delivery::EventLoop,
        Some(camera.handle()),
        gpio.handle(),
        false,
    );
    display.draw().expect("first frame");

    let mut group = c.benchmark_group("wrong PIN while busy");
    group.bench_function("tap OK → frame with feedback (800×480)", |b| {
        let idle = app.global::<IdleAdapter>();
        b.iter_batched(
            || {
                idle.set_checking(false);
                for d in "111111".chars() {
                    idle.invoke_digit(d.to_string().into());
                }
            },
            |()| {
                idle.invoke_submit();
                assert!(idle.get_checking());
                display.draw().expect("frame")
            },
            BatchSize::PerIteration,
        );
    });

    // The verdict on a core of its own (same database, camera and GPIO), timed inline.
    let (mut verdict, _) = Core::open(
        s.clone(),
        Store::open(&db).expect("open"),
        parts(None),
        vec!["webhook"],
        Utc::now(),
    )
    .expect("core");
    group.bench_function(
        "wrong PIN verdict (hash, rules, commit, 5-frame burst)",
        |b| {
            b.iter(|| verdict.pin("111111", Instant::now(), Utc::now()));
        },
    );
    group.finish();
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
}

criterion_group!(benches, wrong_pin);
criterion_main!(benches);
