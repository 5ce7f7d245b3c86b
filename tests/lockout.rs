//! A lockout survives closing and reopening the database (a restart or a power cut),
//! and the administrator clears it from the command line with a passphrase or the
//! recovery code.

mod common;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::{Kiosk, stderr, stdout};
use doorguard::access::{AccessMachine, Event, PinOutcome, Policy};
use doorguard::store::Store;

fn three_wrong_pins(store: &mut Store, at: chrono::DateTime<Utc>) {
    let mut machine = AccessMachine::new(Policy::default());
    for i in 0..3 {
        let now = at + chrono::TimeDelta::seconds(i);
        let commands = machine.handle(Event::Pin(PinOutcome::Wrong), now);
        store
            .record_access_outcome(&machine, &commands, now)
            .unwrap();
    }
    assert!(!machine.keypad_open(at + chrono::TimeDelta::seconds(2)));
}

/// Opens the store and restores the access rules from it, as a restarted kiosk does.
fn restored(k: &Kiosk, policy: Policy) -> (Store, AccessMachine) {
    let store = Store::open(&k.db).unwrap();
    let snapshot = store.access_snapshot().unwrap().expect("state was saved");
    let machine = AccessMachine::restore(policy, snapshot, Utc::now());
    (store, machine)
}

#[test]
fn a_lockout_survives_reopening_the_store_with_its_remaining_time() {
    let (k, _) = Kiosk::initialized();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
    {
        let mut store = Store::open(&k.db).unwrap();
        three_wrong_pins(&mut store, t0);
    } // closed, as by a power cut after the commit

    let store = Store::open(&k.db).unwrap();
    let snapshot = store.access_snapshot().unwrap().expect("state was saved");
    let now = t0 + chrono::TimeDelta::seconds(12); // the lockout began at t0 + 2 s
    let machine = AccessMachine::restore(Policy::default(), snapshot, now);
    assert!(
        !machine.keypad_open(now),
        "still locked out after the restart"
    );
    assert_eq!(
        machine.lockout_remaining(now),
        Some(Duration::from_secs(20))
    );
    let after = t0 + chrono::TimeDelta::seconds(33);
    assert!(machine.lockout_remaining(after).is_none());

    let audit = store.recent_audit(10).unwrap();
    let kinds: Vec<&str> = audit.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"lockout_started"), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| **k == "wrong_pin").count(),
        3,
        "{kinds:?}"
    );
}

#[test]
fn unlock_clears_a_lockout_with_the_passphrase_or_the_recovery_code() {
    let (k, code) = Kiosk::initialized();
    let out = k.ok(&["unlock", "--passphrase-file", k.passphrase_arg()]);
    assert!(stdout(&out).contains("No lockout"), "{}", stdout(&out));

    for how in ["passphrase", "recovery"] {
        three_wrong_pins(&mut Store::open(&k.db).unwrap(), Utc::now());
        let out = match how {
            "passphrase" => k.ok(&["unlock", "--passphrase-file", k.passphrase_arg()]),
            _ => {
                let file = k.file("code", &code);
                k.ok(&["unlock", "--recovery-code-file", file.to_str().unwrap()])
            }
        };
        assert!(
            stdout(&out).contains("Lockout cleared"),
            "{how}: {}",
            stdout(&out)
        );
        let (_, machine) = restored(&k, Policy::default());
        assert!(
            machine.keypad_open(Utc::now()),
            "{how}: the keypad is open again"
        );
        assert_eq!(machine.consecutive_failures(), 0);
    }

    let wrong = k.file("wrong-code", "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01");
    three_wrong_pins(&mut Store::open(&k.db).unwrap(), Utc::now());
    let out = k.run(&["unlock", "--recovery-code-file", wrong.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let (_, machine) = restored(&k, Policy::default());
    assert!(
        !machine.keypad_open(Utc::now()),
        "a wrong code clears nothing"
    );
}

#[test]
fn a_hard_lock_needs_the_recovery_code_or_an_admin() {
    let (k, code) = Kiosk::initialized();
    let policy = Policy::default();
    let mut store = Store::open(&k.db).unwrap();
    let mut machine = AccessMachine::new(policy.clone());
    let mut now = Utc::now() - chrono::TimeDelta::days(2);
    // 100 wrong PINs, each after the previous lockout has run out.
    for _ in 0..policy.hard_lock_after {
        if let Some(left) = machine.lockout_remaining(now) {
            now += chrono::TimeDelta::from_std(left).unwrap() + chrono::TimeDelta::seconds(1);
            let commands = machine.handle(Event::Tick, now);
            store
                .record_access_outcome(&machine, &commands, now)
                .unwrap();
        }
        let commands = machine.handle(Event::Pin(PinOutcome::Wrong), now);
        store
            .record_access_outcome(&machine, &commands, now)
            .unwrap();
        now += chrono::TimeDelta::seconds(1);
    }
    assert!(machine.is_hard_locked());
    drop(store);

    let file = k.file("code", &code);
    let out = k.ok(&["unlock", "--recovery-code-file", file.to_str().unwrap()]);
    assert!(
        stdout(&out).contains("Hard lock cleared"),
        "{}",
        stdout(&out)
    );
    let (store, machine) = restored(&k, policy);
    assert!(!machine.is_hard_locked());
    assert!(
        store
            .recent_audit(5)
            .unwrap()
            .iter()
            .any(|e| e.kind == "lockout_cleared")
    );
}

#[test]
fn wrong_passphrases_at_the_shell_count_as_failed_attempts() {
    let (k, _) = Kiosk::initialized();
    let wrong = k.file("wrong", "not the passphrase\n");
    for _ in 0..3 {
        let out = k.run(&["audit", "--limit", "1"]);
        assert!(out.status.success());
        let out = k.run(&[
            "users",
            "list",
            "--passphrase-file",
            wrong.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    }
    let (store, machine) = restored(&k, Policy::default());
    assert!(
        !machine.keypad_open(Utc::now()),
        "three wrong passphrases lock the kiosk out"
    );
    let kinds: Vec<String> = store
        .recent_audit(10)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.iter().any(|k| k == "lockout_started"), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| *k == "admin_login_failed").count(),
        3,
        "{kinds:?}"
    );
    drop(store);
    let conn = rusqlite::Connection::open(&k.db).unwrap();
    let alert: (String, i64) = conn
        .query_row("SELECT kind, attempts FROM alerts", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(
        alert,
        ("lockout".to_string(), 3),
        "the lockout alert is in the outbox"
    );
}
