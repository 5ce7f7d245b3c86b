//! Enrolled people: sealed details and photos, PIN hashes, enable/disable/delete, and
//! the PIN lookup the keypad uses.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use zeroize::Zeroizing;

use super::{AdminSession, Store, StoreError, audit_in, db_time, parse_db_time};
use crate::ids::PersonId;
use crate::person::PersonDetails;
use crate::vault::{DataKey, PinHash, VaultError, column_aad};

/// A person to enroll: details, optional photo, and PIN hashes made by the device's
/// [`PinHasher`](crate::vault::PinHasher).
#[derive(Debug)]
pub struct NewPerson {
    /// Validated details.
    pub details: PersonDetails,
    /// Enrollment photo (JPEG), if one was taken.
    pub photo: Option<Zeroizing<Vec<u8>>>,
    /// Hash of the person's PIN.
    pub pin: PinHash,
    /// Hash of the optional duress PIN.
    pub duress: Option<PinHash>,
}

/// An enrolled person, details opened.
#[derive(Debug)]
pub struct Person {
    /// Row id.
    pub id: PersonId,
    /// Name, e-mail, phone, notes.
    pub details: PersonDetails,
    /// False when disabled: the PIN then opens nothing.
    pub enabled: bool,
    /// Whether a duress PIN is set.
    pub has_duress: bool,
    /// Whether an enrollment photo is stored.
    pub has_photo: bool,
    /// When enrolled.
    pub created_at: DateTime<Utc>,
}

/// What the keypad learns from a PIN hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinMatch {
    /// Whose PIN it is.
    pub person: PersonId,
    /// True for the person's duress PIN.
    pub duress: bool,
    /// False when the person is disabled.
    pub enabled: bool,
}

const TABLE: &str = "people";

fn open_column(
    key: &DataKey,
    id: i64,
    column: &'static str,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    key.open(&column_aad(TABLE, id, column), sealed)
        .map_err(|e| match e {
            VaultError::Integrity | VaultError::Format => StoreError::Integrity {
                row: PersonId(id).to_string(),
                column,
            },
            other => other.into(),
        })
}

fn open_text(
    key: &DataKey,
    id: i64,
    column: &'static str,
    sealed: &[u8],
) -> Result<String, StoreError> {
    let plain = open_column(key, id, column, sealed)?;
    String::from_utf8(plain.to_vec()).map_err(|_| StoreError::Integrity {
        row: PersonId(id).to_string(),
        column,
    })
}

fn open_optional(
    key: &DataKey,
    id: i64,
    column: &'static str,
    sealed: Option<Vec<u8>>,
) -> Result<Option<String>, StoreError> {
    sealed.map(|s| open_text(key, id, column, &s)).transpose()
}

fn insert_person(
    tx: &Transaction<'_>,
    key: &DataKey,
    person: &NewPerson,
    now: DateTime<Utc>,
) -> Result<PersonId, StoreError> {
    tx.execute(
        "INSERT INTO people (name, created_at, updated_at) VALUES (x'', ?1, ?1)",
        [db_time(now)],
    )?;
    let id = tx.last_insert_rowid();
    let seal = |column: &str, value: Option<&[u8]>| -> Result<Option<Vec<u8>>, StoreError> {
        Ok(value
            .map(|v| key.seal(&column_aad(TABLE, id, column), v))
            .transpose()?)
    };
    let d = &person.details;
    tx.execute(
        "UPDATE people SET name = ?1, email = ?2, phone = ?3, notes = ?4, photo = ?5 WHERE id = ?6",
        params![
            seal("name", Some(d.name.as_bytes()))?,
            seal("email", d.email.as_deref().map(str::as_bytes))?,
            seal("phone", d.phone.as_deref().map(str::as_bytes))?,
            seal("notes", d.notes.as_deref().map(str::as_bytes))?,
            seal("photo", person.photo.as_deref().map(Vec::as_slice))?,
            id
        ],
    )?;
    insert_pin(tx, id, &person.pin, "normal")?;
    if let Some(duress) = &person.duress {
        insert_pin(tx, id, duress, "duress")?;
    }
    Ok(PersonId(id))
}

fn insert_pin(
    tx: &Transaction<'_>,
    person: i64,
    hash: &PinHash,
    kind: &str,
) -> Result<(), StoreError> {
    match tx.execute(
        "INSERT INTO pins (hash, person_id, kind) VALUES (?1, ?2, ?3)",
        params![hash.0.as_slice(), person, kind],
    ) {
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::PinTaken {
                duress: kind == "duress",
            })
        }
        other => other.map(drop).map_err(Into::into),
    }
}

fn decode_person(key: &DataKey, row: &rusqlite::Row<'_>) -> Result<Person, StoreError> {
    let id: i64 = row.get(0)?;
    let details = PersonDetails {
        name: open_text(key, id, "name", &row.get::<_, Vec<u8>>(1)?)?,
        email: open_optional(key, id, "email", row.get(2)?)?,
        phone: open_optional(key, id, "phone", row.get(3)?)?,
        notes: open_optional(key, id, "notes", row.get(4)?)?,
    };
    Ok(Person {
        id: PersonId(id),
        details,
        has_photo: row.get(5)?,
        enabled: row.get(6)?,
        created_at: parse_db_time(&row.get::<_, String>(7)?)?,
        has_duress: row.get(8)?,
    })
}

