//! The kiosk's imperative shell around the access rules: it turns what happens at the
//! door (a PIN typed, time passing) into [`Event`]s for the [`AccessMachine`], and
//! carries out the commands that come back — the state and audit records committed,
//! the relay and buzzer driven, the photo taken from the camera's pre-roll, the warning
//! spoken, the alert prepared with its photos and handed to the outbox worker — and
//! says which [`View`] to show.
//!
//! [`Core`] does all of that synchronously and knows nothing of Slint, so tests and
//! benchmarks drive it directly; [`CoreThread`] runs it on its own thread for the UI,
//! so hashing a PIN or writing the database never holds up a frame.
//!
//! Must not decide access itself (that is [`access`](crate::access)) and must never
//! leave a command unapplied because another failed: every failure is logged and the
//! rest carried out.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::access::{AccessMachine, Clearer, Command, Credential, Event, PinOutcome, Screen};
use crate::alerts::netinfo::PublicIp;
use crate::alerts::outbox::OutboxWorker;
use crate::alerts::{AlertPhoto, MAX_PHOTOS, Preparation, prepare_pending};
use crate::config::Settings;
use crate::hw::camera::CameraHandle;
use crate::hw::gpio::GpioHandle;
use crate::hw::speech::Speaker;
use crate::ids::PersonId;
use crate::person::{Field, FieldError, PersonDetails, check_photo};
use crate::store::{AdminSession, AlertRow, AuditEntry, NewPerson, Store, StoreError};
use crate::vault::{Passphrase, Pin, PinHasher, RecoveryCode};

/// What the door screen shows, as the core decided it.
#[derive(Debug, Clone, PartialEq)]
pub enum View {
    /// The keypad.
    Idle,
    /// The door is open.
    Granted {
        /// How long it stays open.
        open_for: Duration,
    },
    /// A wrong PIN.
    Wrong {
        /// Wrong PINs left before the keypad locks.
        remaining: u32,
    },
    /// A timed lockout.
    Lockout {
        /// When it ends.
        until: DateTime<Utc>,
        /// Consecutive failed attempts.
        attempts: u32,
        /// Whether a photo of the person was kept.
        photo_taken: bool,
    },
    /// A hard lock, until an administrator clears it.
    HardLock {
        /// Consecutive failed attempts.
        attempts: u32,
        /// Whether a photo of the person was kept.
        photo_taken: bool,
    },
    /// The admin panel.
    AdminHome,
}

/// What the kiosk needs from the outside to run its core.
pub struct Parts {
    /// The relay and buzzer.
    pub gpio: GpioHandle,
    /// The camera, if it could be started.
    pub camera: Option<CameraHandle>,
    /// The spoken warning, if available.
    pub speaker: Option<Speaker>,
    /// The alert worker to wake when an alert is ready, if it runs in this process.
    pub outbox: Option<OutboxWorker>,
}

impl Parts {
    /// The relay, buzzer and camera alone: no speech, no alert worker in this process
    /// (the demo, tests and benchmarks deliver alerts themselves).
    pub fn devices(gpio: GpioHandle, camera: Option<CameraHandle>) -> Parts {
        Parts {
            gpio,
            camera,
            speaker: None,
            outbox: None,
        }
    }
}

