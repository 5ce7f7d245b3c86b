//! The fail-secure paths: the relay line shared between its driver and the panic hook
//! and signal thread, the process-wide list of armed relays, the panic hook and the
//! SIGINT/SIGTERM thread (see "Fail-secure" in the [`gpio`](super) docs).
//!
//! Owns the one way to the relay line outside the driver. It must never wait without
//! bound for a lock (it runs inside panics and signals, where the lock's holder may be
//! the panicking thread itself), must not log from the hook, and must never open the
//! relay: it only ever writes the secure level.

use std::io;
use std::panic;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, OnceLock, TryLockError, Weak};
use std::thread;
use std::time::{Duration, Instant};

use signal_hook::consts::signal::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::{DoorRelay, Error, Level};

/// How long the hook and the signal thread try to take a line's lock.
const LOCK_PATIENCE: Duration = Duration::from_millis(200);

/// The relay line with its fail-secure state, shared by the driver and the
/// fail-secure paths.
pub(crate) struct SecureRelay {
    line: Mutex<Box<dyn DoorRelay>>,
    secure: Level,
    /// Bumped by every forced securing; the driver compares it with the value it saw.
    forced: AtomicU64,
    /// Set by a termination signal: the relay must stay secure for good.
    latched: AtomicBool,
}

/// The fail-secure path secured the line since the driver last looked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Forced;

impl SecureRelay {
    /// Wraps `line` and drives it to `secure` at once.
    pub(crate) fn new(mut line: Box<dyn DoorRelay>, secure: Level, at: Instant) -> SecureRelay {
        line.set(secure, at);
        SecureRelay {
            line: Mutex::new(line),
            secure,
            forced: AtomicU64::new(0),
            latched: AtomicBool::new(false),
        }
    }

    /// How many times the line was secured behind the driver's back.
    pub(crate) fn forced(&self) -> u64 {
        self.forced.load(Ordering::SeqCst)
    }

    /// Whether a termination signal arrived.
    pub(crate) fn latched(&self) -> bool {
        self.latched.load(Ordering::SeqCst)
    }

    /// The driver's write. If the line was forced secure since the driver saw
    /// `seen`, an opening is not written (the secure level is) and `Forced` returned,
    /// so the driver brings its schedule in line first.
    pub(crate) fn drive(&self, level: Level, at: Instant, seen: u64) -> Result<(), Forced> {
        let mut line = lock(&self.line);
        if self.forced.load(Ordering::SeqCst) != seen || self.latched() {
            line.set(self.secure, at);
            return Err(Forced);
        }
        line.set(level, at);
        Ok(())
    }

    /// Writes the secure level, waiting for the lock (the driver's own exit path).
    pub(crate) fn secure(&self, at: Instant) {
        lock(&self.line).set(self.secure, at);
    }

    /// The panic hook's and signal thread's write: tells the driver, then writes the
    /// secure level if the lock can be had within [`LOCK_PATIENCE`]. Returns whether
    /// it wrote.
    pub(crate) fn force(&self, latch: bool) -> bool {
        if latch {
            self.latched.store(true, Ordering::SeqCst);
        }
        self.forced.fetch_add(1, Ordering::SeqCst);
        match try_lock_for(&self.line, LOCK_PATIENCE) {
            Some(mut line) => {
                line.set(self.secure, Instant::now());
                true
            }
            None => false,
        }
    }
}

/// Locks, taking over a poisoned lock (the line itself is always usable).
fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Tries to lock for at most `patience`; never blocks longer.
fn try_lock_for<T: ?Sized>(m: &Mutex<T>, patience: Duration) -> Option<MutexGuard<'_, T>> {
    let start = Instant::now();
    loop {
        match m.try_lock() {
            Ok(guard) => return Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => return Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => {
                if start.elapsed() >= patience {
                    return None;
                }
                thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// The armed relays of this process.
static ARMED: Mutex<Vec<Weak<SecureRelay>>> = Mutex::new(Vec::new());

/// Adds `relay` to the relays the panic hook and the signal thread secure, and
/// installs the panic hook (once per process).
pub(crate) fn arm(relay: &Arc<SecureRelay>) {
    install_panic_hook();
    let mut armed = lock(&ARMED);
    armed.retain(|r| r.strong_count() > 0);
    armed.push(Arc::downgrade(relay));
}

/// Secures every armed relay; `latch` keeps them secure for good. Returns how many
/// were written (a relay whose lock was held too long is left to its driver, which
/// sees the forced flag before its next write).
pub(crate) fn secure_all(latch: bool) -> usize {
    let relays: Vec<Arc<SecureRelay>> = match try_lock_for(&ARMED, LOCK_PATIENCE) {
        Some(armed) => armed.iter().filter_map(Weak::upgrade).collect(),
        None => return 0,
    };
    relays.iter().filter(|r| r.force(latch)).count()
}

fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            secure_all(false);
            previous(info);
        }));
    });
}

