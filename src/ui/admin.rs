//! The controller of the admin screens: sign-in (`AdminLoginAdapter`), home
//! (`AdminHomeAdapter`), enrollment (`EnrollAdapter`), audit log (`AuditAdapter`) and
//! alerts (`AlertsAdapter`).
//!
//! Typed secrets (the passphrase, PINs) stay here in zeroizing buffers, and the screens
//! learn only their length. Everything that touches the database or hashes a secret
//! runs as a job on the kiosk core (its own thread in the kiosk, inline in tests and
//! the demo); the result comes back to the UI thread as an [`Update`].

mod enroll;
mod logs;
mod people;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Local, Utc};
use slint::{ComponentHandle, ModelRc, SharedString, Timer, TimerMode, VecModel, Weak};
use zeroize::Zeroizing;

use super::{
    AdminHomeAdapter, AdminLoginAdapter, AlertRowUi, AlertsAdapter, AppState, AppWindow,
    AuditAdapter, AuditRow, ChannelState, EnrollAdapter, EnrollField, IdleAdapter, PeopleAdapter,
    PersonRow, Screen,
};
use crate::hw::camera::CameraHandle;
use crate::ids::PersonId;
use crate::kiosk::PersonLine;
use crate::kiosk::{AdminError, AdminSummary, Core, Enrollment, Job, Request};
use crate::person::{Field, FieldError};
use crate::store::{AlertRow, AuditEntry, DeliveryState};
use enroll::Form;

/// What a job hands back to the UI thread.
pub type Update = Box<dyn FnOnce(&AppWindow) + Send>;

/// How a job's [`Update`] reaches the UI thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The job runs on another thread: post the update to the event loop.
    EventLoop,
    /// The job runs inside `send`, on the UI thread (tests, the demo): apply it now.
    Inline,
}

/// Sends jobs to the kiosk core.
pub struct Runner {
    send: Box<dyn Fn(Request) -> bool>,
    app: Weak<AppWindow>,
    delivery: Delivery,
}

impl Runner {
    /// A runner over `send` (the core thread's, or an inline call).
    pub fn new(app: &AppWindow, send: Box<dyn Fn(Request) -> bool>, delivery: Delivery) -> Runner {
        Runner {
            send,
            app: app.as_weak(),
            delivery,
        }
    }

    /// Runs `work` on the core and applies what it returns on the UI thread.
    pub fn run(&self, work: impl FnOnce(&mut Core) -> Update + Send + 'static) {
        let weak = self.app.clone();
        let delivery = self.delivery;
        let job: Job = Box::new(move |core| {
            let update = work(core);
            match delivery {
                Delivery::Inline => {
                    if let Some(app) = weak.upgrade() {
                        update(&app);
                    }
                }
                Delivery::EventLoop => {
                    let _ = weak.upgrade_in_event_loop(move |app| update(&app));
                }
            }
        });
        if !(self.send)(Request::Job(job)) {
            tracing::error!("the kiosk core has stopped");
        }
    }
}

/// The admin screens' state on the UI thread.
pub struct Admin {
    app: Weak<AppWindow>,
    runner: Runner,
    passphrase: RefCell<Zeroizing<String>>,
    form: RefCell<Form>,
    camera: Option<CameraHandle>,
    search: RefCell<String>,
    new_pin: RefCell<Zeroizing<String>>,
    preview: Timer,
    countdown: Timer,
    countdown_left: Cell<u8>,
    status: Timer,
}

/// How often the status chips (network, alert queue) are refreshed.
const STATUS_EVERY: Duration = Duration::from_secs(10);

/// Longest passphrase the keyboard takes.
const PASSPHRASE_MAX: usize = 256;

fn local_time(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Local);
    if local.date_naive() == Local::now().date_naive() {
        local.format("%H:%M:%S").to_string()
    } else {
        local.format("%d %b %H:%M").to_string()
    }
}

fn summary_update(summary: AdminSummary) -> Update {
    Box::new(move |app: &AppWindow| {
        let home = app.global::<AdminHomeAdapter>();
        home.set_admin_name(summary.admin.into());
        home.set_people(summary.people as i32);
        home.set_alerts_waiting(summary.alerts_waiting as i32);
        home.set_alerts_failed(summary.alerts_failed as i32);
        home.set_keypad_locked(summary.keypad_locked);
        let state = app.global::<AppState>();
        state.set_alerts_waiting(summary.alerts_waiting as i32);
        state.set_alerts_failed(summary.alerts_failed as i32);
        state.set_screen(Screen::AdminHome);
    })
}

fn model<T: Clone + 'static>(items: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(items))
}

