//! The outbox worker: hands every due (alert, channel) delivery to its channel, one try
//! at a time, and records the outcome before the next: sent, again later (exponential
//! backoff with jitter from 1 s to 1 h, or the server's `Retry-After` if longer), or
//! failed for good. Deliveries older than the maximum age expire.
//!
//! It must not decide what an alert says (that was fixed when it was prepared) and must
//! not lose one: the database is the queue, so a restart resumes where it stopped.
//! A delivery the server accepted is recorded as sent at once and never handed out
//! again; only a crash between the server's acceptance and that commit can repeat it,
//! and then the repeat carries the same alert id (e-mail Message-ID, webhook
//! `X-Doorguard-Alert`) so the receiving side can recognise it.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Notifier, Receipt, SendError};
use crate::store::{Due, Store, StoreError};

/// The first pause after a failed try.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest pause between two tries.
pub const MAX_RETRY: Duration = Duration::from_secs(3600);

/// The pause before try number `tries + 1` after `tries` failed ones: 1 s, 2 s, 4 s, …
/// up to 1 h, times a jitter factor between 0.8 and 1.2 (`jitter` in `0.0..1.0`), and
/// never less than the server's `Retry-After`.
pub fn retry_delay(tries: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
    let exponent = tries.saturating_sub(1).min(20);
    let base = FIRST_RETRY.saturating_mul(1 << exponent).min(MAX_RETRY);
    let jittered = base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0));
    let delay = jittered.clamp(FIRST_RETRY, MAX_RETRY);
    retry_after.map_or(delay, |after| delay.max(after))
}

fn jitter() -> f64 {
    let mut b = [0u8; 2];
    match getrandom::fill(&mut b) {
        Ok(()) => f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX),
        Err(_) => 0.5,
    }
}

/// What one try did, for logs, `alerts test` and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct TryReport {
    /// The alert.
    pub alert_id: i64,
    /// The channel.
    pub channel: String,
    /// What the channel answered.
    pub outcome: Result<Receipt, SendError>,
    /// When it is tried again (a retry only).
    pub next_try_at: Option<DateTime<Utc>>,
}

/// The channels by name, and the rules for retrying.
pub struct Outbox {
    notifiers: BTreeMap<&'static str, Box<dyn Notifier>>,
    max_age: Duration,
}

impl Outbox {
    /// Deliveries handled per pass before expiring and looking again.
    pub const BATCH: usize = 100;

    /// An outbox over these channels, giving up on a delivery `max_age` after its
    /// alert was raised.
    pub fn new(notifiers: Vec<Box<dyn Notifier>>, max_age: Duration) -> Outbox {
        Outbox {
            notifiers: notifiers.into_iter().map(|n| (n.channel(), n)).collect(),
            max_age,
        }
    }

    /// The configured channels' names; an alert gets one delivery for each.
    pub fn channels(&self) -> Vec<&'static str> {
        self.notifiers.keys().copied().collect()
    }

    /// Expires what is too old and purges evidence past its retention, then tries
    /// every due delivery once (at most a batch), recording each outcome before the
    /// next try. `now` is read for every record.
    pub fn deliver_due(
        &mut self,
        store: &mut Store,
        now: &dyn Fn() -> DateTime<Utc>,
    ) -> Result<Vec<TryReport>, StoreError> {
        let expired = store.expire_deliveries(self.max_age, now())?;
        if expired > 0 {
            tracing::warn!("alerts: {expired} deliveries expired after the maximum age");
        }
        let purged = store.purge_evidence(now())?;
        if purged > 0 {
            tracing::info!("{purged} evidence photos purged after their retention");
        }
        let due = store.due_deliveries(now(), Self::BATCH)?;
        let mut reports = Vec::with_capacity(due.len());
        for delivery in due {
            reports.push(self.try_one(store, &delivery, now)?);
        }
        Ok(reports)
    }

    fn try_one(
        &mut self,
        store: &mut Store,
        due: &Due,
        now: &dyn Fn() -> DateTime<Utc>,
    ) -> Result<TryReport, StoreError> {
        let outcome = match self.notifiers.get_mut(due.channel.as_str()) {
            None => Err(SendError::Permanent {
                reason: format!("channel {} is no longer configured", due.channel),
            }),
            Some(notifier) => {
                let (content, photos) = store.alert_for_delivery(due.alert_id)?;
                notifier.send(&content, &photos)
            }
        };
        let at = now();
        let next_try_at = match &outcome {
            Ok(receipt) => {
                tracing::info!(alert = due.alert_id, channel = %due.channel, "alert delivered: {}", receipt.detail);
                store.record_try(due.alert_id, &due.channel, Ok(&receipt.detail), at)?;
                None
            }
            Err(SendError::Retry { reason, after }) => {
                let delay = retry_delay(due.tries + 1, jitter(), *after);
                let next = at + TimeDelta::from_std(delay).unwrap_or(TimeDelta::hours(1));
                tracing::warn!(alert = due.alert_id, channel = %due.channel, "alert not delivered, next try in {}: {reason}", humantime::format_duration(delay));
                store.record_try(due.alert_id, &due.channel, Err((reason, Some(next))), at)?;
                Some(next)
            }
            Err(SendError::Permanent { reason }) => {
                tracing::error!(alert = due.alert_id, channel = %due.channel, "alert refused for good: {reason}");
                store.record_try(due.alert_id, &due.channel, Err((reason, None)), at)?;
                None
            }
        };
        Ok(TryReport {
            alert_id: due.alert_id,
            channel: due.channel.clone(),
            outcome,
            next_try_at,
        })
    }
}

