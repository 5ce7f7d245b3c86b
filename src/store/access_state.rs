//! The access rules' persisted state: saved with the audit records of the same event in
//! one transaction, so a power cut never keeps one without the other.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Store, StoreError, audit_in, db_time};
use crate::access::{AccessMachine, Command, Event, Policy, Snapshot};

impl Store {
    /// The saved state, or `None` on a kiosk that never recorded an attempt.
    pub fn access_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        read_snapshot(&self.conn)
    }

    /// Records what one event of the access rules produced, in one transaction: the
    /// machine's state when the commands ask for it to be persisted, every audit record
    /// and every alert among them (an alert is in the outbox before anything tries to
    /// send it). Returns the new alerts' ids, for the photos that follow. The other
    /// commands (relay, buzzer, …) are the caller's.
    pub fn record_access_outcome(
        &mut self,
        machine: &AccessMachine,
        commands: &[Command],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        let tx = self.write()?;
        let alerts = write_outcome(&tx, machine, commands, now)?;
        tx.commit()?;
        Ok(alerts)
    }

    /// For a process that does not keep the access rules running (the command line):
    /// restores them from the saved state, hands them `event`, and records the outcome,
    /// all inside one write transaction so a running kiosk's change is never lost in
    /// between. Returns the machine after the event and the commands it gave.
    pub fn apply_access_event(
        &mut self,
        policy: &Policy,
        event: Event,
        now: DateTime<Utc>,
    ) -> Result<(AccessMachine, Vec<Command>), StoreError> {
        let tx = self.write()?;
        let mut machine = match read_snapshot(&tx)? {
            Some(snapshot) => AccessMachine::restore(policy.clone(), snapshot, now),
            None => AccessMachine::new(policy.clone()),
        };
        let commands = machine.handle(event, now);
        write_outcome(&tx, &machine, &commands, now)?;
        tx.commit()?;
        Ok((machine, commands))
    }
}

fn read_snapshot(conn: &Connection) -> Result<Option<Snapshot>, StoreError> {
    let json: Option<String> = conn
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

/// Writes the snapshot (when asked to), the audit records and the alerts of one event.
fn write_outcome(
    tx: &Transaction<'_>,
    machine: &AccessMachine,
    commands: &[Command],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    if commands.iter().any(|c| matches!(c, Command::Persist)) {
        let json = serde_json::to_string(&machine.snapshot())
            .map_err(|e| StoreError::Corrupt(format!("access state: {e}")))?;
        tx.execute(
            "INSERT INTO access_state (id, snapshot, updated_at) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, updated_at = excluded.updated_at",
            params![json, db_time(now)],
        )?;
    }
    let mut alerts = Vec::new();
    for command in commands {
        match command {
            Command::Audit(record) => audit_in(
                tx,
                now,
                record.kind.as_str(),
                record.person,
                record.admin,
                &record.detail,
            )?,
            Command::Alert(alert) => {
                let payload = serde_json::to_string(alert)
                    .map_err(|e| StoreError::Corrupt(format!("alert: {e}")))?;
                tx.execute(
                    "INSERT INTO alerts (created_at, kind, attempts, payload) VALUES (?1, ?2, ?3, ?4)",
                    params![db_time(now), alert.kind.as_str(), alert.attempts, payload],
                )?;
                alerts.push(tx.last_insert_rowid());
            }
            _ => {}
        }
    }
    Ok(alerts)
}