impl Store {
    /// Enrolls one person (details sealed under the session's key) in one transaction
    /// with its audit record.
    pub fn add_person(
        &mut self,
        session: &AdminSession,
        person: &NewPerson,
        now: DateTime<Utc>,
    ) -> Result<PersonId, StoreError> {
        let mut ids = self
            .add_people(session, std::slice::from_ref(person), now)
            .map_err(|e| match e {
                StoreError::InBatch { source, .. } => *source,
                other => other,
            })?;
        ids.pop()
            .ok_or_else(|| StoreError::Corrupt("enrollment returned no id".into()))
    }

    /// Enrolls several people in one transaction: all of them, or none (the error says
    /// which entry failed).
    pub fn add_people(
        &mut self,
        session: &AdminSession,
        people: &[NewPerson],
        now: DateTime<Utc>,
    ) -> Result<Vec<PersonId>, StoreError> {
        let tx = self.write()?;
        let mut ids = Vec::with_capacity(people.len());
        for (index, person) in people.iter().enumerate() {
            let id = insert_person(&tx, session.key(), person, now).map_err(|e| {
                StoreError::InBatch {
                    index,
                    source: Box::new(e),
                }
            })?;
            audit_in(&tx, now, "person_added", Some(id), session.admin(), "")?;
            ids.push(id);
        }
        tx.commit()?;
        Ok(ids)
    }

    /// Every person in enrollment order, each opened on its own: a row that fails its
    /// integrity check is an `Err` naming it, and the others still open.
    pub fn people(
        &self,
        session: &AdminSession,
    ) -> Result<Vec<Result<Person, StoreError>>, StoreError> {
        self.query_people(session, "", [])
    }

    /// One person, details opened.
    pub fn person(&self, session: &AdminSession, id: PersonId) -> Result<Person, StoreError> {
        self.query_people(session, "WHERE p.id = ?1", [id.0])?
            .pop()
            .ok_or(StoreError::NoSuchPerson(id))?
    }

    fn query_people(
        &self,
        session: &AdminSession,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Result<Person, StoreError>>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT p.id, p.name, p.email, p.phone, p.notes, p.photo IS NOT NULL, p.enabled, p.created_at,
                    EXISTS (SELECT 1 FROM pins WHERE person_id = p.id AND kind = 'duress')
             FROM people p {filter} ORDER BY p.id"
        ))?;
        let mut rows = stmt.query(params)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(decode_person(session.key(), row));
        }
        Ok(out)
    }

    /// The enrollment photo (JPEG), if any.
    pub fn photo(
        &self,
        session: &AdminSession,
        id: PersonId,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let sealed: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT photo FROM people WHERE id = ?1", [id.0], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or(StoreError::NoSuchPerson(id))?;
        sealed
            .map(|s| open_column(session.key(), id.0, "photo", &s))
            .transpose()
    }

    /// Enables or disables a person (a disabled person's PIN opens nothing).
    pub fn set_enabled(
        &mut self,
        session: &AdminSession,
        id: PersonId,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.write()?;
        let n = tx.execute(
            "UPDATE people SET enabled = ?1, updated_at = ?2 WHERE id = ?3",
            params![enabled, db_time(now), id.0],
        )?;
        if n == 0 {
            return Err(StoreError::NoSuchPerson(id));
        }
        let kind = if enabled {
            "person_enabled"
        } else {
            "person_disabled"
        };
        audit_in(&tx, now, kind, Some(id), session.admin(), "")?;
        tx.commit()?;
        Ok(())
    }

    /// Gives a person a new PIN (the old one stops working at once), in one
    /// transaction with its audit record. A PIN someone else has is refused.
    pub fn set_pin(
        &mut self,
        session: &AdminSession,
        id: PersonId,
        pin: &PinHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.write()?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM people WHERE id = ?1)",
            [id.0],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(StoreError::NoSuchPerson(id));
        }
        tx.execute(
            "DELETE FROM pins WHERE person_id = ?1 AND kind = 'normal'",
            [id.0],
        )?;
        insert_pin(&tx, id.0, pin, "normal")?;
        tx.execute(
            "UPDATE people SET updated_at = ?1 WHERE id = ?2",
            params![db_time(now), id.0],
        )?;
        audit_in(&tx, now, "pin_changed", Some(id), session.admin(), "")?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a person, their PINs and photo. The audit log keeps their id only.
    pub fn delete_person(
        &mut self,
        session: &AdminSession,
        id: PersonId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.write()?;
        let n = tx.execute("DELETE FROM people WHERE id = ?1", [id.0])?;
        if n == 0 {
            return Err(StoreError::NoSuchPerson(id));
        }
        audit_in(&tx, now, "person_deleted", Some(id), session.admin(), "")?;
        tx.commit()?;
        Ok(())
    }

    /// Looks a PIN hash up: one index probe, never a scan over people.
    pub fn find_pin(&self, hash: &PinHash) -> Result<Option<PinMatch>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT pins.person_id, pins.kind = 'duress', people.enabled
                 FROM pins JOIN people ON people.id = pins.person_id WHERE pins.hash = ?1",
                [hash.0.as_slice()],
                |r| {
                    Ok(PinMatch {
                        person: PersonId(r.get(0)?),
                        duress: r.get(1)?,
                        enabled: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// How many people are enrolled.
    pub fn people_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM people", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
