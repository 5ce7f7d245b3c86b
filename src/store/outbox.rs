//! The alert outbox: alerts, their photos until every channel is done, and one delivery
//! row per (alert, channel) with its state, tries, next try and last answer.
//!
//! An alert row is written with its access event (see `access_state.rs`); it is
//! *prepared* here in one transaction — content, photos, sealed evidence copies and the
//! delivery rows — and only prepared alerts are sent. A delivery marked `sent` is never
//! handed out again.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, db_time, parse_db_time};
use crate::access::Alert;
use crate::alerts::{AlertContent, AlertPhoto};
use crate::vault::{EvidencePublicKey, seal_evidence};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next try.
    Pending,
    /// The server accepted it.
    Sent,
    /// The server refused it for good (kept with its error for the administrator).
    Failed,
    /// It could not be delivered within the maximum age.
    Expired,
}

impl DeliveryState {
    /// The stable name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::Expired => "expired",
        }
    }

    fn parse(s: &str) -> Result<DeliveryState, StoreError> {
        Ok(match s {
            "pending" => DeliveryState::Pending,
            "sent" => DeliveryState::Sent,
            "failed" => DeliveryState::Failed,
            "expired" => DeliveryState::Expired,
            other => return Err(StoreError::Corrupt(format!("delivery state {other:?}"))),
        })
    }
}

/// One (alert, channel) pair.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    /// The channel's name.
    pub channel: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Tries so far.
    pub tries: u32,
    /// When it is tried next (pending only).
    pub next_try_at: DateTime<Utc>,
    /// When it was last tried.
    pub last_try_at: Option<DateTime<Utc>>,
    /// The last error, if the last try failed.
    pub last_error: Option<String>,
    /// What the server answered when it accepted it.
    pub receipt: Option<String>,
    /// When it was accepted.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// An alert as `alerts list` and `alerts show` see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AlertRow {
    /// Outbox id.
    pub id: i64,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
    /// What happened (`lockout`, …).
    pub kind: String,
    /// Failed attempts at the time.
    pub attempts: u32,
    /// The full content, once prepared.
    pub content: Option<AlertContent>,
    /// Photos still held for sending.
    pub photos_held: u32,
    /// One per channel (none before it is prepared).
    pub deliveries: Vec<Delivery>,
}

/// An alert raised by the access rules and not prepared yet (a restart in between
/// leaves such rows; they are prepared without photos).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAlert {
    /// Outbox id.
    pub id: i64,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
    /// What the rules decided.
    pub alert: Alert,
}

/// A delivery whose time has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Outbox id.
    pub alert_id: i64,
    /// The channel.
    pub channel: String,
    /// Tries so far.
    pub tries: u32,
    /// When the alert was raised (for the maximum age).
    pub created_at: DateTime<Utc>,
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// The associated data an evidence photo is sealed with; recomputable from its row.
pub fn evidence_aad(reason: &str, taken_at: &str) -> Vec<u8> {
    format!("evidence/{reason}/{taken_at}").into_bytes()
}

