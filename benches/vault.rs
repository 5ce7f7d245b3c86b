//! Benchmarks of the store and vault at production Argon2id parameters (OWASP's
//! minimum): an admin unlock with decryption of 10,000 people, one PIN lookup among
//! 10,000 people, and one enrollment commit. Figures go into the README.

use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use doorguard::person::PersonDetails;
use doorguard::store::{NewPerson, Store};
use doorguard::vault::{KdfParams, Passphrase, Pin, PinHash, random_bytes};

const PEOPLE: usize = 10_000;
const PASSPHRASE: &str = "benchmark passphrase";

fn person(i: usize, pin: PinHash) -> NewPerson {
    let details = PersonDetails::new(
        &format!("Person Number {i:05}"),
        Some(&format!("person{i}@example.org")),
        Some(&format!("+4915{i:09}")),
        Some("benchmark"),
    )
    .expect("valid details");
    NewPerson {
        details,
        photo: None,
        pin,
        duress: None,
    }
}

/// A kiosk with 10,000 people. Their PIN hashes are random 32-byte values (what an
/// Argon2id output looks like), except person 0, whose PIN is `135790`: hashing 10,000
/// real PINs would take the bench twenty minutes and change nothing about the lookup.
fn kiosk() -> (tempfile::TempDir, Store, doorguard::ids::AdminId) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&dir.path().join("bench.db")).expect("open");
    let pass = Passphrase::parse(PASSPHRASE).expect("passphrase");
    let (admin, _) = store
        .initialize("bench", &pass, KdfParams::OWASP_MINIMUM, Utc::now())
        .expect("init");
    let session = store.unlock(admin, &pass).expect("unlock");
    let real = store
        .pin_hasher()
        .expect("hasher")
        .hash(&Pin::parse("135790").expect("pin"))
        .expect("hash");
    let people: Vec<NewPerson> = (0..PEOPLE)
        .map(|i| {
            person(
                i,
                if i == 0 {
                    real
                } else {
                    PinHash(random_bytes().expect("random"))
                },
            )
        })
        .collect();
    store
        .add_people(&session, &people, Utc::now())
        .expect("enroll");
    (dir, store, admin)
}

fn benches(c: &mut Criterion) {
    let (_dir, mut store, admin) = kiosk();
    let pass = Passphrase::parse(PASSPHRASE).expect("passphrase");

    c.bench_function("admin unlock + decrypt 10,000 people", |b| {
        b.iter(|| {
            let session = store.unlock(admin, &pass).expect("unlock");
            let people = store.people(&session).expect("people");
            assert!(people.len() == PEOPLE && people.iter().all(Result::is_ok));
            black_box(people)
        })
    });

    let pin = Pin::parse("135790").expect("pin");
    c.bench_function(
        "PIN lookup among 10,000 people (one Argon2id + index)",
        |b| {
            b.iter(|| {
                let hasher = store.pin_hasher().expect("hasher");
                let found = store
                    .find_pin(&hasher.hash(&pin).expect("hash"))
                    .expect("lookup");
                assert!(found.is_some());
                black_box(found)
            })
        },
    );

    let session = store.unlock(admin, &pass).expect("unlock");
    let mut n = PEOPLE;
    c.bench_function("enrollment commit (seal + insert + fsync)", |b| {
        b.iter(|| {
            n += 1;
            let hash = PinHash(random_bytes().expect("random"));
            black_box(
                store
                    .add_person(&session, &person(n, hash), Utc::now())
                    .expect("enroll"),
            )
        })
    });
}

criterion_group! {
    name = vault;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(vault);
