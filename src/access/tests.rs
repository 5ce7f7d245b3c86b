//! Unit tests of the access rules, with explicit times.

use std::time::Duration;

use chrono::{TimeDelta, TimeZone, Utc};

use super::*;

const ALICE: PersonId = PersonId(7);
const BOB: PersonId = PersonId(8);
const ROOT: AdminId = AdminId(1);
const OTHER_ADMIN: AdminId = AdminId(2);

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}

/// `t0` plus `secs` seconds (negative: before).
fn at(secs: i64) -> Timestamp {
    t0() + TimeDelta::seconds(secs)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn machine() -> AccessMachine {
    AccessMachine::new(Policy::default())
}

fn wrong(m: &mut AccessMachine, now: Timestamp) -> Vec<Command> {
    m.handle(Event::Pin(PinOutcome::Wrong), now)
}

fn grant(m: &mut AccessMachine, person: PersonId, now: Timestamp) -> Vec<Command> {
    m.handle(Event::Pin(PinOutcome::Granted(person)), now)
}

fn alerts(cmds: &[Command]) -> Vec<AlertKind> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Alert(a) => Some(a.kind),
            _ => None,
        })
        .collect()
}

fn audits(cmds: &[Command]) -> Vec<AuditKind> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Audit(r) => Some(r.kind),
            _ => None,
        })
        .collect()
}

fn screens(cmds: &[Command]) -> Vec<Screen> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Show(s) => Some(*s),
            _ => None,
        })
        .collect()
}

fn lockout_until(cmds: &[Command]) -> Option<Timestamp> {
    screens(cmds).into_iter().find_map(|s| match s {
        Screen::Lockout { until, .. } => Some(until),
        _ => None,
    })
}

/// Enters `threshold` wrong PINs one second apart from `start`; returns the commands of
/// the last one and the lockout's end.
fn lock_out(m: &mut AccessMachine, start: Timestamp) -> (Vec<Command>, Timestamp) {
    let threshold = m.policy().threshold;
    let mut last = Vec::new();
    for i in 0..threshold {
        last = wrong(m, start + TimeDelta::seconds(i64::from(i)));
    }
    let until = lockout_until(&last).expect("the last failure starts a lockout");
    (last, until)
}

/// The invariant of `Persist`: at most once, first, and exactly when the snapshot changed.
fn handle_checked(m: &mut AccessMachine, event: Event, now: Timestamp) -> Vec<Command> {
    let before = m.snapshot();
    let cmds = m.handle(event, now);
    let persists = cmds.iter().filter(|c| **c == Command::Persist).count();
    let changed = m.snapshot() != before;
    assert_eq!(
        persists,
        usize::from(changed),
        "{event:?} at {now}: {cmds:?}"
    );
    if changed {
        assert_eq!(
            cmds[0],
            Command::Persist,
            "{event:?}: Persist must come first"
        );
    }
    cmds
}

// ---- Failed attempts and lockout ----------------------------------------------------

#[test]
fn threshold_reached_inside_window_locks_out() {
    let mut m = machine();

    let first = wrong(&mut m, at(0));
    assert_eq!(first[0], Command::Persist);
    assert!(first.contains(&Command::Buzzer {
        pattern: Pattern::Wrong,
        duration: None
    }));
    assert!(first.contains(&Command::Capture(CaptureReason::FailedAttempt)));
    assert_eq!(
        screens(&first),
        [Screen::Wrong {
            failures_in_window: 1,
            remaining_before_lockout: 2
        }]
    );
    assert_eq!(audits(&first), [AuditKind::WrongPin]);

    let second = wrong(&mut m, at(60));
    assert_eq!(
        screens(&second),
        [Screen::Wrong {
            failures_in_window: 2,
            remaining_before_lockout: 1
        }]
    );
    assert!(m.keypad_open(at(60)));

    let third = wrong(&mut m, at(120));
    assert_eq!(
        third,
        [
            Command::Persist,
            Command::HoldRelaySecure,
            Command::Buzzer {
                pattern: Pattern::LockoutAlarm,
                duration: Some(secs(10))
            },
            Command::Speak(Speech::LockoutWarning),
            Command::Capture(CaptureReason::Lockout),
            Command::Alert(Alert {
                kind: AlertKind::Lockout,
                attempts: 3
            }),
            Command::Show(Screen::Lockout {
                until: at(150),
                attempts: 3
            }),
            third[7].clone(),
            third[8].clone(),
        ]
    );
    assert_eq!(
        audits(&third),
        [AuditKind::WrongPin, AuditKind::LockoutStarted]
    );
    assert!(!m.keypad_open(at(120)));
    assert!(!m.admin_login_open(at(120)));
    assert_eq!(m.lockout_remaining(at(120)), Some(secs(30)));
    assert_eq!(m.lockout_remaining(at(140)), Some(secs(10)));
    assert_eq!(m.next_deadline(), Some(at(150)));
    // The window's failures were consumed by the lockout; the consecutive count is not.
    assert_eq!(m.failures_in_window(at(120)), 0);
    assert_eq!(m.consecutive_failures(), 3);
}