/// What happens after SIGINT or SIGTERM secured the relays.
#[derive(Debug, Clone)]
pub enum OnSignal {
    /// End the process with the signal's default action (the default).
    Exit,
    /// Set this flag and let the shell shut down (and drop [`Gpio`](super::Gpio));
    /// a second signal ends the process.
    Notify(Arc<AtomicBool>),
}

static ON_SIGNAL: Mutex<Option<OnSignal>> = Mutex::new(None);
static SIGNAL_THREAD: OnceLock<Result<(), String>> = OnceLock::new();

/// Starts (once per process) the thread that secures every armed relay on SIGINT or
/// SIGTERM, and sets what happens next. [`Gpio::start`](super::Gpio::start) calls it
/// with [`OnSignal::Exit`] unless the shell chose first; call it before starting the
/// GPIO to choose [`OnSignal::Notify`].
pub fn secure_on_signals(on_signal: OnSignal) -> Result<(), Error> {
    *lock(&ON_SIGNAL) = Some(on_signal);
    start_signal_thread()
}

/// What [`Gpio::start`](super::Gpio::start) calls: the thread with the default
/// [`OnSignal::Exit`], unless a choice was made already.
pub(crate) fn ensure_signal_thread() -> Result<(), Error> {
    lock(&ON_SIGNAL).get_or_insert(OnSignal::Exit);
    start_signal_thread()
}

fn start_signal_thread() -> Result<(), Error> {
    let started = SIGNAL_THREAD.get_or_init(|| {
        let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(|e| e.to_string())?;
        thread::Builder::new()
            .name("gpio-signals".to_owned())
            .spawn(move || {
                for signal in signals.forever() {
                    on_signal(signal);
                }
            })
            .map(drop)
            .map_err(|e| e.to_string())
    });
    started
        .clone()
        .map_err(|e| Error::Signals(io::Error::other(e)))
}

fn on_signal(signal: i32) {
    let secured = secure_all(true);
    let on_signal = lock(&ON_SIGNAL).clone().unwrap_or(OnSignal::Exit);
    match on_signal {
        OnSignal::Notify(flag) if !flag.swap(true, Ordering::SeqCst) => {
            tracing::warn!(
                signal,
                secured,
                "termination signal: relay secured, shutting down"
            );
        }
        _ => {
            // The default action ends the process; if that fails, exit the usual way.
            let _ = signal_hook::low_level::emulate_default_handler(signal);
            std::process::exit(128 + signal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    struct Recorder(mpsc::Sender<Level>);

    impl DoorRelay for Recorder {
        fn set(&mut self, level: Level, _at: Instant) {
            let _ = self.0.send(level);
        }
    }

    #[test]
    fn drive_refuses_to_open_after_a_forced_securing() {
        let (tx, rx) = mpsc::channel();
        let relay = SecureRelay::new(Box::new(Recorder(tx)), Level::Low, Instant::now());
        assert_eq!(rx.try_recv(), Ok(Level::Low), "secure at start");
        assert_eq!(relay.drive(Level::High, Instant::now(), 0), Ok(()));
        assert!(relay.force(false));
        assert_eq!(relay.forced(), 1);
        assert_eq!(relay.drive(Level::High, Instant::now(), 0), Err(Forced));
        let written: Vec<Level> = rx.try_iter().collect();
        assert_eq!(written, vec![Level::High, Level::Low, Level::Low]);
        assert_eq!(relay.drive(Level::High, Instant::now(), 1), Ok(()));
        assert!(!relay.latched());
    }

    #[test]
    fn forcing_does_not_deadlock_when_the_caller_holds_the_lock() {
        let (tx, _rx) = mpsc::channel();
        let relay = SecureRelay::new(Box::new(Recorder(tx)), Level::Low, Instant::now());
        let guard = lock(&relay.line);
        let started = Instant::now();
        assert!(!relay.force(true), "gives up instead of waiting forever");
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(guard);
        assert!(relay.latched());
        assert_eq!(relay.forced(), 1);
    }
}
