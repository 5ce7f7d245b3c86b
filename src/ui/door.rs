//! The controller of the door screens (`IdleAdapter`, `GrantedAdapter`,
//! `WrongAdapter`, `LockoutAdapter`) and of `AppState`'s clock and status chips.
//!
//! It keeps the digits being typed (zeroized, never in Slint), ticks the buzzer on
//! each key, hands a submitted PIN to the core thread and shows the [`View`] that
//! comes back. It must not block the event loop: the PIN check happens on the core
//! thread, and the keypad says "Checking…" in the same frame as the tap.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Local, Utc};
use slint::{ComponentHandle, Timer, TimerMode, Weak};
use zeroize::Zeroizing;

use super::{AppState, AppWindow, IdleAdapter, LockoutAdapter, Screen, WrongAdapter};
use crate::kiosk::{Request, View};

/// The longest PIN the keypad takes.
pub const PIN_MAX: usize = 8;
/// How long the keypad waits for the answer to a PIN before it gives up.
pub const CHECK_GIVE_UP: Duration = Duration::from_secs(15);
/// How long the "wrong PIN" screen stays before the keypad returns.
pub const WRONG_SHOWN: Duration = Duration::from_millis(2500);

/// Where a submitted PIN goes (the core thread, or a test).
pub type Submit = Box<dyn Fn(Request) -> bool>;

thread_local! {
    /// The door controller of the UI thread, for views posted from other threads.
    static DOOR: RefCell<Option<Rc<Door>>> = const { RefCell::new(None) };
}

/// Shows `view` on the UI thread's door screens; callable from any thread. False when
/// the event loop is gone.
pub fn post(view: View) -> bool {
    slint::invoke_from_event_loop(move || {
        DOOR.with(|door| {
            if let Some(door) = door.borrow().as_ref() {
                door.show(view);
            }
        });
    })
    .is_ok()
}

/// Shows `view` now; for code already on the UI thread.
pub fn show_now(view: View) {
    DOOR.with(|door| {
        if let Some(door) = door.borrow().as_ref() {
            door.show(view);
        }
    });
}

/// What the door screens need besides the window.
pub struct Door {
    app: Weak<AppWindow>,
    pin: RefCell<Zeroizing<String>>,
    submit: Submit,
    keypress: Box<dyn Fn()>,
    back_to_keypad: Timer,
    clock: Timer,
    lockout_until: Cell<Option<DateTime<Utc>>>,
    scrambled: bool,
    /// The language of the date under the clock; `None` is English.
    locale: Cell<Option<chrono::Locale>>,
}

/// The ten digits in a random order (Fisher–Yates over the system's randomness).
pub fn scrambled_digits() -> Vec<slint::SharedString> {
    let mut digits: Vec<char> = "1234567890".chars().collect();
    let mut random = [0u8; 10];
    if getrandom::fill(&mut random).is_err() {
        // The phone layout is still a working keypad.
        return digits.iter().map(|d| d.to_string().into()).collect();
    }
    for i in (1..digits.len()).rev() {
        let j = usize::from(random[i]) % (i + 1);
        digits.swap(i, j);
    }
    digits.iter().map(|d| d.to_string().into()).collect()
}

impl Door {
    /// Connects the door screens: `submit` takes a PIN to check, `keypress` ticks the
    /// buzzer; `scrambled` shuffles the digit keys for every PIN. Starts the clock.
    pub fn connect(
        app: &AppWindow,
        submit: Submit,
        keypress: Box<dyn Fn()>,
        scrambled: bool,
    ) -> Rc<Door> {
        let door = Rc::new(Door {
            app: app.as_weak(),
            pin: RefCell::new(Zeroizing::new(String::with_capacity(PIN_MAX))),
            submit,
            keypress,
            back_to_keypad: Timer::default(),
            clock: Timer::default(),
            lockout_until: Cell::new(None),
            scrambled,
            locale: Cell::new(None),
        });
        door.shuffle();
        let idle = app.global::<IdleAdapter>();
        let d = Rc::downgrade(&door);
        idle.on_digit(move |digit| {
            if let Some(door) = d.upgrade() {
                door.digit(&digit);
            }
        });
        let d = Rc::downgrade(&door);
        idle.on_erase(move || {
            if let Some(door) = d.upgrade() {
                door.pin.borrow_mut().pop();
                door.show_length();
            }
        });
        let d = Rc::downgrade(&door);
        idle.on_submit(move || {
            if let Some(door) = d.upgrade() {
                door.submit();
            }
        });
        let d = Rc::downgrade(&door);
        door.clock
            .start(TimerMode::Repeated, Duration::from_secs(1), move || {
                if let Some(door) = d.upgrade() {
                    door.update_clock(Utc::now());
                }
            });
        door.update_clock(Utc::now());
        DOOR.with(|d| *d.borrow_mut() = Some(Rc::clone(&door)));
        door
    }

    fn with_app(&self, f: impl FnOnce(&AppWindow)) {
        if let Some(app) = self.app.upgrade() {
            f(&app);
        }
    }