#[test]
fn failures_spread_outside_the_window_do_not_lock_out() {
    let mut m = machine();
    // 160 s apart: never three inside five minutes.
    for i in 0..6 {
        let cmds = wrong(&mut m, at(i * 160));
        assert!(alerts(&cmds).is_empty(), "failure {i}: {cmds:?}");
        assert!(lockout_until(&cmds).is_none());
    }
    assert!(m.keypad_open(at(800)));
    assert_eq!(m.failures_in_window(at(800)), 2);
    assert_eq!(m.consecutive_failures(), 6);
}

#[test]
fn a_failure_exactly_one_window_old_no_longer_counts() {
    let mut m = machine();
    wrong(&mut m, at(0));
    wrong(&mut m, at(100));
    let cmds = wrong(&mut m, at(300));
    assert_eq!(
        screens(&cmds),
        [Screen::Wrong {
            failures_in_window: 2,
            remaining_before_lockout: 1
        }]
    );
    let cmds = wrong(&mut m, at(399));
    assert!(lockout_until(&cmds).is_some());
}

#[test]
fn lockout_ends_on_the_first_tick_at_its_end() {
    let mut m = machine();
    let (_, until) = lock_out(&mut m, at(0));
    assert_eq!(until, at(2 + 30));

    assert!(m.handle(Event::Tick, at(31)).is_empty());
    assert!(!m.keypad_open(at(31)));

    let end = m.handle(Event::Tick, at(32));
    assert_eq!(end[0], Command::Persist);
    assert!(end.contains(&Command::ReleaseRelayHold));
    assert_eq!(screens(&end), [Screen::Idle]);
    assert_eq!(audits(&end), [AuditKind::LockoutEnded]);
    assert!(m.keypad_open(at(32)));
    assert_eq!(m.lockout_remaining(at(32)), None);
    assert_eq!(m.next_deadline(), None);
    assert!(m.handle(Event::Tick, at(33)).is_empty());
}

#[test]
fn lockouts_progress_30_60_120_and_cap_at_one_hour() {
    let mut m = machine();
    let expected = [30, 60, 120, 240, 480, 960, 1920, 3600, 3600];
    let mut now = at(0);
    for (step, want) in expected.into_iter().enumerate() {
        let (_, until) = lock_out(&mut m, now);
        let started = now + TimeDelta::seconds(2);
        assert_eq!(
            m.lockout_remaining(started),
            Some(secs(want)),
            "lockout {}",
            step + 1
        );
        assert_eq!(
            until,
            started + TimeDelta::seconds(i64::try_from(want).unwrap())
        );
        let end = m.handle(Event::Tick, until);
        assert!(end.contains(&Command::ReleaseRelayHold));
        now = until + TimeDelta::seconds(1);
    }
    assert_eq!(m.consecutive_failures(), 27);
}

