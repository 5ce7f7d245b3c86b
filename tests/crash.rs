//! Power-cut safety: enrollment killed with SIGKILL at random moments never corrupts the
//! database nor leaves a half-imported person or batch.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{Kiosk, stderr, stdout};

const PEOPLE: usize = 1000;
const BATCH: usize = 50;
const KILLS: usize = 20;

/// A small deterministic generator; the seed is printed so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn batch_csv(k: &Kiosk, batch: usize) -> std::path::PathBuf {
    let mut text = String::from("name,email,phone,notes,pin,duress_pin\n");
    for i in batch * BATCH..(batch + 1) * BATCH {
        text.push_str(&format!(
            "Person {i:04},person{i}@example.org,,,{:06},\n",
            200_000 + i
        ));
    }
    k.file(&format!("batch{batch}.csv"), &text)
}

/// Checks the database after a kill and returns the names that decrypt.
fn check(k: &Kiosk) -> BTreeSet<String> {
    let conn = rusqlite::Connection::open(&k.db).unwrap();
    let answer: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(answer, "ok", "integrity_check after SIGKILL");
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM people", [], |r| r.get(0))
        .unwrap();
    let pins: i64 = conn
        .query_row("SELECT count(*) FROM pins", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, pins, "every person has exactly one PIN");
    drop(conn);

    let out = k.ok(&[
        "users",
        "list",
        "--json",
        "--passphrase-file",
        k.passphrase_arg(),
    ]);
    let people: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(people.len() as i64, rows, "every committed person decrypts");
    let names: BTreeSet<String> = people
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    for batch in 0..PEOPLE / BATCH {
        let present = (batch * BATCH..(batch + 1) * BATCH)
            .filter(|i| names.contains(&format!("Person {i:04}")))
            .count();
        assert!(
            present == 0 || present == BATCH,
            "batch {batch} is half imported: {present} of {BATCH}"
        );
    }
    names
}

/// The WAL's size and modification time, or `None` while it does not exist.
fn wal_state(k: &Kiosk) -> Option<(u64, std::time::SystemTime)> {
    let meta = std::fs::metadata(k.db.with_extension("db-wal")).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// Waits until the importer starts writing its transaction to the WAL (SQLite writes
/// the pages at commit), then lets up to `jitter_us` pass. False if it exited first.
fn wait_for_commit(
    k: &Kiosk,
    child: &mut std::process::Child,
    before: Option<(u64, std::time::SystemTime)>,
    jitter_us: u64,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let now = wal_state(k);
        if now.is_some_and(|(len, _)| len > 0) && now != before {
            std::thread::sleep(Duration::from_micros(jitter_us));
            return true;
        }
        if matches!(child.try_wait(), Ok(Some(_))) {
            return false;
        }
        std::thread::sleep(Duration::from_micros(50));
    }
    false
}

#[test]
fn sigkill_during_enrollment_leaves_a_consistent_database() {
    let (k, _) = Kiosk::initialized();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}");
    let mut rng = XorShift(seed);

    // How long one batch takes here, to spread the kills over its whole run.
    let started = Instant::now();
    k.ok(&[
        "users",
        "import",
        batch_csv(&k, 0).to_str().unwrap(),
        "--passphrase-file",
        k.passphrase_arg(),
    ]);
    let batch_time = started.elapsed().as_millis().max(50) as u64;
    let mut done = 1;
    let (mut kills, mut at_commit, mut interrupted) = (0, 0, 0);
    while done < PEOPLE / BATCH {
        let csv = batch_csv(&k, done);
        let before = wal_state(&k);
        let mut child = k
            .command(&[
                "users",
                "import",
                csv.to_str().unwrap(),
                "--passphrase-file",
                k.passphrase_arg(),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if kills < KILLS {
            // Half the kills at a random moment of the whole run (start-up, Argon2id,
            // writing), half the moment the commit starts reaching the WAL.
            if kills % 2 == 0 {
                std::thread::sleep(Duration::from_millis(rng.below(batch_time * 11 / 10)));
            } else if wait_for_commit(&k, &mut child, before, rng.below(3000)) {
                at_commit += 1;
            }
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
            kills += 1;
            let names = check(&k);
            if names.contains(&format!("Person {:04}", done * BATCH)) {
                done += 1; // it had committed before the kill
            } else {
                interrupted += 1; // killed before its commit: retried
            }
        } else {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
            done += 1;
        }
    }
    assert_eq!(kills, KILLS);
    println!(
        "{interrupted} of {KILLS} kills landed before the commit; {at_commit} while it was being written"
    );
    assert!(
        interrupted > 0,
        "no kill interrupted an import; the test proved nothing"
    );
    assert!(
        at_commit > 0,
        "no kill landed while a commit was being written"
    );
    let names = check(&k);
    assert_eq!(names.len(), PEOPLE);
}