/// The shell's state: the database, the access rules and the devices.
pub struct Core {
    settings: Settings,
    store: Store,
    machine: AccessMachine,
    hasher: PinHasher,
    parts: Parts,
    public_ip: PublicIp,
    channels: Vec<&'static str>,
    /// The best photos of the current run of failed attempts, newest first.
    photos: Vec<AlertPhoto>,
    photo_taken: bool,
    /// The administrator's session (the data key), while one is signed in.
    session: Option<AdminSession>,
    /// The access state as last saved by this kiosk (or read at start): a different
    /// one in the database was written by someone else.
    saved: Option<crate::access::Snapshot>,
}

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
    /// Opens the kiosk on an initialized database: restores the access rules' saved
    /// state and brings the relay in line with it (held secure during a lockout).
    /// `channels` are the configured alert channels (one delivery each).
    pub fn open(
        settings: Settings,
        store: Store,
        parts: Parts,
        channels: Vec<&'static str>,
        now: DateTime<Utc>,
    ) -> Result<(Core, View), StoreError> {
        if !store.is_initialized()? {
            return Err(StoreError::NotInitialized);
        }
        let saved = store.access_snapshot()?;
        let machine = match saved.clone() {
            Some(snapshot) => AccessMachine::restore(settings.access.clone(), snapshot, now),
            None => AccessMachine::new(settings.access.clone()),
        };
        let hasher = store.pin_hasher()?;
        let public_ip = PublicIp::new(settings.alerts.public_ip_url.clone());
        let resume = machine.resume(now);
        let mut core = Core {
            settings,
            store,
            machine,
            hasher,
            parts,
            public_ip,
            channels,
            photos: Vec::new(),
            photo_taken: false,
            session: None,
            saved,
        };
        let view = core
            .apply(resume, Instant::now(), now)
            .unwrap_or_else(|| core.current_view(now));
        Ok((core, view))
    }

    /// The view the access rules' state calls for now.
    pub fn current_view(&self, now: DateTime<Utc>) -> View {
        self.view_of(self.machine.screen(now))
    }

    fn view_of(&self, screen: Screen) -> View {
        match screen {
            Screen::Idle => View::Idle,
            Screen::Granted(_) => View::Granted {
                open_for: self.settings.access.relay_pulse,
            },
            Screen::Wrong {
                remaining_before_lockout,
                ..
            } => View::Wrong {
                remaining: remaining_before_lockout,
            },
            Screen::Lockout { until, attempts } => View::Lockout {
                until,
                attempts,
                photo_taken: self.photo_taken,
            },
            Screen::HardLock { attempts } => View::HardLock {
                attempts,
                photo_taken: self.photo_taken,
            },
            Screen::AdminHome => View::AdminHome,
        }
    }

    /// A PIN was typed and submitted at `at` (the moment the photo must show).
    pub fn pin(&mut self, digits: &str, at: Instant, now: DateTime<Utc>) -> View {
        let outcome = match self.lookup(digits) {
            Ok(outcome) => outcome,
            Err(e) => {
                // A fault of the store must not open the door nor pass silently.
                tracing::error!("PIN check failed: {e}");
                PinOutcome::Wrong
            }
        };
        let commands = self.machine.handle(Event::Pin(outcome), now);
        self.apply(commands, at, now)
            .unwrap_or_else(|| self.current_view(now))
    }

    fn lookup(&self, digits: &str) -> Result<PinOutcome, StoreError> {
        // A PIN of the wrong shape is nobody's: it counts as a wrong attempt.
        let Ok(pin) = Pin::parse(digits) else {
            return Ok(PinOutcome::Wrong);
        };
        let hash = self.hasher.hash(&pin)?;
        Ok(match self.store.find_pin(&hash)? {
            None => PinOutcome::Wrong,
            Some(m) if !m.enabled => PinOutcome::Disabled(m.person),
            Some(m) if m.duress => PinOutcome::Duress(m.person),
            Some(m) => PinOutcome::Granted(m.person),
        })
    }

    /// A door, tamper or exit-button event: alarms, alerts, the exit pulse.
    pub fn device(&mut self, event: Event, now: DateTime<Utc>) -> Option<View> {
        let commands = self.machine.handle(event, now);
        self.apply(commands, Instant::now(), now)
    }

    /// Time passed: lockouts end, admin sessions time out, the door is held open too
    /// long. Returns the view when it changed.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Option<View> {
        if let Some(view) = self.reload_if_changed(now) {
            return Some(view);
        }
        let due = self.machine.next_deadline().is_some_and(|d| d <= now);
        if !due {
            return None;
        }
        let before = self.machine.screen(now);
        let commands = self.machine.handle(Event::Tick, now);
        let shown = self.apply(commands, Instant::now(), now);
        let after = self.machine.screen(now);
        if after == Screen::Idle {
            self.photos.clear();
            self.photo_taken = false;
        }
        shown.or_else(|| (before != after).then(|| self.view_of(after)))
    }

    /// Takes over the access state saved by another process — `doorguard unlock` at the
    /// shell clearing a lockout — when it differs from the kiosk's own: the relay hold
    /// and the alarm end, the keypad comes back.
    fn reload_if_changed(&mut self, now: DateTime<Utc>) -> Option<View> {
        let stored = match self.store.access_snapshot() {
            Ok(Some(stored)) => stored,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!("cannot read the saved access state: {e}");
                return None;
            }
        };
        if self.saved.as_ref() == Some(&stored) {
            return None;
        }
        self.saved = Some(stored.clone());
        tracing::info!("the access state was changed outside the kiosk; taking it over");
        let was_locked =
            self.machine.lockout_remaining(now).is_some() || self.machine.is_hard_locked();
        let admin = self.machine.admin_session();
        self.machine = AccessMachine::restore(self.settings.access.clone(), stored, now);
        let locked = self.machine.lockout_remaining(now).is_some() || self.machine.is_hard_locked();
        if was_locked && !locked {
            for command in [Command::ReleaseRelayHold, Command::StopBuzzer] {
                if let Err(e) = self.parts.gpio.send(command) {
                    tracing::error!("GPIO: {e}");
                }
            }
            self.photos.clear();
            self.photo_taken = false;
        }
        if admin.is_some() {
            // A restored state has no admin session: the panel closes with it.
            self.session = None;
        }
        let commands = self.machine.resume(now);
        Some(
            self.apply(commands, Instant::now(), now)
                .unwrap_or_else(|| self.current_view(now)),
        )
    }

    /// When [`Core::tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.machine.next_deadline()
    }

    /// The database, for status queries.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Carries out the commands of one event; returns the screen they asked for.
    fn apply(&mut self, commands: Vec<Command>, at: Instant, now: DateTime<Utc>) -> Option<View> {
        let alerts = match self
            .store
            .record_access_outcome(&self.machine, &commands, now)
        {
            Ok(ids) => ids,
            Err(e) => {
                tracing::error!("cannot record the access event: {e}");
                Vec::new()
            }
        };
        // The photo of the event is the evidence of its first audit record.
        let evidence_of = commands.iter().find_map(|c| match c {
            Command::Audit(record) => Some(record.kind.as_str()),
            _ => None,
        });
        let mut view = None;
        for command in commands {
            match command {
                Command::PulseRelay(_)
                | Command::HoldRelaySecure
                | Command::ReleaseRelayHold
                | Command::Buzzer { .. }
                | Command::StopBuzzer => {
                    if let Err(e) = self.parts.gpio.send(command) {
                        tracing::error!("GPIO: {e}");
                    }
                }
                Command::Capture(reason) => self.capture(reason, at, evidence_of, now),
                Command::Speak(what) => {
                    if let Some(speaker) = &self.parts.speaker {
                        drop(speaker.speak(what));
                    }
                }
                Command::Show(screen) => view = Some(screen),
                // Dropping the session zeroizes the data key.
                Command::EndAdminSession => self.session = None,
                Command::Persist | Command::Alert(_) | Command::Audit(_) => {}
            }
        }
        if !alerts.is_empty() {
            self.prepare_alerts(now);
        }
        if let Some(Screen::Granted(_)) = view {
            self.photos.clear();
            self.photo_taken = false;
        }
        view.map(|screen| self.view_of(screen))
    }

    fn capture(
        &mut self,
        reason: crate::access::CaptureReason,
        at: Instant,
        evidence_of: Option<&str>,
        now: DateTime<Utc>,
    ) {
        let Some(camera) = &self.parts.camera else {
            return;
        };
        let burst = self.settings.camera.burst.max(1) as usize;
        match camera.burst_or_next(at, burst, 1) {
            Ok(mut photos) => {
                if let Some(best) = photos.pop() {
                    let photo = AlertPhoto::from(best);
                    if let Some(kind) = evidence_of {
                        let retention = self.settings.alerts.evidence_retention;
                        if let Err(e) =
                            self.store
                                .attach_evidence(kind, &photo.jpeg, now, retention)
                        {
                            tracing::error!("cannot keep the photo as evidence: {e}");
                        }
                    }
                    self.photos.insert(0, photo);
                    self.photos.truncate(MAX_PHOTOS);
                    self.photo_taken = true;
                }
            }
            Err(no_photo) => tracing::warn!(?reason, "{no_photo}"),
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

    fn prepare_alerts(&mut self, now: DateTime<Utc>) {
        let how = Preparation {
            kiosk: &self.settings.kiosk.name,
            place: self.settings.alerts.place.clone(),
            public_ip: &self.public_ip,
            channels: &self.channels,
            evidence_retention: self.settings.alerts.evidence_retention,
        };
        let photos = self.photos.clone();
        match prepare_pending(&mut self.store, &how, |_| photos.clone(), || now) {
            Ok(ids) => {
                tracing::info!(?ids, "alerts committed to the outbox");
                if let Some(outbox) = &self.parts.outbox {
                    outbox.wake();
                }
            }
            // Raised alerts stay in the outbox; the next preparation picks them up.
            Err(e) => tracing::error!("cannot prepare the alert: {e}"),
        }
    }
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

/// Work for the core thread, run with the core in hand.
pub type Job = Box<dyn FnOnce(&mut Core) + Send>;

/// A request to the core thread.
pub enum Request {
    /// A PIN submitted at an instant.
    Pin(zeroize::Zeroizing<String>, Instant),
    /// Any other work (the admin panel's).
    Job(Job),
    /// A door, tamper or exit-button event from the GPIO inputs.
    Device(Event),
}

/// [`Core`] on its own thread: requests in, views out through `on_view`.
pub struct CoreThread {
    tx: Sender<Request>,
    thread: Option<JoinHandle<()>>,
}

impl CoreThread {
    /// Starts the thread; `on_view` is called from it with every view to show.
    pub fn start(
        core: Core,
        on_view: impl FnMut(View) + Send + 'static,
    ) -> Result<CoreThread, std::io::Error> {
        let (tx, rx) = mpsc::channel();
        CoreThread::start_with(core, (tx, rx), on_view)
    }

    /// [`CoreThread::start`] on a channel made earlier, so that devices started before
    /// the core (the GPIO, first of all) can already hold a sender.
    pub fn start_with(
        mut core: Core,
        (tx, rx): (Sender<Request>, Receiver<Request>),
        mut on_view: impl FnMut(View) + Send + 'static,
    ) -> Result<CoreThread, std::io::Error> {
        let thread = thread::Builder::new().name("kiosk".into()).spawn(move || {
            loop {
                let wait = core
                    .next_deadline()
                    .and_then(|d| (d - Utc::now()).to_std().ok())
                    .unwrap_or(Duration::from_secs(1))
                    .min(Duration::from_secs(1));
                match rx.recv_timeout(wait) {
                    Ok(Request::Pin(digits, at)) => on_view(core.pin(&digits, at, Utc::now())),
                    Ok(Request::Job(job)) => job(&mut core),
                    Ok(Request::Device(event)) => {
                        if let Some(view) = core.device(event, Utc::now()) {
                            on_view(view);
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                if let Some(view) = core.tick(Utc::now()) {
                    on_view(view);
                }
            }
        })?;
        Ok(CoreThread {
            tx,
            thread: Some(thread),
        })
    }

    /// Sends a request; false when the thread has stopped.
    pub fn send(&self, request: Request) -> bool {
        self.tx.send(request).is_ok()
    }
}

impl Drop for CoreThread {
    fn drop(&mut self) {
        let (tx, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.tx, tx));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
