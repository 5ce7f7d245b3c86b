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

mod admin;
mod thread;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::access::{AccessMachine, Command, Event, PinOutcome, Screen};
use crate::alerts::netinfo::PublicIp;
use crate::alerts::outbox::OutboxWorker;
use crate::alerts::{AlertPhoto, MAX_PHOTOS, Preparation, prepare_pending};
use crate::config::Settings;
use crate::hw::camera::CameraHandle;
use crate::hw::gpio::GpioHandle;
use crate::hw::speech::Speaker;
use crate::store::{AdminSession, Store, StoreError};
use crate::vault::{Pin, PinHasher};

pub use admin::{AdminError, AdminSummary, Enrollment, PersonLine};
pub use thread::{CoreThread, Job, Request};

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