#[test]
fn lockout_durations_from_the_policy() {
    let p = Policy::default();
    let lengths: Vec<u64> = (0..10).map(|l| p.lockout_duration(l).as_secs()).collect();
    assert_eq!(
        lengths,
        [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    );
    assert_eq!(p.lockout_duration(u32::MAX), secs(3600));

    let flat = Policy {
        lockout_factor: 1,
        ..Policy::default()
    };
    assert_eq!(flat.lockout_duration(u32::MAX), secs(30));
    let zero = Policy {
        lockout_factor: 0,
        ..Policy::default()
    };
    assert_eq!(zero.lockout_duration(5), secs(30));
    let first_above_cap = Policy {
        lockout_first: secs(7200),
        ..Policy::default()
    };
    assert_eq!(first_above_cap.lockout_duration(0), secs(3600));
}

#[test]
fn events_during_a_lockout_are_audited_but_not_counted() {
    let mut m = machine();
    let (_, until) = lock_out(&mut m, at(0));
    let snapshot = m.snapshot();

    let cmds = wrong(&mut m, at(10));
    assert_eq!(audits(&cmds), [AuditKind::RefusedLocked]);
    assert_eq!(cmds.len(), 1);

    let cmds = grant(&mut m, ALICE, at(11));
    assert_eq!(cmds.len(), 1);
    assert!(matches!(
        &cmds[0],
        Command::Audit(AuditRecord {
            kind: AuditKind::RefusedLocked,
            person: Some(ALICE),
            ..
        })
    ));

    let cmds = m.handle(Event::Pin(PinOutcome::Disabled(BOB)), at(12));
    assert_eq!(audits(&cmds), [AuditKind::RefusedLocked]);
    let cmds = m.handle(
        Event::AdminLoginFailed {
            via: Credential::Passphrase,
        },
        at(13),
    );
    assert_eq!(audits(&cmds), [AuditKind::RefusedLocked]);
    let cmds = m.handle(
        Event::AdminLoginFailed {
            via: Credential::RecoveryCode,
        },
        at(14),
    );
    assert_eq!(audits(&cmds), [AuditKind::RefusedLocked]);
    let cmds = m.handle(Event::AdminLoginSucceeded(ROOT), at(15));
    assert_eq!(audits(&cmds), [AuditKind::RefusedLocked]);

    assert_eq!(m.snapshot(), snapshot);
    assert_eq!(m.admin_session(), None);
    assert_eq!(m.consecutive_failures(), 3);
    assert_eq!(m.lockout_remaining(at(15)), Some(secs(17)));
    assert!(
        m.handle(Event::Tick, until)
            .contains(&Command::ReleaseRelayHold)
    );
}

#[test]
fn a_duress_pin_during_a_lockout_still_raises_the_silent_alert() {
    let mut m = machine();
    lock_out(&mut m, at(0));
    let cmds = m.handle(Event::Pin(PinOutcome::Duress(ALICE)), at(10));
    assert_eq!(alerts(&cmds), [AlertKind::Duress]);
    assert!(cmds.contains(&Command::Capture(CaptureReason::Duress)));
    assert!(
        !cmds
            .iter()
            .any(|c| matches!(c, Command::PulseRelay(_) | Command::Show(_)))
    );
    assert_eq!(m.consecutive_failures(), 3);
}

#[test]
fn disabled_pin_and_failed_admin_logins_count_as_failures() {
    let mut m = machine();
    let cmds = m.handle(Event::Pin(PinOutcome::Disabled(BOB)), at(0));
    assert!(matches!(
        cmds.last(),
        Some(Command::Audit(AuditRecord {
            kind: AuditKind::DisabledPin,
            person: Some(BOB),
            ..
        }))
    ));
    assert!(!cmds.iter().any(|c| matches!(c, Command::PulseRelay(_))));
    let cmds = m.handle(
        Event::AdminLoginFailed {
            via: Credential::Passphrase,
        },
        at(1),
    );
    assert_eq!(audits(&cmds), [AuditKind::AdminLoginFailed]);
    let cmds = m.handle(
        Event::AdminLoginFailed {
            via: Credential::RecoveryCode,
        },
        at(2),
    );
    assert_eq!(
        audits(&cmds),
        [AuditKind::RecoveryFailed, AuditKind::LockoutStarted]
    );
    assert_eq!(alerts(&cmds), [AlertKind::Lockout]);
}

#[test]
fn no_photo_of_each_failure_when_disabled_but_still_at_lockout() {
    let mut m = AccessMachine::new(Policy {
        capture_on_failure: false,
        ..Policy::default()
    });
    let cmds = wrong(&mut m, at(0));
    assert!(!cmds.iter().any(|c| matches!(c, Command::Capture(_))));
    wrong(&mut m, at(1));
    let cmds = wrong(&mut m, at(2));
    assert!(cmds.contains(&Command::Capture(CaptureReason::Lockout)));
}

// ---- Hard lock ----------------------------------------------------------------------

#[test]
fn hundred_consecutive_failures_hard_lock_until_cleared() {
    let mut m = machine();
    let mut now = at(0);
    let mut last = Vec::new();
    for n in 1..=100 {
        last = handle_checked(&mut m, Event::Pin(PinOutcome::Wrong), now);
        now += TimeDelta::seconds(1);
        if let Some(until) = lockout_until(&last) {
            assert!(n < 100, "failure 100 hard locks instead");
            handle_checked(&mut m, Event::Tick, until);
            now = until + TimeDelta::seconds(1);
        }
    }
    assert!(m.is_hard_locked());
    assert_eq!(m.consecutive_failures(), 100);
    assert_eq!(last[0], Command::Persist);
    assert!(last.contains(&Command::HoldRelaySecure));
    assert!(last.contains(&Command::Buzzer {
        pattern: Pattern::LockoutAlarm,
        duration: Some(secs(10))
    }));
    assert_eq!(alerts(&last), [AlertKind::HardLock]);
    assert_eq!(screens(&last), [Screen::HardLock { attempts: 100 }]);
    assert_eq!(audits(&last), [AuditKind::WrongPin, AuditKind::HardLock]);

    // Time does not end it.
    let much_later = now + TimeDelta::days(30);
    assert!(handle_checked(&mut m, Event::Tick, much_later).is_empty());
    assert!(m.is_hard_locked());
    assert!(!m.keypad_open(much_later));
    assert_eq!(m.lockout_remaining(much_later), None);
    assert_eq!(m.next_deadline(), None);
    // PINs are refused, even a valid one.
    let cmds = handle_checked(&mut m, Event::Pin(PinOutcome::Granted(ALICE)), much_later);
    assert_eq!(audits(&cmds), [AuditKind::RefusedLocked]);
    assert!(!cmds.iter().any(|c| matches!(c, Command::PulseRelay(_))));

    // The recovery code clears it.
    let cmds = handle_checked(
        &mut m,
        Event::ClearLockout {
            by: Clearer::RecoveryCode,
        },
        much_later,
    );
    assert_eq!(cmds[0], Command::Persist);
    assert!(cmds.contains(&Command::ReleaseRelayHold));
    assert_eq!(screens(&cmds), [Screen::Idle]);
    assert_eq!(audits(&cmds), [AuditKind::LockoutCleared]);
    assert!(!m.is_hard_locked());
    assert_eq!(m.consecutive_failures(), 0);
    assert!(m.keypad_open(much_later));
    // And the next lockout is a first one again.
    let (_, until) = lock_out(&mut m, much_later);
    assert_eq!(until, much_later + TimeDelta::seconds(2 + 30));
}

#[test]
fn during_a_hard_lock_admin_attempts_count_and_an_admin_clears_it() {
    let policy = Policy {
        hard_lock_after: 4,
        ..Policy::default()
    };
    let mut m = AccessMachine::new(policy);
    let (_, until) = lock_out(&mut m, at(0));
    m.handle(Event::Tick, until);
    let cmds = wrong(&mut m, at(100));
    assert_eq!(
        screens(&cmds),
        [Screen::HardLock { attempts: 4 }],
        "hard lock, not a timed lockout"
    );
    assert!(m.is_hard_locked());
    assert!(!m.keypad_open(at(100)));
    assert!(m.admin_login_open(at(100)));

    // Wrong passphrases still count and still lock out for a while.
    let cmds = m.handle(
        Event::AdminLoginFailed {
            via: Credential::Passphrase,
        },
        at(101),
    );
    assert_eq!(
        screens(&cmds),
        [Screen::Wrong {
            failures_in_window: 1,
            remaining_before_lockout: 2
        }]
    );
    m.handle(
        Event::AdminLoginFailed {
            via: Credential::Passphrase,
        },
        at(102),
    );
    let cmds = m.handle(
        Event::AdminLoginFailed {
            via: Credential::RecoveryCode,
        },
        at(103),
    );
    let until = lockout_until(&cmds).expect("timed lockout");
    assert_eq!(until, at(103 + 60), "second lockout since the last success");
    assert!(!m.admin_login_open(at(110)));
    let cmds = m.handle(Event::AdminLoginSucceeded(ROOT), at(110));
    assert_eq!(audits(&cmds), [AuditKind::RefusedLocked]);

    // The timed lockout ends; the hard lock keeps the relay held.
    let cmds = m.handle(Event::Tick, until);
    assert!(!cmds.contains(&Command::ReleaseRelayHold));
    assert_eq!(screens(&cmds), [Screen::HardLock { attempts: 7 }]);

    // A login opens the session but does not clear the hard lock.
    let cmds = m.handle(Event::AdminLoginSucceeded(ROOT), until);
    assert_eq!(screens(&cmds), [Screen::AdminHome]);
    assert_eq!(m.admin_session(), Some(ROOT));
    assert!(m.is_hard_locked());
    assert_eq!(m.consecutive_failures(), 0);

    let cmds = m.handle(
        Event::ClearLockout {
            by: Clearer::Admin(ROOT),
        },
        until,
    );
    assert_eq!(cmds[0], Command::Persist);
    assert!(cmds.contains(&Command::ReleaseRelayHold));
    assert_eq!(screens(&cmds), [Screen::AdminHome]);
    assert!(matches!(
        cmds.last(),
        Some(Command::Audit(AuditRecord {
            kind: AuditKind::LockoutCleared,
            admin: Some(ROOT),
            ..
        }))
    ));
    assert!(!m.is_hard_locked());
    assert!(m.keypad_open(until));
}

#[test]
fn clear_lockout_also_ends_a_timed_lockout() {
    let mut m = machine();
    lock_out(&mut m, at(0));
    lock_out(&mut m, at(100));
    let cmds = handle_checked(
        &mut m,
        Event::ClearLockout {
            by: Clearer::RecoveryCode,
        },
        at(110),
    );
    assert!(cmds.contains(&Command::ReleaseRelayHold));
    assert!(m.keypad_open(at(110)));
    assert_eq!(m.next_deadline(), None);
    let (_, until) = lock_out(&mut m, at(200));
    assert_eq!(until, at(202 + 30));
}

// ---- Success resets -----------------------------------------------------------------

#[test]
fn a_grant_resets_the_progression() {
    let mut m = machine();
    let (_, until) = lock_out(&mut m, at(0));
    m.handle(Event::Tick, until);
    let (_, until) = lock_out(&mut m, at(100));
    assert_eq!(until, at(102 + 60));
    m.handle(Event::Tick, until);

    let cmds = grant(&mut m, ALICE, at(200));
    assert_eq!(cmds[0], Command::Persist);
    assert_eq!(m.consecutive_failures(), 0);

    let (_, until) = lock_out(&mut m, at(300));
    assert_eq!(until, at(302 + 30), "back to the first lockout's length");
}

#[test]
fn a_grant_clears_the_window() {
    let mut m = machine();
    wrong(&mut m, at(0));
    wrong(&mut m, at(1));
    grant(&mut m, ALICE, at(2));
    let cmds = wrong(&mut m, at(3));
    assert_eq!(
        screens(&cmds),
        [Screen::Wrong {
            failures_in_window: 1,
            remaining_before_lockout: 2
        }]
    );
}

#[test]
fn an_admin_login_resets_the_counters() {
    let mut m = machine();
    let (_, until) = lock_out(&mut m, at(0));
    m.handle(Event::Tick, until);
    wrong(&mut m, at(100));
    let cmds = handle_checked(&mut m, Event::AdminLoginSucceeded(ROOT), at(101));
    assert_eq!(cmds[0], Command::Persist);
    assert_eq!(m.consecutive_failures(), 0);
    assert_eq!(m.failures_in_window(at(101)), 0);
    m.handle(Event::AdminLockNow, at(102));
    let (_, until) = lock_out(&mut m, at(200));
    assert_eq!(until, at(202 + 30));
}

#[test]
fn a_grant_with_nothing_to_reset_does_not_persist() {
    let mut m = machine();
    let cmds = grant(&mut m, ALICE, at(0));
    assert_eq!(
        cmds,
        [
            Command::PulseRelay(secs(5)),
            Command::Show(Screen::Granted(ALICE)),
            cmds[2].clone(),
        ]
    );
    assert!(matches!(
        &cmds[2],
        Command::Audit(AuditRecord {
            kind: AuditKind::Granted,
            person: Some(ALICE),
            ..
        })
    ));
}

// ---- Duress -------------------------------------------------------------------------

#[test]
fn duress_opens_the_door_like_a_grant_and_alerts_silently() {
    let mut plain = machine();
    let granted = grant(&mut plain, ALICE, at(0));
    let mut m = machine();
    wrong(&mut m, at(-10));
    let duress = m.handle(Event::Pin(PinOutcome::Duress(ALICE)), at(0));

    assert!(duress.contains(&Command::PulseRelay(secs(5))));
    assert_eq!(
        screens(&duress),
        screens(&granted),
        "nothing on screen differs"
    );
    assert!(
        !duress
            .iter()
            .any(|c| matches!(c, Command::Buzzer { .. } | Command::Speak(_)))
    );
    assert_eq!(alerts(&duress), [AlertKind::Duress]);
    assert!(duress.contains(&Command::Alert(Alert {
        kind: AlertKind::Duress,
        attempts: 1
    })));
    assert!(duress.contains(&Command::Capture(CaptureReason::Duress)));
    assert_eq!(audits(&duress), [AuditKind::Duress]);
    assert_eq!(m.consecutive_failures(), 0);
    // The door may open without a forced-door alarm.
    assert!(alerts(&m.handle(Event::DoorOpened, at(3))).is_empty());
}

// ---- Admin session ------------------------------------------------------------------

#[test]
fn admin_session_times_out_after_exactly_60_s_of_inactivity() {
    let mut m = machine();
    let cmds = m.handle(Event::AdminLoginSucceeded(ROOT), at(0));
    assert_eq!(screens(&cmds), [Screen::AdminHome]);
    assert_eq!(audits(&cmds), [AuditKind::AdminLogin]);
    assert_eq!(m.admin_session(), Some(ROOT));
    assert_eq!(m.next_deadline(), Some(at(60)));

    assert!(m.handle(Event::Tick, at(59)).is_empty());
    assert_eq!(m.admin_session(), Some(ROOT));

    let cmds = m.handle(Event::Tick, at(60));
    assert_eq!(
        cmds[..2],
        [Command::EndAdminSession, Command::Show(Screen::Idle)]
    );
    assert!(matches!(
        cmds[2],
        Command::Audit(AuditRecord {
            kind: AuditKind::AdminTimeout,
            admin: Some(ROOT),
            ..
        })
    ));
    assert_eq!(m.admin_session(), None);
    assert_eq!(m.next_deadline(), None);
}

#[test]
fn admin_activity_refreshes_the_session() {
    let mut m = machine();
    m.handle(Event::AdminLoginSucceeded(ROOT), at(0));
    assert!(m.handle(Event::AdminActivity, at(50)).is_empty());
    assert_eq!(m.next_deadline(), Some(at(110)));
    assert!(m.handle(Event::Tick, at(100)).is_empty());
    assert!(m.handle(Event::Tick, at(109)).is_empty());
    assert_eq!(m.admin_session(), Some(ROOT));
    assert!(
        m.handle(Event::Tick, at(110))
            .contains(&Command::EndAdminSession)
    );
}

#[test]
fn activity_arriving_after_the_timeout_does_not_revive_the_session() {
    let mut m = machine();
    m.handle(Event::AdminLoginSucceeded(ROOT), at(0));
    let cmds = m.handle(Event::AdminActivity, at(75));
    assert!(cmds.contains(&Command::EndAdminSession));
    assert_eq!(m.admin_session(), None);
}

#[test]
fn lock_now_ends_the_session() {
    let mut m = machine();
    m.handle(Event::AdminLoginSucceeded(ROOT), at(0));
    let cmds = handle_checked(&mut m, Event::AdminLockNow, at(5));
    assert_eq!(
        cmds[..2],
        [Command::EndAdminSession, Command::Show(Screen::Idle)]
    );
    assert!(matches!(
        cmds[2],
        Command::Audit(AuditRecord {
            kind: AuditKind::AdminLogout,
            admin: Some(ROOT),
            ..
        })
    ));
    assert_eq!(m.admin_session(), None);
    assert!(m.handle(Event::AdminLockNow, at(6)).is_empty());
    assert!(m.handle(Event::Tick, at(100)).is_empty());
}

#[test]
fn a_second_login_replaces_the_first_session() {
    let mut m = machine();
    m.handle(Event::AdminLoginSucceeded(ROOT), at(0));
    let cmds = m.handle(Event::AdminLoginSucceeded(OTHER_ADMIN), at(10));
    assert_eq!(cmds[0], Command::EndAdminSession);
    assert_eq!(
        audits(&cmds),
        [AuditKind::AdminLogout, AuditKind::AdminLogin]
    );
    assert_eq!(m.admin_session(), Some(OTHER_ADMIN));
}

// ---- Door ---------------------------------------------------------------------------

#[test]
fn door_opened_without_a_grant_is_forced() {
    let mut m = machine();
    let cmds = handle_checked(&mut m, Event::DoorOpened, at(0));
    assert_eq!(alerts(&cmds), [AlertKind::DoorForced]);
    assert!(cmds.contains(&Command::Buzzer {
        pattern: Pattern::DoorAlarm,
        duration: None
    }));
    assert!(cmds.contains(&Command::Capture(CaptureReason::DoorForced)));
    assert_eq!(audits(&cmds), [AuditKind::DoorForced]);

    let cmds = m.handle(Event::DoorClosed, at(5));
    assert_eq!(cmds[0], Command::StopBuzzer);
    assert_eq!(audits(&cmds), [AuditKind::DoorClosed]);
}

#[test]
fn door_opened_inside_the_entry_window_is_authorized() {
    let mut m = machine();
    grant(&mut m, ALICE, at(100));
    let cmds = m.handle(Event::DoorOpened, at(109));
    assert_eq!(audits(&cmds), [AuditKind::DoorOpened]);
    assert_eq!(cmds.len(), 1);
    let cmds = m.handle(Event::DoorClosed, at(110));
    assert_eq!(audits(&cmds), [AuditKind::DoorClosed]);
    assert!(!cmds.contains(&Command::StopBuzzer));

    // The entry window (10 s) is over.
    let cmds = m.handle(Event::DoorOpened, at(110));
    assert_eq!(alerts(&cmds), [AlertKind::DoorForced]);
}

#[test]
fn exit_button_releases_the_door_and_authorizes_the_opening() {
    let mut m = machine();
    let cmds = m.handle(Event::ExitButton, at(0));
    assert_eq!(cmds[0], Command::PulseRelay(secs(5)));
    assert_eq!(audits(&cmds), [AuditKind::ExitButton]);
    assert!(alerts(&m.handle(Event::DoorOpened, at(2))).is_empty());
}

#[test]
fn exit_button_during_a_lockout_follows_the_policy() {
    let mut m = machine();
    lock_out(&mut m, at(0));
    let cmds = m.handle(Event::ExitButton, at(5));
    assert!(cmds.contains(&Command::PulseRelay(secs(5))));

    let mut strict = AccessMachine::new(Policy {
        exit_during_lockout: false,
        ..Policy::default()
    });
    lock_out(&mut strict, at(0));
    let cmds = strict.handle(Event::ExitButton, at(5));
    assert_eq!(audits(&cmds), [AuditKind::ExitButton]);
    assert!(!cmds.iter().any(|c| matches!(c, Command::PulseRelay(_))));
    assert!(!alerts(&strict.handle(Event::DoorOpened, at(6))).is_empty());
}

#[test]
fn door_held_open_alarms_once_per_opening() {
    let mut m = machine();
    grant(&mut m, ALICE, at(0));
    m.handle(Event::DoorOpened, at(1));
    assert_eq!(m.next_deadline(), Some(at(31)));
    assert!(m.handle(Event::Tick, at(30)).is_empty());

    let cmds = m.handle(Event::Tick, at(31));
    assert_eq!(alerts(&cmds), [AlertKind::DoorHeldOpen]);
    assert!(cmds.contains(&Command::Buzzer {
        pattern: Pattern::DoorAlarm,
        duration: None
    }));
    assert_eq!(audits(&cmds), [AuditKind::DoorHeldOpen]);
    assert_eq!(m.next_deadline(), None);
    for s in 32..200 {
        assert!(m.handle(Event::Tick, at(s)).is_empty(), "tick {s}");
    }
    let cmds = m.handle(Event::DoorClosed, at(200));
    assert_eq!(cmds[0], Command::StopBuzzer);

    // A new opening may alarm again.
    grant(&mut m, ALICE, at(300));
    m.handle(Event::DoorOpened, at(301));
    assert_eq!(
        alerts(&m.handle(Event::Tick, at(331))),
        [AlertKind::DoorHeldOpen]
    );
}

#[test]
fn tamper_alerts_on_activation_and_audits_release() {
    let mut m = machine();
    let cmds = handle_checked(&mut m, Event::Tamper { active: true }, at(0));
    assert_eq!(alerts(&cmds), [AlertKind::Tamper]);
    assert!(cmds.contains(&Command::Capture(CaptureReason::Tamper)));
    assert!(cmds.contains(&Command::Buzzer {
        pattern: Pattern::DoorAlarm,
        duration: Some(secs(10))
    }));
    assert_eq!(audits(&cmds), [AuditKind::Tamper]);

    let cmds = m.handle(Event::Tamper { active: true }, at(1));
    assert!(
        alerts(&cmds).is_empty(),
        "no repeated alert while still active"
    );

    let cmds = m.handle(Event::Tamper { active: false }, at(2));
    assert_eq!(cmds.len(), 1);
    assert_eq!(audits(&cmds), [AuditKind::TamperCleared]);

    let cmds = m.handle(Event::Tamper { active: true }, at(3));
    assert_eq!(alerts(&cmds), [AlertKind::Tamper]);
}

// ---- Snapshot and restore -----------------------------------------------------------

#[test]
fn restore_mid_lockout_keeps_the_remaining_time() {
    let mut m = machine();
    let (_, until) = lock_out(&mut m, at(0));
    assert_eq!(until, at(32));
    wrong(&mut m, at(10)); // refused, not counted

    let json = serde_json::to_string(&m.snapshot()).unwrap();
    let snapshot: Snapshot = serde_json::from_str(&json).unwrap();
    let mut r = AccessMachine::restore(Policy::default(), snapshot, at(20));

    assert!(!r.keypad_open(at(20)));
    assert_eq!(r.lockout_remaining(at(20)), Some(secs(12)));
    assert_eq!(r.consecutive_failures(), 3);
    assert_eq!(r.admin_session(), None);
    assert_eq!(
        r.resume(at(20)),
        [
            Command::HoldRelaySecure,
            Command::Show(Screen::Lockout {
                until: at(32),
                attempts: 3
            })
        ]
    );
    assert!(r.handle(Event::Tick, at(31)).is_empty());
    assert!(
        r.handle(Event::Tick, at(32))
            .contains(&Command::ReleaseRelayHold)
    );
    // The level survived: the next lockout is the second one.
    let (_, until) = lock_out(&mut r, at(100));
    assert_eq!(until, at(102 + 60));
}

#[test]
fn restore_with_the_clock_moved_back_clamps_to_the_lockout_length() {
    let mut m = machine();
    let (_, until) = lock_out(&mut m, at(0));
    m.handle(Event::Tick, until);
    let (_, until) = lock_out(&mut m, at(100));
    assert_eq!(until, at(162), "a 60 s lockout from 102");
    let snapshot = m.snapshot();

    // The Pi booted without a real-time clock: a day earlier.
    let boot = at(-86_400);
    let mut r = AccessMachine::restore(Policy::default(), snapshot.clone(), boot);
    assert_eq!(
        r.lockout_remaining(boot),
        Some(secs(60)),
        "not a day and a minute"
    );
    assert!(!r.keypad_open(boot + TimeDelta::seconds(59)));
    assert!(
        r.handle(Event::Tick, boot + TimeDelta::seconds(59))
            .is_empty()
    );
    let cmds = r.handle(Event::Tick, boot + TimeDelta::seconds(60));
    assert!(cmds.contains(&Command::ReleaseRelayHold));

    // A small step back, still before the start: the whole length, not less.
    let r = AccessMachine::restore(Policy::default(), snapshot.clone(), at(101));
    assert_eq!(r.lockout_remaining(at(101)), Some(secs(60)));

    // The clock went forward past the end while off: the lockout ends on the next event.
    let mut r = AccessMachine::restore(Policy::default(), snapshot, at(1000));
    assert!(r.keypad_open(at(1000)));
    let cmds = r.handle(Event::Tick, at(1000));
    assert_eq!(cmds[0], Command::Persist);
    assert_eq!(audits(&cmds), [AuditKind::LockoutEnded]);
}

#[test]
fn restore_keeps_a_hard_lock_and_the_window() {
    let policy = Policy {
        hard_lock_after: 2,
        ..Policy::default()
    };
    let mut m = AccessMachine::new(policy.clone());
    wrong(&mut m, at(0));
    wrong(&mut m, at(1));
    assert!(m.is_hard_locked());
    let r = AccessMachine::restore(policy, m.snapshot(), at(10_000));
    assert!(r.is_hard_locked());
    assert!(!r.keypad_open(at(10_000)));
    assert_eq!(r.resume(at(10_000))[0], Command::HoldRelaySecure);

    let mut m = machine();
    wrong(&mut m, at(0));
    wrong(&mut m, at(10));
    let mut r = AccessMachine::restore(Policy::default(), m.snapshot(), at(20));
    assert_eq!(r.failures_in_window(at(20)), 2);
    assert!(lockout_until(&wrong(&mut r, at(30))).is_some());
}

#[test]
fn snapshot_json_shape() {
    let mut m = machine();
    lock_out(&mut m, at(0));
    let value = serde_json::to_value(m.snapshot()).unwrap();
    assert_eq!(value["version"], 1);
    assert_eq!(value["consecutive_failures"], 3);
    assert_eq!(value["lockout_level"], 1);
    assert_eq!(value["hard_locked"], false);
    assert_eq!(value["failures"], serde_json::json!([]));
    assert_eq!(value["lockout"]["until"], "2025-03-01T12:00:32Z");
    assert!(value.get("admin").is_none());
}

// ---- Time going backwards between events --------------------------------------------

#[test]
fn the_clock_going_back_between_events_neither_panics_nor_extends_a_lockout() {
    let mut m = machine();
    let (_, until) = lock_out(&mut m, at(1000));
    assert_eq!(until, at(1032));
    // Ten hours back, mid-lockout.
    let back = at(1010 - 36_000);
    let cmds = handle_checked(&mut m, Event::Tick, back);
    assert!(cmds.is_empty() || cmds == [Command::Persist]);
    assert_eq!(m.lockout_remaining(back), Some(secs(30)));
    assert_eq!(m.next_deadline(), Some(back + TimeDelta::seconds(30)));

    // Failures, sessions and door timers stamped "in the future" are pulled back too.
    let mut m = machine();
    wrong(&mut m, at(500));
    m.handle(Event::AdminLoginSucceeded(ROOT), at(500));
    m.handle(Event::DoorOpened, at(500));
    let back = at(0);
    handle_checked(&mut m, Event::Tick, back);
    assert_eq!(
        m.next_deadline(),
        Some(at(30)),
        "door held open 30 s from the jump"
    );
    assert!(
        m.handle(Event::Tick, at(59))
            .iter()
            .all(|c| *c != Command::EndAdminSession)
    );
    assert!(
        m.handle(Event::Tick, at(60))
            .contains(&Command::EndAdminSession)
    );

    // Going back before a failure does not keep it in the window for longer than one.
    let mut m = machine();
    wrong(&mut m, at(10_000));
    wrong(&mut m, at(0));
    assert_eq!(m.failures_in_window(at(299)), 2);
    assert_eq!(m.failures_in_window(at(300)), 0);
}

#[test]
fn extreme_times_saturate() {
    let policy = Policy {
        lockout_first: Duration::MAX,
        lockout_max: Duration::MAX,
        ..Policy::default()
    };
    let mut m = AccessMachine::new(policy);
    let late = DateTime::<Utc>::MAX_UTC;
    wrong(&mut m, late);
    wrong(&mut m, late);
    let cmds = wrong(&mut m, late);
    assert_eq!(lockout_until(&cmds), Some(late));
    m.handle(Event::Tick, DateTime::<Utc>::MIN_UTC);
    m.handle(Event::DoorOpened, DateTime::<Utc>::MIN_UTC);
    m.handle(Event::Tick, late);
}

// ---- Persist ordering ---------------------------------------------------------------

#[test]
fn persist_comes_first_exactly_when_the_state_changed() {
    let mut m = machine();
    let script = [
        (Event::Pin(PinOutcome::Wrong), 0),
        (Event::Tick, 1),
        (Event::AdminActivity, 2),
        (Event::Pin(PinOutcome::Disabled(BOB)), 3),
        (Event::Pin(PinOutcome::Wrong), 4),
        (Event::Pin(PinOutcome::Wrong), 5),
        (Event::ExitButton, 6),
        (Event::DoorOpened, 7),
        (Event::DoorClosed, 8),
        (Event::Tick, 34),
        (Event::Pin(PinOutcome::Granted(ALICE)), 40),
        (Event::Pin(PinOutcome::Granted(ALICE)), 41),
        (
            Event::AdminLoginFailed {
                via: Credential::Passphrase,
            },
            42,
        ),
        (Event::AdminLoginSucceeded(ROOT), 43),
        (Event::AdminActivity, 44),
        (
            Event::ClearLockout {
                by: Clearer::Admin(ROOT),
            },
            45,
        ),
        (Event::AdminLockNow, 46),
        (Event::Tamper { active: true }, 47),
        (Event::Tamper { active: false }, 48),
        (Event::Pin(PinOutcome::Duress(ALICE)), 49),
        (Event::Tick, 200),
    ];
    for (event, t) in script {
        handle_checked(&mut m, event, at(t));
    }
}

// ---- Non-default policy -------------------------------------------------------------

#[test]
fn a_non_default_policy_is_followed() {
    let policy = Policy {
        threshold: 5,
        window: secs(60),
        lockout_first: secs(10),
        lockout_factor: 3,
        lockout_max: secs(60),
        alarm_duration: secs(4),
        relay_pulse: secs(2),
        admin_timeout: secs(20),
        ..Policy::default()
    };
    let mut m = AccessMachine::new(policy);

    // Four within a minute: no lockout (the default threshold of 3 would have fired).
    for s in [0, 10, 20, 30] {
        assert!(lockout_until(&wrong(&mut m, at(s))).is_none());
    }
    let cmds = wrong(&mut m, at(40));
    assert_eq!(lockout_until(&cmds), Some(at(50)));
    assert!(cmds.contains(&Command::Buzzer {
        pattern: Pattern::LockoutAlarm,
        duration: Some(secs(4))
    }));
    m.handle(Event::Tick, at(50));

    // 15 s apart over more than a minute: the oldest ages out.
    for s in [100, 115, 130, 145, 160] {
        assert!(lockout_until(&wrong(&mut m, at(s))).is_none(), "at {s}");
    }
    let cmds = wrong(&mut m, at(161));
    assert_eq!(lockout_until(&cmds), Some(at(191)), "10 s · 3");
    m.handle(Event::Tick, at(191));
    let (_, until) = lock_out(&mut m, at(200));
    assert_eq!(until, at(204 + 60), "90 s capped at 60 s");
    m.handle(Event::Tick, until);

    assert!(grant(&mut m, ALICE, at(300)).contains(&Command::PulseRelay(secs(2))));
    m.handle(Event::AdminLoginSucceeded(ROOT), at(300));
    assert!(m.handle(Event::Tick, at(319)).is_empty());
    assert!(
        m.handle(Event::Tick, at(320))
            .contains(&Command::EndAdminSession)
    );
}

#[test]
fn a_zero_threshold_is_read_as_one() {
    let mut m = AccessMachine::new(Policy {
        threshold: 0,
        hard_lock_after: 0,
        ..Policy::default()
    });
    assert!(m.keypad_open(at(0)));
    assert!(m.handle(Event::Tick, at(0)).is_empty());
    let cmds = wrong(&mut m, at(1));
    assert_eq!(screens(&cmds), [Screen::HardLock { attempts: 1 }]);
}

// ---- Names --------------------------------------------------------------------------

#[test]
fn kind_names_match_their_serde_form() {
    for kind in AlertKind::ALL {
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
    for kind in AuditKind::ALL {
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
    assert_eq!(AlertKind::DoorHeldOpen.as_str(), "door_held_open");
    assert_eq!(AuditKind::LockoutCleared.as_str(), "lockout_cleared");
}

#[test]
fn audit_details_name_no_person() {
    let mut m = machine();
    let mut all = Vec::new();
    all.extend(m.handle(Event::Pin(PinOutcome::Disabled(BOB)), at(0)));
    all.extend(grant(&mut m, ALICE, at(1)));
    all.extend(lock_out(&mut m, at(2)).0);
    for cmd in all {
        if let Command::Audit(record) = cmd {
            assert!(!record.detail.contains("person"), "{record:?}");
            assert!(record.detail.len() < 120, "{record:?}");
        }
    }
}
