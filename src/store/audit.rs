//! The audit log: what happened, when, to which person id, by which administrator.
//! Never a secret and never a personal detail (people appear by id only).

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{OptionalExtension, params};
use zeroize::Zeroizing;

use super::outbox::evidence_aad;
use super::{AdminSession, Store, StoreError, audit_in, db_time, parse_db_time};
use crate::ids::{AdminId, PersonId};
use crate::vault::{open_evidence, seal_evidence};

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

impl Store {
    /// Seals `jpeg` as the evidence of the newest audit record of `kind` (the attempt
    /// just recorded) and links the two, in one transaction. The photo is sealed to the
    /// vault's public key: only an administrator's session opens it again. Returns the
    /// evidence id, or `None` when there is no such record.
    pub fn attach_evidence(
        &mut self,
        kind: &str,
        jpeg: &[u8],
        taken_at: DateTime<Utc>,
        retention: std::time::Duration,
    ) -> Result<Option<i64>, StoreError> {
        let key = self.evidence_public_key()?;
        let tx = self.write()?;
        let audit_id: Option<i64> = tx
            .query_row(
                "SELECT id FROM audit WHERE kind = ?1 ORDER BY id DESC LIMIT 1",
                [kind],
                |r| r.get(0),
            )
            .optional()?;
        let Some(audit_id) = audit_id else {
            return Ok(None);
        };
        let taken = db_time(taken_at);
        let reason = format!("audit {audit_id} {kind}");
        let sealed = seal_evidence(&key, &evidence_aad(&reason, &taken), jpeg)?;
        let purge = taken_at + TimeDelta::from_std(retention).unwrap_or(TimeDelta::MAX);
        tx.execute(
            "INSERT INTO evidence (taken_at, reason, sealed_jpeg, purge_after) VALUES (?1, ?2, ?3, ?4)",
            params![taken, reason, sealed, db_time(purge)],
        )?;
        let evidence_id = tx.last_insert_rowid();
        tx.execute(
            "UPDATE audit SET evidence_id = ?1 WHERE id = ?2",
            params![evidence_id, audit_id],
        )?;
        tx.commit()?;
        Ok(Some(evidence_id))
    }

    /// An evidence photo opened with an administrator's session; `None` once purged.
    pub fn evidence_photo(
        &self,
        session: &AdminSession,
        id: i64,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let row: Option<(String, String, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT taken_at, reason, sealed_jpeg FROM evidence WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((taken_at, reason, sealed)) = row else {
            return Ok(None);
        };
        let secret = self.evidence_secret_key(session)?;
        open_evidence(&secret, &evidence_aad(&reason, &taken_at), &sealed)
            .map(Some)
            .map_err(|_| StoreError::Integrity {
                row: format!("evidence {id}"),
                column: "sealed_jpeg",
            })
    }
}
