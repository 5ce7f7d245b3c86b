//! Door contact, tamper switch and exit button: "door forced", "door held open" and
//! tamper alarms, and the entry window that makes an opening authorized.

use super::*;

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct DoorState {
    /// `Some` while the door is open.
    pub(super) open_since: Option<Timestamp>,
    /// "Held open" was raised for this opening.
    pub(super) held_alerted: bool,
    /// A door alarm (forced / held open) is sounding until the door closes.
    pub(super) alarm_sounding: bool,
}

impl AccessMachine {
    pub(super) fn on_door_opened(&mut self, now: Timestamp, out: &mut Vec<Command>) {
        if self.door.open_since.is_some() {
            return; // Already open: a repeated report changes nothing.
        }
        self.door.open_since = Some(now);
        self.door.held_alerted = false;
        let authorized = self
            .entry_started
            .is_some_and(|t| elapsed(t, now) < self.policy.entry_window);
        if authorized {
            out.push(audit(
                AuditKind::DoorOpened,
                None,
                None,
                "inside the entry window".to_owned(),
            ));
        } else {
            self.door.alarm_sounding = true;
            out.push(Command::Capture(CaptureReason::DoorForced));
            out.push(Command::Alert(Alert {
                kind: AlertKind::DoorForced,
                attempts: self.consecutive,
            }));
            out.push(door_alarm());
            out.push(audit(
                AuditKind::DoorForced,
                None,
                None,
                "opened without a grant or exit request".to_owned(),
            ));
        }
    }

    pub(super) fn on_door_closed(&mut self, now: Timestamp, out: &mut Vec<Command>) {
        let door = std::mem::take(&mut self.door);
        if door.alarm_sounding {
            out.push(Command::StopBuzzer);
        }
        let detail = door
            .open_since
            .map(|since| format!("after {}", human(elapsed(since, now))))
            .unwrap_or_default();
        out.push(audit(AuditKind::DoorClosed, None, None, detail));
    }

    pub(super) fn on_tamper(&mut self, active: bool, out: &mut Vec<Command>) {
        let was_active = std::mem::replace(&mut self.tamper_active, active);
        match (active, was_active) {
            (true, false) => {
                out.push(Command::Capture(CaptureReason::Tamper));
                out.push(Command::Alert(Alert {
                    kind: AlertKind::Tamper,
                    attempts: self.consecutive,
                }));
                out.push(Command::Buzzer {
                    pattern: Pattern::DoorAlarm,
                    duration: Some(self.policy.alarm_duration),
                });
                out.push(audit(
                    AuditKind::Tamper,
                    None,
                    None,
                    "tamper switch triggered".to_owned(),
                ));
            }
            (true, true) => out.push(audit(
                AuditKind::Tamper,
                None,
                None,
                "tamper switch still triggered".to_owned(),
            )),
            (false, _) => out.push(audit(
                AuditKind::TamperCleared,
                None,
                None,
                "tamper switch back to normal".to_owned(),
            )),
        }
    }

    pub(super) fn on_exit_button(&mut self, now: Timestamp, out: &mut Vec<Command>) {
        let locked = self.hard_locked || self.lockout_active(now);
        if locked && !self.policy.exit_during_lockout {
            let state = self.lock_state(now);
            out.push(audit(
                AuditKind::ExitButton,
                None,
                None,
                format!("refused while {state}"),
            ));
            return;
        }
        self.entry_started = Some(now);
        out.push(Command::PulseRelay(self.policy.relay_pulse));
        out.push(audit(
            AuditKind::ExitButton,
            None,
            None,
            format!("relay released for {}", human(self.policy.relay_pulse)),
        ));
    }
}
