//! The audit log: what happened, when, to which person id, by which administrator.
//! Never a secret and never a personal detail (people appear by id only).

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Store, StoreError, audit_in, parse_db_time};
use crate::ids::{AdminId, PersonId};

/// One audit record as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Row id (increases with time).
    pub id: i64,
    /// When it happened (UTC).
    pub at: DateTime<Utc>,
    /// What happened, e.g. `wrong_pin`, `lockout_started`, `person_added`.
    pub kind: String,
    /// The person concerned, if any.
    pub person: Option<PersonId>,
    /// The administrator who acted, if any.
    pub admin: Option<AdminId>,
    /// Evidence photo taken with it, if any.
    pub evidence: Option<i64>,
    /// Free text without secrets.
    pub detail: String,
}

impl Store {
    /// Appends one audit record in its own transaction.
    pub fn audit(
        &mut self,
        at: DateTime<Utc>,
        kind: &str,
        person: Option<PersonId>,
        admin: Option<AdminId>,
        detail: &str,
    ) -> Result<(), StoreError> {
        let tx = self.write()?;
        audit_in(&tx, at, kind, person, admin, detail)?;
        tx.commit()?;
        Ok(())
    }

    /// The newest `limit` records, newest first.
    pub fn recent_audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at, kind, person_id, admin_id, evidence_id, detail FROM audit ORDER BY id DESC LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![limit])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(AuditEntry {
                id: r.get(0)?,
                at: parse_db_time(&r.get::<_, String>(1)?)?,
                kind: r.get(2)?,
                person: r.get::<_, Option<i64>>(3)?.map(PersonId),
                admin: r.get::<_, Option<i64>>(4)?.map(AdminId),
                evidence: r.get(5)?,
                detail: r.get(6)?,
            });
        }
        Ok(out)
    }
}
