//! The admin panel's side of the kiosk core: signing in (passphrase or recovery code),
//! the session, enrollment, the people list, the audit log with its evidence, the
//! alerts. Everything needs the signed-in session (the data key) except the sign-in.
//!
//! Must not keep personal details beyond the call that reads them.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::{Core, View};
use crate::access::{Clearer, Credential, Event};
use crate::ids::PersonId;
use crate::person::{Field, FieldError, PersonDetails, check_photo};
use crate::store::{AdminSession, AlertRow, AuditEntry, NewPerson, StoreError};
use crate::vault::{Passphrase, Pin, RecoveryCode};

/// What the admin panel's home shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSummary {
    /// Who is signed in.
    pub admin: String,
    /// People enrolled.
    pub people: u64,
    /// Deliveries waiting or being retried.
    pub alerts_waiting: u64,
    /// Deliveries that failed for good or expired.
    pub alerts_failed: u64,
    /// The keypad is locked out or hard-locked.
    pub keypad_locked: bool,
}

/// A person as the people list shows them.
#[derive(Debug, Clone)]
pub struct PersonLine {
    /// Their id.
    pub id: PersonId,
    /// Name.
    pub name: String,
    /// E-mail and phone, as one line.
    pub contact: String,
    /// False when disabled.
    pub enabled: bool,
    /// The enrollment photo (JPEG), if any.
    pub photo: Option<Vec<u8>>,
}

/// A person to enroll, as typed on the enrollment screen.
pub struct Enrollment {
    /// Full name.
    pub name: String,
    /// E-mail, or "".
    pub email: String,
    /// Phone, or "".
    pub phone: String,
    /// Notes, or "".
    pub notes: String,
    /// The PIN's digits.
    pub pin: zeroize::Zeroizing<String>,
    /// The duress PIN's digits, or "".
    pub duress: zeroize::Zeroizing<String>,
    /// The enrollment photo (JPEG).
    pub photo: Option<Vec<u8>>,
}

