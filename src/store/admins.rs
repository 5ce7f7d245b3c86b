//! Administrators and the vault's keys: set-up, unlocking an admin session, passphrase
//! changes (rewrap only), the recovery code, and the device-wide PIN hasher.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, audit_in, db_time};
use crate::ids::AdminId;
use crate::vault::{
    DataKey, EvidencePublicKey, EvidenceSecretKey, KdfParams, Passphrase, PinHasher, RecoveryCode,
    SALT_LEN, VaultError, WrappedKey, column_aad,
};

const RECOVERY_LABEL: &str = "recovery";

fn admin_label(id: AdminId) -> String {
    format!("admin/{}", id.0)
}

fn evidence_secret_aad() -> Vec<u8> {
    column_aad("vault", 1, "evidence_secret_key")
}

/// An open admin session: the data key in memory. Dropping it zeroizes the key, which
/// is how a session ends.
#[derive(Debug)]
pub struct AdminSession {
    admin: Option<AdminId>,
    key: DataKey,
}

impl AdminSession {
    /// The administrator, or `None` when the session was opened with the recovery code.
    pub fn admin(&self) -> Option<AdminId> {
        self.admin
    }

    pub(super) fn key(&self) -> &DataKey {
        &self.key
    }
}

fn check_admin_name(name: &str) -> Result<(), StoreError> {
    let n = name.chars().count();
    if (1..=64).contains(&n) && !name.chars().any(char::is_control) && name.trim() == name {
        Ok(())
    } else {
        Err(StoreError::AdminName)
    }
}