impl Admin {
    /// Connects the admin screens. `camera` gives the enrollment preview and photo.
    pub fn connect(app: &AppWindow, runner: Runner, camera: Option<CameraHandle>) -> Rc<Admin> {
        let admin = Rc::new(Admin {
            app: app.as_weak(),
            runner,
            passphrase: RefCell::new(Zeroizing::new(String::new())),
            form: RefCell::new(Form::default()),
            camera,
            search: RefCell::default(),
            new_pin: RefCell::default(),
            preview: Timer::default(),
            countdown: Timer::default(),
            countdown_left: Cell::new(0),
            status: Timer::default(),
        });
        macro_rules! on {
            ($global:ty, $callback:ident, |$a:ident $(, $arg:ident)*| $body:expr) => {{
                let weak = Rc::downgrade(&admin);
                app.global::<$global>().$callback(move |$($arg),*| {
                    if let Some($a) = weak.upgrade() {
                        $body;
                    }
                });
            }};
        }
        let weak = Rc::downgrade(&admin);
        admin
            .status
            .start(TimerMode::Repeated, STATUS_EVERY, move || {
                if let Some(admin) = weak.upgrade() {
                    admin.refresh_status();
                }
            });
        admin.refresh_status();
        on!(IdleAdapter, on_admin, |a| a.open_login());
        on!(AdminLoginAdapter, on_key, |a, k| a.login_key(&k));
        on!(AdminLoginAdapter, on_erase, |a| {
            a.passphrase.borrow_mut().pop();
            a.show_login_length();
        });
        on!(AdminLoginAdapter, on_cancel, |a| a.cancel_login());
        on!(AdminLoginAdapter, on_toggle_recovery, |a| {
            a.passphrase.borrow_mut().clear();
            a.with_app(|app| {
                let login = app.global::<AdminLoginAdapter>();
                login.set_recovery(!login.get_recovery());
                login.set_refused(false);
                login.set_length(0);
            });
        });
        on!(AdminLoginAdapter, on_submit, |a| a.submit_login());
        on!(AdminHomeAdapter, on_logout, |a| a.logout());
        on!(AdminHomeAdapter, on_enroll, |a| a.open_enroll());
        on!(AdminHomeAdapter, on_audit, |a| a.open_audit());
        on!(AdminHomeAdapter, on_alerts, |a| a.open_alerts());
        on!(AdminHomeAdapter, on_unlock_keypad, |a| a.unlock_keypad());
        on!(AdminHomeAdapter, on_people_list, |a| a.open_people());
        on!(PeopleAdapter, on_back, |a| a.home());
        on!(PeopleAdapter, on_start_search, |a| a.with_app(|app| app
            .global::<PeopleAdapter>()
            .set_searching(true)));
        on!(PeopleAdapter, on_search_key, |a, k| {
            a.search.borrow_mut().push_str(&k);
            a.refresh_people();
        });
        on!(PeopleAdapter, on_search_erase, |a| {
            a.search.borrow_mut().pop();
            a.refresh_people();
        });
        on!(PeopleAdapter, on_end_search, |a| a.with_app(|app| app
            .global::<PeopleAdapter>()
            .set_searching(false)));
        on!(PeopleAdapter, on_set_enabled, |a, id, enabled| a
            .set_enabled(id, enabled));
        on!(PeopleAdapter, on_ask_delete, |a, id| a.pick(id, true));
        on!(PeopleAdapter, on_reset_pin, |a, id| a.pick(id, false));
        on!(PeopleAdapter, on_dismiss, |a| a.dismiss());
        on!(PeopleAdapter, on_confirm_deletion, |a| a.delete());
        on!(PeopleAdapter, on_pin_digit, |a, d| {
            if a.new_pin.borrow().len() < 8 && d.chars().all(|c| c.is_ascii_digit()) {
                a.new_pin.borrow_mut().push_str(&d);
            }
            a.show_new_pin();
        });
        on!(PeopleAdapter, on_pin_erase, |a| {
            a.new_pin.borrow_mut().pop();
            a.show_new_pin();
        });
        on!(PeopleAdapter, on_pin_submit, |a| a.submit_new_pin());
        on!(AuditAdapter, on_back, |a| a.home());
        on!(AlertsAdapter, on_back, |a| a.home());
        on!(AlertsAdapter, on_retry, |a, id| a.retry(id));
        on!(EnrollAdapter, on_key, |a, k| a.enroll_key(&k));
        on!(EnrollAdapter, on_erase, |a| a.enroll_erase());
        on!(EnrollAdapter, on_select, |a, f| a.select(f));
        on!(EnrollAdapter, on_next, |a| a.enroll_next());
        on!(EnrollAdapter, on_back_to_details, |a| a.to_details());
        on!(EnrollAdapter, on_capture, |a| a.capture());
        on!(EnrollAdapter, on_retake, |a| a.retake());
        on!(EnrollAdapter, on_save, |a| a.save());
        on!(EnrollAdapter, on_cancel, |a| a.cancel_enroll());
        admin
    }

