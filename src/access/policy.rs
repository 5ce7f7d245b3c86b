//! The access policy: every number the rules follow, resolved from the configuration.

use std::time::Duration;

/// Every timing and counting rule of the access logic, resolved from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Failures within `window` that trigger a lockout (default 3).
    pub threshold: u32,
    /// Sliding window in which failures are counted (default 5 min).
    pub window: Duration,
    /// Length of the first lockout (default 30 s).
    pub lockout_first: Duration,
    /// Each further lockout lasts `factor` times the previous one (default 2)...
    pub lockout_factor: u32,
    /// ...up to this cap (default 1 h).
    pub lockout_max: Duration,
    /// Consecutive failures without a success that lock the kiosk until an
    /// administrator or the recovery code clears it (default 100).
    pub hard_lock_after: u32,
    /// Take a photo at each failed attempt (default true).
    pub capture_on_failure: bool,
    /// How long the lockout alarm pattern sounds (default 10 s).
    pub alarm_duration: Duration,
    /// Admin sessions end after this much inactivity (default 60 s).
    pub admin_timeout: Duration,
    /// How long the door relay is released on a grant (default 5 s).
    pub relay_pulse: Duration,
    /// After a grant or an exit-button press the door may open within this time
    /// without a "door forced" alarm (default 10 s).
    pub entry_window: Duration,
    /// A door open longer than this raises "door held open" (default 30 s).
    pub held_open_after: Duration,
    /// Whether the exit button (inside) still opens the door during a lockout
    /// (default true: people inside must always be able to leave).
    pub exit_during_lockout: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            threshold: 3,
            window: Duration::from_secs(5 * 60),
            lockout_first: Duration::from_secs(30),
            lockout_factor: 2,
            lockout_max: Duration::from_secs(60 * 60),
            hard_lock_after: 100,
            capture_on_failure: true,
            alarm_duration: Duration::from_secs(10),
            admin_timeout: Duration::from_secs(60),
            relay_pulse: Duration::from_secs(5),
            entry_window: Duration::from_secs(10),
            held_open_after: Duration::from_secs(30),
            exit_during_lockout: true,
        }
    }
}

impl Policy {
    /// Length of a lockout at `level` (0 for the first since the last success):
    /// `lockout_first · lockout_factor^level`, capped at `lockout_max`.
    ///
    /// A factor of 0 is read as 1 (lockouts never get shorter).
    pub fn lockout_duration(&self, level: u32) -> Duration {
        let factor = self.lockout_factor.max(1);
        let mut length = self.lockout_first.min(self.lockout_max);
        if factor == 1 || length.is_zero() {
            return length;
        }
        for _ in 0..level {
            if length >= self.lockout_max {
                break;
            }
            length = length
                .checked_mul(factor)
                .map_or(self.lockout_max, |l| l.min(self.lockout_max));
        }
        length
    }

    /// `threshold`, at least 1 (a threshold of 0 would lock out without any failure).
    pub(super) fn effective_threshold(&self) -> u32 {
        self.threshold.max(1)
    }

    /// `hard_lock_after`, at least 1.
    pub(super) fn effective_hard_lock_after(&self) -> u32 {
        self.hard_lock_after.max(1)
    }
}