/// Why an admin action was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No administrator is signed in (the session timed out).
    #[error("the administrator session has ended; sign in again")]
    NoSession,
    /// The form has problems, each on its field.
    #[error("{} problem(s) in the form", .0.len())]
    Form(Vec<FieldError>),
    /// The database refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Core {
    /// Signs an administrator in with a passphrase typed on screen. A wrong
    /// passphrase counts as a failed attempt (and may lock the keypad out); the view
    /// says what to show then.
    pub fn admin_login(
        &mut self,
        passphrase: &str,
        now: DateTime<Utc>,
    ) -> Result<AdminSummary, View> {
        if !self.machine.admin_login_open(now) {
            return Err(self.current_view(now));
        }
        let opened = Passphrase::parse(passphrase).ok().and_then(|pass| {
            let admins = self.store.admins().ok()?;
            admins
                .iter()
                .find_map(|(id, _)| self.store.unlock(*id, &pass).ok())
        });
        match opened {
            Some(session) => {
                let Some(admin) = session.admin() else {
                    return Err(self.current_view(now));
                };
                let commands = self.machine.handle(Event::AdminLoginSucceeded(admin), now);
                self.apply(commands, Instant::now(), now);
                self.session = Some(session);
                self.summary(now).map_err(|e| {
                    tracing::error!("admin panel: {e}");
                    self.current_view(now)
                })
            }
            None => {
                let failed = Event::AdminLoginFailed {
                    via: Credential::Passphrase,
                };
                let commands = self.machine.handle(failed, now);
                Err(self
                    .apply(commands, Instant::now(), now)
                    .unwrap_or_else(|| self.current_view(now)))
            }
        }
    }

    /// The recovery code typed on the sign-in screen: clears a lockout or hard lock
    /// (the way back when the passphrase is forgotten; a new one is set at the shell
    /// with `doorguard passwd --recovery`). A wrong code counts as a failed attempt:
    /// `Err` with the view to show then.
    pub fn recovery(&mut self, code: &str, now: DateTime<Utc>) -> Result<View, View> {
        if !self.machine.admin_login_open(now) {
            return Err(self.current_view(now));
        }
        let opened = RecoveryCode::parse(code)
            .ok()
            .and_then(|code| self.store.unlock_with_recovery(&code).ok());
        let event = match opened {
            Some(_session) => Event::ClearLockout {
                by: Clearer::RecoveryCode,
            },
            None => Event::AdminLoginFailed {
                via: Credential::RecoveryCode,
            },
        };
        let cleared = matches!(event, Event::ClearLockout { .. });
        let commands = self.machine.handle(event, now);
        let view = self
            .apply(commands, Instant::now(), now)
            .unwrap_or_else(|| self.current_view(now));
        if cleared {
            self.photos.clear();
            self.photo_taken = false;
            Ok(view)
        } else {
            Err(view)
        }
    }

    /// A touch in the admin panel: the session stays open.
    pub fn admin_activity(&mut self, now: DateTime<Utc>) {
        if self.session.is_some() {
            let commands = self.machine.handle(Event::AdminActivity, now);
            self.apply(commands, Instant::now(), now);
        }
    }

    /// "Lock": ends the session at once.
    pub fn admin_logout(&mut self, now: DateTime<Utc>) -> View {
        let commands = self.machine.handle(Event::AdminLockNow, now);
        self.session = None;
        self.apply(commands, Instant::now(), now)
            .unwrap_or_else(|| self.current_view(now))
    }

    /// Whether an administrator is signed in.
    pub fn is_admin(&self) -> bool {
        self.session.is_some()
    }

    fn session(&self) -> Result<&AdminSession, AdminError> {
        self.session.as_ref().ok_or(AdminError::NoSession)
    }

    /// What the admin panel's home shows.
    pub fn summary(&self, now: DateTime<Utc>) -> Result<AdminSummary, AdminError> {
        let session = self.session()?;
        let admin = session
            .admin()
            .and_then(|id| {
                let admins = self.store.admins().ok()?;
                admins.into_iter().find(|(a, _)| *a == id).map(|(_, n)| n)
            })
            .unwrap_or_else(|| "recovery".to_owned());
        let (alerts_waiting, alerts_failed) = self.store.delivery_counts()?;
        Ok(AdminSummary {
            admin,
            people: self.store.people_count()?,
            alerts_waiting,
            alerts_failed,
            keypad_locked: self.machine.lockout_remaining(now).is_some()
                || self.machine.is_hard_locked(),
        })
    }

    /// Clears a lockout or hard lock from the admin panel.
    pub fn clear_lockout(&mut self, now: DateTime<Utc>) -> Result<(), AdminError> {
        let admin = self.session()?.admin().ok_or(AdminError::NoSession)?;
        let commands = self.machine.handle(
            Event::ClearLockout {
                by: Clearer::Admin(admin),
            },
            now,
        );
        self.apply(commands, Instant::now(), now);
        self.photos.clear();
        self.photo_taken = false;
        Ok(())
    }

    /// Checks a form without saving it: every problem, each on its field.
    pub fn check_enrollment(&self, form: &Enrollment) -> Vec<FieldError> {
        let mut problems = PersonDetails::new(
            &form.name,
            Some(&form.email),
            Some(&form.phone),
            Some(&form.notes),
        )
        .err()
        .unwrap_or_default();
        if Pin::parse(&form.pin).is_err() {
            problems.push(FieldError::new(Field::Pin, "6 to 8 digits"));
        }
        if !form.duress.is_empty() {
            if Pin::parse(&form.duress).is_err() {
                problems.push(FieldError::new(Field::DuressPin, "6 to 8 digits, or none"));
            } else if *form.duress == *form.pin {
                problems.push(FieldError::new(
                    Field::DuressPin,
                    "must differ from the PIN",
                ));
            }
        }
        if let Some(photo) = &form.photo
            && let Err(e) = check_photo(photo)
        {
            problems.push(e);
        }
        problems
    }

    /// Enrolls a person from the enrollment screen.
    pub fn enroll(
        &mut self,
        form: &Enrollment,
        now: DateTime<Utc>,
    ) -> Result<PersonId, AdminError> {
        let problems = self.check_enrollment(form);
        if !problems.is_empty() {
            return Err(AdminError::Form(problems));
        }
        let details = PersonDetails::new(
            &form.name,
            Some(&form.email),
            Some(&form.phone),
            Some(&form.notes),
        )
        .map_err(AdminError::Form)?;
        let hash = |digits: &str| -> Result<_, AdminError> {
            let pin = Pin::parse(digits).map_err(|_| {
                AdminError::Form(vec![FieldError::new(Field::Pin, "6 to 8 digits")])
            })?;
            Ok(self.hasher.hash(&pin).map_err(StoreError::from)?)
        };
        let person = NewPerson {
            details,
            photo: form.photo.clone().map(zeroize::Zeroizing::new),
            pin: hash(&form.pin)?,
            duress: if form.duress.is_empty() {
                None
            } else {
                Some(hash(&form.duress)?)
            },
        };
        let session = self.session.as_ref().ok_or(AdminError::NoSession)?;
        match self.store.add_person(session, &person, now) {
            Ok(id) => Ok(id),
            Err(StoreError::PinTaken { duress }) => Err(AdminError::Form(vec![FieldError::new(
                if duress { Field::DuressPin } else { Field::Pin },
                "already in use on this kiosk; choose another",
            )])),
            Err(e) => Err(e.into()),
        }
    }

    /// Everyone enrolled, details opened, with a small photo when there is one.
    pub fn people(&self) -> Result<Vec<PersonLine>, AdminError> {
        let session = self.session()?;
        let mut out = Vec::new();
        for person in self.store.people(session)? {
            match person {
                Ok(p) => {
                    let d = &p.details;
                    let contact = [d.email.as_deref(), d.phone.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" · ");
                    let photo = if p.has_photo {
                        self.store.photo(session, p.id)?.map(|jpeg| jpeg.to_vec())
                    } else {
                        None
                    };
                    out.push(PersonLine {
                        id: p.id,
                        name: d.name.clone(),
                        contact,
                        enabled: p.enabled,
                        photo,
                    });
                }
                Err(e) => tracing::error!("people list: {e}"),
            }
        }
        Ok(out)
    }

    /// Disables or enables a person's PINs.
    pub fn set_enabled(
        &mut self,
        id: PersonId,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> Result<(), AdminError> {
        let session = self.session.as_ref().ok_or(AdminError::NoSession)?;
        Ok(self.store.set_enabled(session, id, enabled, now)?)
    }

    /// Deletes a person (details, photo, PINs).
    pub fn delete_person(&mut self, id: PersonId, now: DateTime<Utc>) -> Result<(), AdminError> {
        let session = self.session.as_ref().ok_or(AdminError::NoSession)?;
        Ok(self.store.delete_person(session, id, now)?)
    }

    /// Gives a person a new PIN.
    pub fn set_pin(
        &mut self,
        id: PersonId,
        digits: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AdminError> {
        let pin = Pin::parse(digits)
            .map_err(|_| AdminError::Form(vec![FieldError::new(Field::Pin, "6 to 8 digits")]))?;
        let hash = self.hasher.hash(&pin).map_err(StoreError::from)?;
        let session = self.session.as_ref().ok_or(AdminError::NoSession)?;
        match self.store.set_pin(session, id, &hash, now) {
            Err(StoreError::PinTaken { .. }) => Err(AdminError::Form(vec![FieldError::new(
                Field::Pin,
                "already in use on this kiosk; choose another",
            )])),
            other => Ok(other?),
        }
    }

    /// An evidence photo as a small RGB thumbnail (`width` pixels wide), opened with
    /// the administrator's session.
    pub fn evidence_thumbnail(
        &self,
        id: i64,
        width: u32,
    ) -> Result<Option<(Vec<u8>, u32, u32)>, AdminError> {
        let session = self.session()?;
        let Some(jpeg) = self.store.evidence_photo(session, id)? else {
            return Ok(None);
        };
        let Ok((rgb, w, h)) = crate::hw::camera::decode_jpeg(&jpeg) else {
            return Ok(None);
        };
        Ok(Some(crate::hw::camera::downscale_rgb(&rgb, w, h, width)))
    }

    /// The newest audit records.
    pub fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>, AdminError> {
        self.session()?;
        Ok(self.store.recent_audit(limit)?)
    }

    /// The newest alerts with their deliveries.
    pub fn alerts(&self, limit: usize) -> Result<Vec<AlertRow>, AdminError> {
        self.session()?;
        Ok(self.store.alerts(limit)?)
    }

    /// Puts an alert's failed deliveries back in the queue.
    pub fn retry_alert(&mut self, id: i64, now: DateTime<Utc>) -> Result<usize, AdminError> {
        self.session()?;
        let n = self.store.retry_alert(id, now)?;
        if let Some(outbox) = &self.parts.outbox {
            outbox.wake();
        }
        Ok(n)
    }
}