/// Reads the wrapped key selected by `filter` (a `WHERE` clause on `vault_keys`).
fn load_wrapped(
    conn: &rusqlite::Connection,
    filter: &str,
    param: &dyn rusqlite::ToSql,
) -> Result<WrappedKey, StoreError> {
    let sql = format!(
        "SELECT salt, memory_kib, iterations, parallelism, wrapped_key FROM vault_keys WHERE {filter}"
    );
    let (salt, memory_kib, iterations, parallelism, sealed): (Vec<u8>, u32, u32, u32, Vec<u8>) =
        conn.query_row(&sql, [param], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?
        .ok_or(StoreError::NotInitialized)?;
    let salt: [u8; SALT_LEN] = salt
        .try_into()
        .map_err(|_| StoreError::Corrupt("vault key salt".into()))?;
    Ok(WrappedKey {
        salt,
        params: KdfParams {
            memory_kib,
            iterations,
            parallelism,
        },
        sealed,
    })
}

impl Store {
    /// True once `init` has run (the vault exists).
    pub fn is_initialized(&self) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM vault)", [], |r| r.get(0))?)
    }

    /// First set-up: makes the data key, the evidence key pair, the device-wide PIN salt,
    /// the first administrator and the recovery code, all in one transaction. Returns the
    /// recovery code, which is shown once and never stored in clear.
    pub fn initialize(
        &mut self,
        admin_name: &str,
        passphrase: &Passphrase,
        kdf: KdfParams,
        now: DateTime<Utc>,
    ) -> Result<(AdminId, RecoveryCode), StoreError> {
        check_admin_name(admin_name)?;
        let tx = self.write()?;
        if tx.query_row("SELECT EXISTS (SELECT 1 FROM vault)", [], |r| {
            r.get::<_, bool>(0)
        })? {
            return Err(StoreError::AlreadyInitialized);
        }
        let key = DataKey::generate()?;
        let evidence = EvidenceSecretKey::generate()?;
        let pins = PinHasher::generate(kdf)?;
        let sealed_secret = key.seal(&evidence_secret_aad(), evidence.to_bytes().as_ref())?;
        tx.execute(
            "INSERT INTO vault (id, created_at, pin_salt, pin_memory_kib, pin_iterations, pin_parallelism,
                                evidence_public_key, evidence_secret_key)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                db_time(now),
                pins.salt.as_slice(),
                kdf.memory_kib,
                kdf.iterations,
                kdf.parallelism,
                evidence.public_key().0.as_slice(),
                sealed_secret
            ],
        )?;
        tx.execute(
            "INSERT INTO admins (name, created_at) VALUES (?1, ?2)",
            params![admin_name, db_time(now)],
        )?;
        let admin = AdminId(tx.last_insert_rowid());
        let wrapped = key.wrap(passphrase.expose(), kdf, &admin_label(admin))?;
        insert_wrapped(&tx, "admin", Some(admin), &wrapped, now)?;
        let code = RecoveryCode::generate()?;
        let wrapped = key.wrap(code.expose(), kdf, RECOVERY_LABEL)?;
        insert_wrapped(&tx, "recovery", None, &wrapped, now)?;
        audit_in(
            &tx,
            now,
            "setup",
            None,
            Some(admin),
            "vault created, first administrator added",
        )?;
        tx.commit()?;
        Ok((admin, code))
    }

    /// The administrators' names and ids, oldest first.
    pub fn admins(&self) -> Result<Vec<(AdminId, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name FROM admins ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((AdminId(r.get(0)?), r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Finds the administrator by name, or the only one when `name` is `None`.
    pub fn resolve_admin(&self, name: Option<&str>) -> Result<AdminId, StoreError> {
        let admins = self.admins()?;
        match name {
            Some(name) => admins
                .iter()
                .find(|(_, n)| n == name)
                .map(|(id, _)| *id)
                .ok_or_else(|| StoreError::NoSuchAdmin(name.to_owned())),
            None => match admins.as_slice() {
                [] => Err(StoreError::NotInitialized),
                [(id, _)] => Ok(*id),
                many => Err(StoreError::WhichAdmin(many.len())),
            },
        }
    }

    /// Opens an admin session with `admin`'s passphrase.
    pub fn unlock(
        &self,
        admin: AdminId,
        passphrase: &Passphrase,
    ) -> Result<AdminSession, StoreError> {
        let wrapped = load_wrapped(&self.conn, "admin_id = ?1", &admin.0)?;
        let key = match wrapped.unwrap(passphrase.expose(), &admin_label(admin)) {
            Err(VaultError::WrongSecret) => return Err(StoreError::WrongPassphrase),
            other => other?,
        };
        Ok(AdminSession {
            admin: Some(admin),
            key,
        })
    }

    /// Opens a session with the recovery code (to clear a hard lock or reset a
    /// passphrase).
    pub fn unlock_with_recovery(&self, code: &RecoveryCode) -> Result<AdminSession, StoreError> {
        let wrapped = load_wrapped(&self.conn, "kind = ?1", &"recovery")?;
        let key = match wrapped.unwrap(code.expose(), RECOVERY_LABEL) {
            Err(VaultError::WrongSecret) => return Err(StoreError::WrongRecoveryCode),
            other => other?,
        };
        Ok(AdminSession { admin: None, key })
    }

    /// Sets `admin`'s passphrase: the data key is wrapped again under the new one.
    /// Nothing else is re-encrypted.
    pub fn change_passphrase(
        &mut self,
        session: &AdminSession,
        admin: AdminId,
        new: &Passphrase,
        kdf: KdfParams,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let wrapped = session.key.wrap(new.expose(), kdf, &admin_label(admin))?;
        let tx = self.write()?;
        let changed = tx.execute(
            "UPDATE vault_keys SET salt = ?1, memory_kib = ?2, iterations = ?3, parallelism = ?4, wrapped_key = ?5,
                                   updated_at = ?6
             WHERE admin_id = ?7",
            params![
                wrapped.salt.as_slice(),
                kdf.memory_kib,
                kdf.iterations,
                kdf.parallelism,
                wrapped.sealed,
                db_time(now),
                admin.0
            ],
        )?;
        if changed != 1 {
            return Err(StoreError::NoSuchAdmin(format!("#{}", admin.0)));
        }
        let how = if session.admin.is_some() {
            "passphrase changed"
        } else {
            "passphrase reset with the recovery code"
        };
        audit_in(&tx, now, "passphrase_changed", None, Some(admin), how)?;
        tx.commit()?;
        Ok(())
    }

    /// The device-wide PIN hasher (salt and parameters made at set-up).
    pub fn pin_hasher(&self) -> Result<PinHasher, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT pin_salt, pin_memory_kib, pin_iterations, pin_parallelism FROM vault",
                [],
                |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?
            .ok_or(StoreError::NotInitialized)?;
        let salt = row
            .0
            .try_into()
            .map_err(|_| StoreError::Corrupt("PIN salt".into()))?;
        Ok(PinHasher {
            salt,
            params: KdfParams {
                memory_kib: row.1,
                iterations: row.2,
                parallelism: row.3,
            },
        })
    }

    /// The vault's public key, to seal evidence with no administrator present.
    pub fn evidence_public_key(&self) -> Result<EvidencePublicKey, StoreError> {
        let bytes: Vec<u8> = self
            .conn
            .query_row("SELECT evidence_public_key FROM vault", [], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::NotInitialized)?;
        let bytes = bytes
            .try_into()
            .map_err(|_| StoreError::Corrupt("evidence public key".into()))?;
        Ok(EvidencePublicKey(bytes))
    }

    /// The vault's evidence secret key, opened with the session's data key.
    pub fn evidence_secret_key(
        &self,
        session: &AdminSession,
    ) -> Result<EvidenceSecretKey, StoreError> {
        let sealed: Vec<u8> = self
            .conn
            .query_row("SELECT evidence_secret_key FROM vault", [], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::NotInitialized)?;
        let plain = session
            .key
            .open(&evidence_secret_aad(), &sealed)
            .map_err(|e| match e {
                VaultError::Integrity => StoreError::Integrity {
                    row: "vault".into(),
                    column: "evidence secret key",
                },
                other => other.into(),
            })?;
        Ok(EvidenceSecretKey::from_bytes(&plain)?)
    }
}

fn insert_wrapped(
    tx: &rusqlite::Transaction<'_>,
    kind: &str,
    admin: Option<AdminId>,
    wrapped: &WrappedKey,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO vault_keys (kind, admin_id, salt, memory_kib, iterations, parallelism, wrapped_key, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            kind,
            admin.map(|a| a.0),
            wrapped.salt.as_slice(),
            wrapped.params.memory_kib,
            wrapped.params.iterations,
            wrapped.params.parallelism,
            wrapped.sealed,
            db_time(now)
        ],
    )?;
    Ok(())
}
