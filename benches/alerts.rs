//! Benchmarks of the alert path with real servers on loopback: a lockout (three wrong
//! PINs through the access rules and the store) until the local SMTP server (Debian's
//! aiosmtpd) has accepted the e-mail with its photo; and 1,000 queued alerts drained
//! by the outbox to a local HTTP endpoint through the signed webhook channel. Figures
//! go into the README.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use doorguard::access::{AccessMachine, Event, PinOutcome};
use doorguard::alerts::channels::email::{Email, EmailSettings};
use doorguard::alerts::channels::webhook::{Webhook, WebhookSettings};
use doorguard::alerts::netinfo::PublicIp;
use doorguard::alerts::outbox::Outbox;
use doorguard::alerts::{AlertPhoto, Preparation, prepare_pending};
use doorguard::config::{SecretValue, Settings};
use doorguard::hw::camera::sample_picture;
use doorguard::store::Store;
use doorguard::vault::{KdfParams, Passphrase};

const QUEUED: usize = 1000;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// aiosmtpd on loopback, discarding what it receives (the `Sink` handler).
struct Smtp(Child, u16);

impl Smtp {
    fn start() -> Smtp {
        let port = free_port();
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Sink"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3-aiosmtpd (./.ci/setup installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            thread::sleep(Duration::from_millis(20));
        }
        Smtp(child, port)
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A local endpoint answering every request with 200, as a webhook receiver would.
fn http_endpoint() -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("a local HTTP server");
    let url = format!("http://{}/hook", server.server_addr());
    thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let _ = std::io::copy(request.as_reader(), &mut std::io::sink());
            let _ = request.respond(tiny_http::Response::from_string("{\"ok\":true}"));
        }
    });
    url
}

fn initialized(path: &Path) -> Store {
    let mut store = Store::open(path).expect("open");
    let pass = Passphrase::parse("correct horse battery").expect("passphrase");
    store
        .initialize("alice", &pass, KdfParams::OWASP_MINIMUM, Utc::now())
        .expect("init");
    store
}

/// Three wrong PINs through the access rules, recorded: the lockout alert is raised.
fn lockout(store: &mut Store) {
    let mut machine = AccessMachine::new(Settings::defaults().access);
    let start = Utc::now();
    for i in 0..3 {
        let now = start + TimeDelta::milliseconds(i);
        let commands = machine.handle(Event::Pin(PinOutcome::Wrong), now);
        store
            .record_access_outcome(&machine, &commands, now)
            .expect("record");
    }
}

fn photo(width: u32, height: u32) -> AlertPhoto {
    sample_picture(width, height, 85)
        .expect("the sample picture")
        .into()
}

fn prepare(store: &mut Store, photo: &AlertPhoto, channels: &[&str]) -> usize {
    let public_ip = PublicIp::new(None);
    let how = Preparation {
        kiosk: "Bench door",
        place: None,
        public_ip: &public_ip,
        channels,
        evidence_retention: Duration::from_secs(90 * 86400),
    };
    prepare_pending(store, &how, |_| vec![photo.clone()], Utc::now)
        .expect("prepare")
        .len()
}

fn lockout_to_email(c: &mut Criterion) {
    let smtp = Smtp::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = initialized(&dir.path().join("bench.db"));
    let email = Email::new(&EmailSettings {
        server: format!("smtp://127.0.0.1:{}", smtp.1),
        from: "Bench door <kiosk@example.org>".into(),
        to: vec!["owner@example.org".into()],
        username: None,
        password: None,
        timeout: Duration::from_secs(10),
    })
    .expect("e-mail channel");
    let mut outbox = Outbox::new(vec![Box::new(email)], Duration::from_secs(86400));
    let photo = photo(1280, 720);

    let mut group = c.benchmark_group("alerts");
    group.sample_size(30);
    group.bench_function(
        "lockout event → e-mail accepted by local SMTP (1280×720 photo)",
        |b| {
            b.iter(|| {
                lockout(&mut store);
                assert_eq!(prepare(&mut store, &photo, &["email"]), 1);
                let reports = outbox.deliver_due(&mut store, &Utc::now).expect("deliver");
                assert!(
                    reports.len() == 1 && reports[0].outcome.is_ok(),
                    "{reports:?}"
                );
            });
        },
    );
    group.finish();
}

fn drain_thousand(c: &mut Criterion) {
    let url = http_endpoint();
    let dir = tempfile::tempdir().expect("temp dir");
    let template = dir.path().join("queued.db");
    let queued = {
        let mut store = initialized(&template);
        let small = photo(320, 240);
        for _ in 0..QUEUED {
            lockout(&mut store);
            prepare(&mut store, &small, &["webhook"]);
        }
        store
    };
    let webhook = WebhookSettings {
        url,
        timeout: Duration::from_secs(10),
    };

    let mut group = c.benchmark_group("alerts");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.bench_function(
        "1,000 queued alerts drained to a local HTTP endpoint (webhook, 320×240 photo)",
        |b| {
            b.iter_batched(
                || {
                    let copy = dir.path().join("run.db");
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
                    }
                    queued.backup(&copy).expect("copy the queue");
                    let channel = Webhook::new(&webhook, Some(SecretValue::new("bench-secret")))
                        .expect("webhook");
                    let outbox = Outbox::new(vec![Box::new(channel)], Duration::from_secs(86400));
                    (Store::open(&copy).expect("open"), outbox)
                },
                |(mut store, mut outbox)| {
                    let mut sent = 0;
                    loop {
                        let reports = outbox.deliver_due(&mut store, &Utc::now).expect("deliver");
                        if reports.is_empty() {
                            break;
                        }
                        sent += reports.iter().filter(|r| r.outcome.is_ok()).count();
                    }
                    assert_eq!(sent, QUEUED);
                },
                BatchSize::PerIteration,
            );
        },
    );
    group.finish();
}

criterion_group!(benches, lockout_to_email, drain_thousand);
criterion_main!(benches);
