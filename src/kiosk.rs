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

use crate::access::{AccessMachine, Command, Event, PinOutcome, Screen};
use crate::alerts::netinfo::PublicIp;
use crate::alerts::outbox::OutboxWorker;
use crate::alerts::{AlertPhoto, MAX_PHOTOS, Preparation, prepare_pending};
use crate::config::Settings;
use crate::hw::camera::CameraHandle;
use crate::hw::gpio::GpioHandle;
use crate::hw::speech::Speaker;
use crate::store::{Store, StoreError};
use crate::vault::{Pin, PinHasher};

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
        let machine = match store.access_snapshot()? {
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

    /// Time passed: lockouts end, admin sessions time out, the door is held open too
    /// long. Returns the view when it changed.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Option<View> {
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
                Command::Capture(reason) => self.capture(reason, at),
                Command::Speak(what) => {
                    if let Some(speaker) = &self.parts.speaker {
                        drop(speaker.speak(what));
                    }
                }
                Command::Show(screen) => view = Some(screen),
                Command::EndAdminSession => {}
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

    fn capture(&mut self, reason: crate::access::CaptureReason, at: Instant) {
        let Some(camera) = &self.parts.camera else {
            return;
        };
        let burst = self.settings.camera.burst.max(1) as usize;
        match camera.burst(at, burst, 1) {
            Ok(mut photos) => {
                if let Some(best) = photos.pop() {
                    self.photos.insert(0, AlertPhoto::from(best));
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

/// A request to the core thread.
pub enum Request {
    /// A PIN submitted at an instant.
    Pin(zeroize::Zeroizing<String>, Instant),
}

/// [`Core`] on its own thread: requests in, views out through `on_view`.
pub struct CoreThread {
    tx: Sender<Request>,
    thread: Option<JoinHandle<()>>,
}

impl CoreThread {
    /// Starts the thread; `on_view` is called from it with every view to show.
    pub fn start(
        mut core: Core,
        mut on_view: impl FnMut(View) + Send + 'static,
    ) -> Result<CoreThread, std::io::Error> {
        let (tx, rx): (Sender<Request>, Receiver<Request>) = mpsc::channel();
        let thread = thread::Builder::new().name("kiosk".into()).spawn(move || {
            loop {
                let wait = core
                    .next_deadline()
                    .and_then(|d| (d - Utc::now()).to_std().ok())
                    .unwrap_or(Duration::from_secs(1))
                    .min(Duration::from_secs(1));
                match rx.recv_timeout(wait) {
                    Ok(Request::Pin(digits, at)) => on_view(core.pin(&digits, at, Utc::now())),
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
