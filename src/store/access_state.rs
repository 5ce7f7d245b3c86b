//! The access rules' persisted state: saved with the audit records of the same event in
//! one transaction, so a power cut never keeps one without the other.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, audit_in, db_time};
use crate::access::{AccessMachine, Command, Snapshot};

impl Store {
    /// The saved state, or `None` on a kiosk that never recorded an attempt.
    pub fn access_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT snapshot FROM access_state WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(json) = json else { return Ok(None) };
        let snapshot: Snapshot = serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("access state: {e}")))?;
        if snapshot.version != Snapshot::VERSION {
            return Err(StoreError::Corrupt(format!(
                "access state has version {}, this doorguard knows {}",
                snapshot.version,
                Snapshot::VERSION
            )));
        }
        Ok(Some(snapshot))
    }

    /// Records what one event of the access rules produced, in one transaction: the
    /// machine's state when the commands ask for it to be persisted, and every audit
    /// record among them. The other commands (relay, buzzer, …) are the caller's.
    pub fn record_access_outcome(
        &mut self,
        machine: &AccessMachine,
        commands: &[Command],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.write()?;
        if commands.iter().any(|c| matches!(c, Command::Persist)) {
            let json = serde_json::to_string(&machine.snapshot())
                .map_err(|e| StoreError::Corrupt(format!("access state: {e}")))?;
            tx.execute(
                "INSERT INTO access_state (id, snapshot, updated_at) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, updated_at = excluded.updated_at",
                params![json, db_time(now)],
            )?;
        }
        for command in commands {
            if let Command::Audit(record) = command {
                audit_in(
                    &tx,
                    now,
                    record.kind.as_str(),
                    record.person,
                    record.admin,
                    &record.detail,
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