/// The right to deliver a database's alerts, held by one process at a time (the kiosk
/// or `doorguard alerts deliver`), so no two workers send the same delivery. An
/// exclusive lock on `DB-outbox.lock` next to the database; the system releases it
/// when the process ends, however it ends.
#[derive(Debug)]
pub struct DeliveryLock {
    _file: File,
}

impl DeliveryLock {
    /// Takes the lock for the database at `db`, or says who holds it.
    pub fn acquire(db: &Path) -> Result<DeliveryLock, StoreError> {
        let mut name = db.as_os_str().to_owned();
        name.push("-outbox.lock");
        let path = PathBuf::from(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StoreError::Io {
                what: format!("cannot open {}", path.display()),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(DeliveryLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(StoreError::OutboxBusy(db.to_owned())),
            Err(TryLockError::Error(source)) => Err(StoreError::Io {
                what: format!("cannot lock {}", path.display()),
                source,
            }),
        }
    }
}

/// The outbox on its own thread with its own database connection. Dropping it stops
/// the thread after the try in progress.
pub struct OutboxWorker {
    wake: Sender<()>,
    thread: Option<JoinHandle<()>>,
    _lock: DeliveryLock,
}

impl OutboxWorker {
    /// Starts delivering from the database at `db`. The worker wakes when a delivery
    /// falls due, when [`OutboxWorker::wake`] is called (a new alert), and at least
    /// once a minute. Fails with [`StoreError::OutboxBusy`] when another process
    /// delivers from the same database.
    pub fn start(db: PathBuf, mut outbox: Outbox) -> Result<OutboxWorker, StoreError> {
        let lock = DeliveryLock::acquire(&db)?;
        let mut store = Store::open(&db)?;
        let (wake, woken) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("outbox".into())
            .spawn(move || run(&mut store, &mut outbox, &woken))
            .map_err(|source| StoreError::Io {
                what: "cannot start the outbox thread".into(),
                source,
            })?;
        Ok(OutboxWorker {
            wake,
            thread: Some(thread),
            _lock: lock,
        })
    }

    /// Asks the worker to look for due deliveries now.
    pub fn wake(&self) {
        let _ = self.wake.send(());
    }
}

impl Drop for OutboxWorker {
    fn drop(&mut self) {
        let (stop, _) = mpsc::channel();
        // Replacing the sender disconnects the worker's receiver, which ends its loop.
        drop(std::mem::replace(&mut self.wake, stop));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(store: &mut Store, outbox: &mut Outbox, woken: &Receiver<()>) {
    loop {
        let pause = match outbox.deliver_due(store, &Utc::now) {
            Ok(reports) if reports.len() >= Outbox::BATCH => Duration::ZERO,
            Ok(_) => match store.next_delivery_at() {
                Ok(Some(next)) => (next - Utc::now()).to_std().unwrap_or(Duration::ZERO),
                Ok(None) => Duration::from_secs(60),
                Err(e) => {
                    tracing::error!("alerts: {e}");
                    Duration::from_secs(5)
                }
            },
            Err(e) => {
                tracing::error!("alerts: {e}");
                Duration::from_secs(5)
            }
        };
        match woken.recv_timeout(pause.min(Duration::from_secs(60))) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_from_one_second_up_to_an_hour() {
        let secs = |tries| retry_delay(tries, 0.5, None).as_secs_f64();
        assert_eq!(secs(1), 1.0);
        assert_eq!(secs(2), 2.0);
        assert_eq!(secs(5), 16.0);
        assert_eq!(secs(13), 3600.0, "capped at an hour");
        assert_eq!(secs(40), 3600.0);
        assert_eq!(
            retry_delay(1, 0.0, None),
            FIRST_RETRY,
            "jitter never goes below 1 s"
        );
        assert_eq!(retry_delay(3, 0.0, None), Duration::from_secs_f64(3.2));
        assert_eq!(retry_delay(3, 1.0, None), Duration::from_secs_f64(4.8));
    }

    #[test]
    fn retry_after_is_honoured_when_longer() {
        let after = Some(Duration::from_secs(3));
        assert_eq!(retry_delay(1, 0.5, after), Duration::from_secs(3));
        assert_eq!(retry_delay(6, 0.5, after), Duration::from_secs(32));
    }
}