    /// The status chips: the LAN address and the alert queue.
    fn refresh_status(&self) {
        self.runner.run(|core| {
            let counts = core.store().delivery_counts();
            let address = crate::alerts::netinfo::lan_addresses()
                .first()
                .map(|a| a.split(' ').next().unwrap_or(a).to_owned())
                .unwrap_or_default();
            Box::new(move |app: &AppWindow| {
                let state = app.global::<AppState>();
                state.set_network_address(address.into());
                match counts {
                    Ok((waiting, failed)) => {
                        state.set_alerts_waiting(waiting as i32);
                        state.set_alerts_failed(failed as i32);
                    }
                    Err(e) => tracing::warn!("alert queue status: {e}"),
                }
            })
        });
    }

    fn with_app(&self, f: impl FnOnce(&AppWindow)) {
        if let Some(app) = self.app.upgrade() {
            f(&app);
        }
    }

    /// Any touch keeps the session open.
    fn touch(&self) {
        self.runner.run(|core| {
            core.admin_activity(Utc::now());
            Box::new(|_: &AppWindow| {})
        });
    }

    fn open_login(&self) {
        self.passphrase.borrow_mut().clear();
        self.with_app(|app| {
            let login = app.global::<AdminLoginAdapter>();
            login.set_length(0);
            login.set_refused(false);
            login.set_recovery(false);
            login.set_checking(false);
            app.global::<AppState>().set_screen(Screen::AdminLogin);
        });
    }

    fn show_login_length(&self) {
        let length = self.passphrase.borrow().chars().count() as i32;
        self.with_app(|app| app.global::<AdminLoginAdapter>().set_length(length));
    }

    fn login_key(&self, key: &str) {
        {
            let mut pass = self.passphrase.borrow_mut();
            if pass.chars().count() + key.chars().count() > PASSPHRASE_MAX {
                return;
            }
            pass.push_str(key);
        }
        self.show_login_length();
    }

    fn cancel_login(&self) {
        self.passphrase.borrow_mut().clear();
        self.with_app(|app| app.global::<AppState>().set_screen(Screen::Idle));
    }

    fn submit_login(&self) {
        let pass = std::mem::take(&mut *self.passphrase.borrow_mut());
        let mut recovery = false;
        self.with_app(|app| {
            let login = app.global::<AdminLoginAdapter>();
            login.set_checking(true);
            login.set_length(0);
            recovery = login.get_recovery();
        });
        if recovery {
            self.runner.run(move |core| {
                let result = core.recovery(&pass, Utc::now());
                drop(pass);
                Box::new(move |app: &AppWindow| {
                    let login = app.global::<AdminLoginAdapter>();
                    login.set_checking(false);
                    match result {
                        Ok(view) => super::door::show_now(view),
                        Err(view @ crate::kiosk::View::Lockout { .. }) => {
                            super::door::show_now(view)
                        }
                        Err(_) => login.set_refused(true),
                    }
                })
            });
            return;
        }
        self.runner.run(move |core| {
            let result = core.admin_login(&pass, Utc::now());
            drop(pass);
            match result {
                Ok(summary) => summary_update(summary),
                Err(view) => Box::new(move |app: &AppWindow| {
                    let login = app.global::<AdminLoginAdapter>();
                    login.set_checking(false);
                    match view {
                        crate::kiosk::View::Lockout { .. }
                        | crate::kiosk::View::HardLock { .. } => {
                            super::door::show_now(view);
                        }
                        _ => login.set_refused(true),
                    }
                }),
            }
        });
    }

    fn home(&self) {
        self.stop_camera();
        self.forget_people();
        self.runner.run(|core| {
            core.admin_activity(Utc::now());
            match core.summary(Utc::now()) {
                Ok(summary) => summary_update(summary),
                Err(e) => ended(e),
            }
        });
    }

    fn logout(&self) {
        self.stop_camera();
        self.forget_people();
        *self.form.borrow_mut() = Form::default();
        self.runner.run(|core| {
            let view = core.admin_logout(Utc::now());
            Box::new(move |_: &AppWindow| super::door::show_now(view))
        });
    }

    fn unlock_keypad(&self) {
        self.runner.run(|core| {
            if let Err(e) = core.clear_lockout(Utc::now()) {
                return ended(e);
            }
            match core.summary(Utc::now()) {
                Ok(summary) => summary_update(summary),
                Err(e) => ended(e),
            }
        });
    }
}

/// The session ended (timeout) or the store failed: back to the keypad, or the error.
fn ended(e: AdminError) -> Update {
    tracing::warn!("admin panel: {e}");
    Box::new(move |app: &AppWindow| {
        if matches!(e, AdminError::NoSession) {
            app.global::<AppState>().set_screen(Screen::Idle);
        } else {
            app.global::<EnrollAdapter>()
                .set_save_error(e.to_string().into());
        }
    })
}