impl Store {
    /// Alerts raised but not prepared yet, oldest first.
    pub fn unprepared_alerts(&self) -> Result<Vec<PendingAlert>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, created_at, payload FROM alerts WHERE prepared_at IS NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, created_at, payload) = row?;
            let alert: Alert = serde_json::from_str(&payload)
                .map_err(|e| StoreError::Corrupt(format!("alert {id}: {e}")))?;
            out.push(PendingAlert {
                id,
                created_at: parse_db_time(&created_at)?,
                alert,
            });
        }
        Ok(out)
    }

    /// Prepares alert `content.id` for sending, in one transaction: its content, its
    /// photos (best first), a sealed evidence copy of each (kept `retention`, readable
    /// only with an administrator's passphrase), and a pending delivery per channel.
    pub fn prepare_alert(
        &mut self,
        content: &AlertContent,
        photos: &[AlertPhoto],
        channels: &[&str],
        evidence_key: &EvidencePublicKey,
        retention: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let payload = serde_json::to_string(content)
            .map_err(|e| StoreError::Corrupt(format!("alert {}: {e}", content.id)))?;
        let tx = self.write()?;
        let changed = tx.execute(
            "UPDATE alerts SET payload = ?2, prepared_at = ?3 WHERE id = ?1 AND prepared_at IS NULL",
            params![content.id, payload, db_time(now)],
        )?;
        if changed == 0 {
            return Err(StoreError::Corrupt(format!(
                "alert {} does not exist or is already prepared",
                content.id
            )));
        }
        let taken_at = db_time(content.at);
        for (n, photo) in photos.iter().enumerate() {
            tx.execute(
                "INSERT INTO alert_photos (alert_id, position, jpeg) VALUES (?1, ?2, ?3)",
                params![content.id, n as i64, photo.jpeg],
            )?;
            let reason = format!(
                "alert {} {} photo {}",
                content.id,
                content.kind.as_str(),
                n + 1
            );
            let sealed =
                seal_evidence(evidence_key, &evidence_aad(&reason, &taken_at), &photo.jpeg)?;
            tx.execute(
                "INSERT INTO evidence (taken_at, reason, sealed_jpeg, purge_after) VALUES (?1, ?2, ?3, ?4)",
                params![taken_at, reason, sealed, db_time(now + delta(retention))],
            )?;
        }
        for channel in channels {
            tx.execute(
                "INSERT INTO deliveries (alert_id, channel, state, tries, next_try_at)
                 VALUES (?1, ?2, 'pending', 0, ?3)",
                params![content.id, channel, db_time(now)],
            )?;
        }
        if channels.is_empty() {
            tx.execute("DELETE FROM alert_photos WHERE alert_id = ?1", [content.id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Deliveries due at `now`, oldest first, at most `limit`.
    pub fn due_deliveries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Due>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT d.alert_id, d.channel, d.tries, a.created_at
               FROM deliveries d JOIN alerts a ON a.id = d.alert_id
              WHERE d.state = 'pending' AND d.next_try_at <= ?1 AND a.prepared_at IS NOT NULL
              ORDER BY d.next_try_at, d.alert_id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![db_time(now), limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?))
        })?;
        rows.map(|row| {
            let (alert_id, channel, tries, created_at) = row?;
            Ok(Due {
                alert_id,
                channel,
                tries,
                created_at: parse_db_time(&created_at)?,
            })
        })
        .collect()
    }

    /// When the next pending delivery is due, if any.
    pub fn next_delivery_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<String> = self.conn.query_row(
            "SELECT min(d.next_try_at) FROM deliveries d JOIN alerts a ON a.id = d.alert_id
              WHERE d.state = 'pending' AND a.prepared_at IS NOT NULL",
            [],
            |r| r.get(0),
        )?;
        next.as_deref().map(parse_db_time).transpose()
    }

    /// The content and held photos of a prepared alert.
    pub fn alert_for_delivery(
        &self,
        id: i64,
    ) -> Result<(AlertContent, Vec<AlertPhoto>), StoreError> {
        let payload: String = self
            .conn
            .query_row(
                "SELECT payload FROM alerts WHERE id = ?1 AND prepared_at IS NOT NULL",
                [id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::Corrupt(format!("alert {id} is not in the outbox")))?;
        let content: AlertContent = serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("alert {id}: {e}")))?;
        let mut stmt = self
            .conn
            .prepare("SELECT jpeg FROM alert_photos WHERE alert_id = ?1 ORDER BY position")?;
        let photos = stmt
            .query_map([id], |r| r.get::<_, Vec<u8>>(0))?
            .map(|jpeg| {
                let jpeg = jpeg?;
                let (width, height) = crate::hw::camera::jpeg_size(&jpeg).unwrap_or((0, 0));
                Ok(AlertPhoto {
                    jpeg,
                    width,
                    height,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((content, photos))
    }

    /// Records a try's outcome: `Ok(receipt)` marks the delivery sent; `Err((error,
    /// next))` keeps it pending until `next`, or marks it failed for good when `next`
    /// is `None`. When no delivery of the alert is pending any more, its plaintext
    /// photos are deleted (the sealed evidence stays). A delivery already sent is left
    /// as it is.
    pub fn record_try(
        &mut self,
        alert_id: i64,
        channel: &str,
        outcome: Result<&str, (&str, Option<DateTime<Utc>>)>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.write()?;
        let at = db_time(now);
        match outcome {
            Ok(receipt) => tx.execute(
                "UPDATE deliveries SET state = 'sent', tries = tries + 1, last_try_at = ?3,
                        delivered_at = ?3, receipt = ?4, last_error = NULL
                  WHERE alert_id = ?1 AND channel = ?2 AND state = 'pending'",
                params![alert_id, channel, at, receipt],
            )?,
            Err((error, Some(next))) => tx.execute(
                "UPDATE deliveries SET tries = tries + 1, last_try_at = ?3, last_error = ?4,
                        next_try_at = ?5
                  WHERE alert_id = ?1 AND channel = ?2 AND state = 'pending'",
                params![alert_id, channel, at, error, db_time(next)],
            )?,
            Err((error, None)) => tx.execute(
                "UPDATE deliveries SET state = 'failed', tries = tries + 1, last_try_at = ?3,
                        last_error = ?4
                  WHERE alert_id = ?1 AND channel = ?2 AND state = 'pending'",
                params![alert_id, channel, at, error],
            )?,
        };
        drop_photos_when_done(&tx, alert_id)?;
        tx.commit()?;
        Ok(())
    }

    /// Marks every pending delivery of alerts raised before `now - max_age` expired;
    /// returns how many.
    pub fn expire_deliveries(
        &mut self,
        max_age: Duration,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let tx = self.write()?;
        let cutoff = db_time(now - delta(max_age));
        let ids: Vec<i64> = {
            let mut stmt = tx.prepare(
                "SELECT DISTINCT d.alert_id FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                  WHERE d.state = 'pending' AND a.created_at < ?1",
            )?;
            stmt.query_map([&cutoff], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        let mut expired = 0;
        for id in &ids {
            expired += tx.execute(
                "UPDATE deliveries SET state = 'expired',
                        last_error = coalesce(last_error, 'not delivered') || ' (gave up: older than the maximum age)'
                  WHERE alert_id = ?1 AND state = 'pending'",
                [id],
            )?;
            drop_photos_when_done(&tx, *id)?;
        }
        tx.commit()?;
        Ok(expired)
    }

    /// Puts the failed and expired deliveries of alert `id` back in the queue, due
    /// now; returns how many. Photos already deleted stay deleted (the alert goes
    /// without them).
    pub fn retry_alert(&mut self, id: i64, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let tx = self.write()?;
        let n = tx.execute(
            "UPDATE deliveries SET state = 'pending', next_try_at = ?2
              WHERE alert_id = ?1 AND state IN ('failed', 'expired')",
            params![id, db_time(now)],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Deletes evidence past its retention; returns how many photos.
    pub fn purge_evidence(&mut self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let tx = self.write()?;
        let n = tx.execute(
            "DELETE FROM evidence WHERE purge_after < ?1",
            [db_time(now)],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Deliveries still to send, and deliveries that failed for good or expired.
    pub fn delivery_counts(&self) -> Result<(u64, u64), StoreError> {
        let count = |state: &str| -> Result<u64, StoreError> {
            Ok(self.conn.query_row(
                "SELECT COUNT(*) FROM deliveries WHERE state = ?1",
                [state],
                |r| r.get::<_, i64>(0),
            )? as u64)
        };
        Ok((count("pending")?, count("failed")? + count("expired")?))
    }

    /// The newest `limit` alerts with their deliveries, newest first.
    pub fn alerts(&self, limit: usize) -> Result<Vec<AlertRow>, StoreError> {
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id FROM alerts ORDER BY id DESC LIMIT ?1")?;
            stmt.query_map([limit as i64], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        ids.into_iter()
            .filter_map(|id| self.alert(id).transpose())
            .collect()
    }

    /// One alert with its deliveries, if it exists.
    pub fn alert(&self, id: i64) -> Result<Option<AlertRow>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT created_at, kind, attempts, payload, prepared_at IS NOT NULL,
                        (SELECT count(*) FROM alert_photos p WHERE p.alert_id = alerts.id)
                   FROM alerts WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, u32>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, bool>(4)?,
                        r.get::<_, u32>(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((created_at, kind, attempts, payload, prepared, photos_held)) = row else {
            return Ok(None);
        };
        let content = if prepared {
            Some(
                serde_json::from_str(&payload)
                    .map_err(|e| StoreError::Corrupt(format!("alert {id}: {e}")))?,
            )
        } else {
            None
        };
        let mut stmt = self.conn.prepare(
            "SELECT channel, state, tries, next_try_at, last_try_at, last_error, receipt, delivered_at
               FROM deliveries WHERE alert_id = ?1 ORDER BY channel",
        )?;
        let deliveries = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, u32>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })?
            .map(|row| {
                let (channel, state, tries, next, last, last_error, receipt, delivered) = row?;
                Ok(Delivery {
                    channel,
                    state: DeliveryState::parse(&state)?,
                    tries,
                    next_try_at: parse_db_time(&next)?,
                    last_try_at: last.as_deref().map(parse_db_time).transpose()?,
                    last_error,
                    receipt,
                    delivered_at: delivered.as_deref().map(parse_db_time).transpose()?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(AlertRow {
            id,
            created_at: parse_db_time(&created_at)?,
            kind,
            attempts,
            content,
            photos_held,
            deliveries,
        }))
    }
}

/// Deletes an alert's plaintext photos once none of its deliveries is pending.
fn drop_photos_when_done(tx: &rusqlite::Transaction<'_>, alert_id: i64) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM alert_photos WHERE alert_id = ?1
            AND NOT EXISTS (SELECT 1 FROM deliveries WHERE alert_id = ?1 AND state = 'pending')",
        [alert_id],
    )?;
    Ok(())
}