    /// Dates in the screens' language (`de`); English otherwise.
    pub fn set_language(&self, language: &str) {
        let locale = match language {
            "de" => Some(chrono::Locale::de_DE),
            _ => None,
        };
        self.locale.set(locale);
        self.update_clock(Utc::now());
    }

    /// A new order of the digit keys, when the scrambled keypad is on.
    fn shuffle(&self) {
        if !self.scrambled {
            return;
        }
        let digits = slint::ModelRc::new(slint::VecModel::from(scrambled_digits()));
        self.with_app(|app| app.global::<IdleAdapter>().set_digits(digits));
    }

    fn show_length(&self) {
        let length = self.pin.borrow().len() as i32;
        self.with_app(|app| app.global::<IdleAdapter>().set_pin_length(length));
    }

    fn digit(&self, digit: &str) {
        let Some(c) = digit.chars().next().filter(|c| c.is_ascii_digit()) else {
            return;
        };
        {
            let mut pin = self.pin.borrow_mut();
            if pin.len() >= PIN_MAX {
                return;
            }
            pin.push(c);
        }
        (self.keypress)();
        self.show_length();
    }

    fn submit(&self) {
        let at = Instant::now();
        let digits = std::mem::replace(
            &mut *self.pin.borrow_mut(),
            Zeroizing::new(String::with_capacity(PIN_MAX)),
        );
        if digits.is_empty() {
            return;
        }
        self.with_app(|app| {
            let idle = app.global::<IdleAdapter>();
            idle.set_pin_length(0);
            idle.set_checking(true);
        });
        self.shuffle();
        // Should the answer never come (a core that died), the keypad comes back.
        let app = self.app.clone();
        self.back_to_keypad
            .start(TimerMode::SingleShot, CHECK_GIVE_UP, move || {
                tracing::error!("no answer to a PIN within {CHECK_GIVE_UP:?}; the keypad is back");
                if let Some(app) = app.upgrade() {
                    app.global::<IdleAdapter>().set_checking(false);
                }
            });
        if !(self.submit)(Request::Pin(digits, at)) {
            tracing::error!("the kiosk core has stopped; the PIN was not checked");
            self.with_app(|app| app.global::<IdleAdapter>().set_checking(false));
        }
    }

    /// Shows what the core decided.
    pub fn show(self: &Rc<Self>, view: View) {
        self.back_to_keypad.stop();
        self.lockout_until.set(None);
        self.with_app(|app| {
            app.global::<IdleAdapter>().set_checking(false);
            let state = app.global::<AppState>();
            match &view {
                View::Idle => state.set_screen(Screen::Idle),
                View::Granted { open_for } => {
                    app.global::<super::GrantedAdapter>()
                        .set_open_seconds(open_for.as_secs().max(1) as i32);
                    state.set_screen(Screen::Granted);
                }
                View::Wrong { remaining } => {
                    app.global::<WrongAdapter>()
                        .set_remaining(*remaining as i32);
                    state.set_screen(Screen::Wrong);
                }
                View::Lockout {
                    until,
                    attempts,
                    photo_taken,
                } => {
                    let lockout = app.global::<LockoutAdapter>();
                    lockout.set_hard(false);
                    lockout.set_attempts(*attempts as i32);
                    lockout.set_photo_taken(*photo_taken);
                    self.lockout_until.set(Some(*until));
                    state.set_screen(Screen::Lockout);
                }
                View::HardLock {
                    attempts,
                    photo_taken,
                } => {
                    let lockout = app.global::<LockoutAdapter>();
                    lockout.set_hard(true);
                    lockout.set_attempts(*attempts as i32);
                    lockout.set_photo_taken(*photo_taken);
                    state.set_screen(Screen::Lockout);
                }
                View::AdminHome => state.set_screen(Screen::AdminHome),
            }
        });
        self.update_clock(Utc::now());
        let back_after = match view {
            View::Granted { open_for } => Some(open_for),
            View::Wrong { .. } => Some(WRONG_SHOWN),
            _ => None,
        };
        if let Some(after) = back_after {
            let d = Rc::downgrade(self);
            self.back_to_keypad
                .start(TimerMode::SingleShot, after, move || {
                    if let Some(door) = d.upgrade() {
                        door.with_app(|app| {
                            // Only a transient screen gives way; a lockout stays.
                            let state = app.global::<AppState>();
                            if matches!(state.get_screen(), Screen::Granted | Screen::Wrong) {
                                state.set_screen(Screen::Idle);
                            }
                        });
                    }
                });
        }
    }

    fn update_clock(&self, now: DateTime<Utc>) {
        let local = now.with_timezone(&Local);
        let countdown = self.lockout_until.get().map(|until| {
            let left = (until - now).num_seconds().max(0);
            format!("{}:{:02}", left / 60, left % 60)
        });
        self.with_app(|app| {
            let state = app.global::<AppState>();
            state.set_time(local.format("%H:%M").to_string().into());
            let date = match self.locale.get() {
                Some(locale) => local.format_localized("%A, %-d. %B", locale).to_string(),
                None => local.format("%A, %-d %B").to_string(),
            };
            state.set_date(date.into());
            if let Some(countdown) = countdown {
                app.global::<LockoutAdapter>()
                    .set_countdown(countdown.into());
            }
        });
    }
}
