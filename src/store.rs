//! The SQLite database: schema and migrations, and every read and write of it.
//!
//! Owns the file: WAL journal, `synchronous = FULL` (a commit survives a power cut),
//! foreign keys, `secure_delete`, one transaction per logical change (the change and
//! its audit record commit together or not at all). Personal details and photos only
//! ever reach it sealed by the [`vault`](crate::vault); it keeps no plaintext of them.
//!
//! Must not: decide access (that is [`access`](crate::access)), talk to devices or the
//! network, or log a secret.
//!
//! # Troubleshooting
//! - "cannot open the database … unable to open database file": the folder does not
//!   exist or the user has no write access to it (the service keeps it in
//!   `/var/lib/doorguard`, owned by the `doorguard` user).
//! - "database is locked": another process held a write lock for more than 5 s; the
//!   kiosk and the command line share the file safely, so retry.
//! - "written by a newer doorguard": a newer release migrated this file; install that
//!   release again or restore a backup taken before the upgrade.

mod access_state;
mod admins;
mod audit;
mod outbox;
mod people;

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use rusqlite_migration::{M, Migrations};

use crate::ids::{AdminId, PersonId};
use crate::vault::VaultError;

pub use admins::AdminSession;
pub use audit::AuditEntry;
pub use outbox::{AlertRow, Delivery, DeliveryState, Due, PendingAlert};
pub use people::{NewPerson, Person, PinMatch};

/// The schema, one migration per version; `PRAGMA user_version` holds the version.
const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("store/migrations/001_initial.sql")),
    M::up(include_str!("store/migrations/002_outbox.sql")),
];

/// Errors of the store. None carries a secret or a personal detail.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be opened or created.
    #[error("cannot open the database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The folder for the database could not be created.
    #[error("cannot create the folder {path}: {source}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The schema could not be brought up to date.
    #[error("cannot bring the database schema up to date: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// Any other SQLite failure (disk full, I/O error, …).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// No administrator exists yet.
    #[error("the kiosk is not set up yet: run `doorguard init --admin NAME` first")]
    NotInitialized,
    /// `init` on a database that already has a vault.
    #[error("the kiosk is already set up; change a passphrase with `doorguard passwd`")]
    AlreadyInitialized,
    /// The passphrase did not open the administrator's key.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The recovery code did not open the recovery key.
    #[error("wrong recovery code")]
    WrongRecoveryCode,
    /// `--admin NAME` names nobody.
    #[error("no administrator is named {0:?}")]
    NoSuchAdmin(String),
    /// Several administrators exist and none was named.
    #[error("this kiosk has {0} administrators: say which one with --admin NAME")]
    WhichAdmin(usize),
    /// An administrator name breaks the rules.
    #[error("administrator name: 1 to 64 characters, no control characters")]
    AdminName,
    /// A sealed value did not open: tampered, or copied from another row or column.
    #[error("{row}: the {column} failed its integrity check (changed, or copied from another row)")]
    Integrity {
        /// Which row, e.g. "person 42".
        row: String,
        /// Which column.
        column: &'static str,
    },
    /// The PIN (or duress PIN) is already someone's.
    #[error("that {} is already in use on this kiosk; choose another", if *.duress { "duress PIN" } else { "PIN" })]
    PinTaken {
        /// True when it was the duress PIN.
        duress: bool,
    },
    /// No such person.
    #[error("{0} does not exist")]
    NoSuchPerson(PersonId),
    /// One entry of a batch failed; nothing of the batch was kept.
    #[error("entry {}: {source}", .index + 1)]
    InBatch {
        /// Zero-based index of the failing entry.
        index: usize,
        /// Why it failed.
        source: Box<StoreError>,
    },
    /// Stored data that is not what this version wrote.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// A backup could not be written.
    #[error("cannot write the backup {path}: {source}")]
    Backup {
        /// The destination.
        path: PathBuf,
        /// What went wrong.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The vault failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// Another process already sends this database's alerts.
    #[error("another doorguard process (the running kiosk or `doorguard alerts deliver`) is already sending the alerts of {}", .0.display())]
    OutboxBusy(PathBuf),
    /// A file next to the database could not be opened, or a thread not started.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// What the system said.
        source: std::io::Error,
    },
}

/// Formats a time the way the database stores it.
pub fn db_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_db_time(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("bad timestamp {s:?}")))
}

/// An open database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it to the
    /// current schema. A new file is readable by its owner only.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let existed = path.exists();
        let open_err = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        if !existed {
            restrict_to_owner(path);
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(open_err)?;
        Migrations::from_slice(MIGRATIONS).to_latest(&mut conn)?;
        Ok(Store {
            conn,
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a consistent copy of the database to `dest` with SQLite's online
    /// backup (the kiosk may keep running). The copy is private to its owner from its
    /// first byte, appears under its name only when complete, and never replaces an
    /// existing file.
    pub fn backup(&self, dest: &Path) -> Result<(), StoreError> {
        let fail = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Backup {
            path: dest.to_owned(),
            source,
        };
        let mut partial = dest.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let _ = std::fs::remove_file(&partial);
        create_private(&partial).map_err(|e| fail(Box::new(e)))?;
        let copied = self
            .conn
            .backup(rusqlite::MAIN_DB, &partial, None)
            .map_err(|e| fail(Box::new(e)))
            // A hard link fails when `dest` exists, unlike a rename.
            .and_then(|()| std::fs::hard_link(&partial, dest).map_err(|e| fail(Box::new(e))));
        let _ = std::fs::remove_file(&partial);
        copied?;
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| fail(Box::new(e)))?;
        }
        Ok(())
    }

    /// Begins a write transaction that takes the write lock at once, so two writers
    /// never interleave a read-then-write.
    fn write(&mut self) -> Result<Transaction<'_>, StoreError> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

/// Creates an empty file readable and writable by its owner only.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

#[cfg(unix)]
fn restrict_to_owner(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        tracing::warn!(path = %path.display(), "cannot make the file private: {e}");
    }
}

#[cfg(not(unix))]
fn restrict_to_owner(_path: &Path) {}

/// Writes one audit record inside the caller's transaction.
fn audit_in(
    tx: &Transaction<'_>,
    at: DateTime<Utc>,
    kind: &str,
    person: Option<PersonId>,
    admin: Option<AdminId>,
    detail: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit (at, kind, person_id, admin_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![
            db_time(at),
            kind,
            person.map(|p| p.0),
            admin.map(|a| a.0),
            detail
        ],
    )?;
    Ok(())
}
