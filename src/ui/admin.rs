//! The controller of the admin screens: sign-in (`AdminLoginAdapter`), home
//! (`AdminHomeAdapter`), enrollment (`EnrollAdapter`), audit log (`AuditAdapter`) and
//! alerts (`AlertsAdapter`).
//!
//! Typed secrets (the passphrase, PINs) stay here in zeroizing buffers, and the screens
//! learn only their length. Everything that touches the database or hashes a secret
//! runs as a job on the kiosk core (its own thread in the kiosk, inline in tests and
//! the demo); the result comes back to the UI thread as an [`Update`].

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

/// The enrollment form as typed.
#[derive(Default)]
struct Form {
    name: String,
    email: String,
    phone: String,
    notes: String,
    pin: Zeroizing<String>,
    duress: Zeroizing<String>,
    photo: Option<Vec<u8>>,
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
/// Longest text field.
const FIELD_MAX: usize = 200;

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

/// One audit record as the audit screen shows it (plain data, to cross threads).
struct AuditLine {
    time: String,
    kind: String,
    detail: String,
    level: i32,
    /// The evidence thumbnail: RGB pixels, width, height.
    thumbnail: Option<(Vec<u8>, u32, u32)>,
}

/// Evidence thumbnails are opened for the newest records only.
const THUMBNAILS: usize = 30;
/// Thumbnail width in pixels.
const THUMBNAIL_WIDTH: u32 = 160;

fn audit_rows(core: &Core, entries: Vec<AuditEntry>) -> Vec<AuditLine> {
    let mut opened = 0;
    entries
        .into_iter()
        .map(|e| {
            let thumbnail = match e.evidence {
                Some(id) if opened < THUMBNAILS => {
                    opened += 1;
                    core.evidence_thumbnail(id, THUMBNAIL_WIDTH)
                        .unwrap_or_else(|err| {
                            tracing::warn!("evidence {id}: {err}");
                            None
                        })
                }
                _ => None,
            };
            let level = match e.kind.as_str() {
                "lockout_started" | "hard_lock" | "duress" | "door_forced" | "tamper"
                | "door_held_open" => 2,
                "wrong_pin" | "disabled_pin" | "admin_login_failed" | "recovery_failed"
                | "refused_locked" => 1,
                _ => 0,
            };
            let mut detail = e.detail.clone();
            if let Some(person) = e.person {
                detail = if detail.is_empty() {
                    format!("{person}")
                } else {
                    format!("{person} · {detail}")
                };
            }
            AuditLine {
                time: local_time(e.at),
                kind: e.kind,
                detail,
                level,
                thumbnail,
            }
        })
        .collect()
}

/// One alert as the alerts screen shows it (plain data, to cross threads).
struct AlertLine {
    id: i64,
    time: String,
    event: String,
    /// (channel, state) pairs.
    channels: Vec<(String, String)>,
    errors: String,
    can_retry: bool,
}

fn alert_rows(alerts: Vec<AlertRow>) -> Vec<AlertLine> {
    alerts
        .into_iter()
        .map(|a| {
            let event = a.content.as_ref().map_or_else(
                || a.kind.clone(),
                |c| crate::alerts::render::title(c.kind, c.attempts),
            );
            // "lockout after 3 …" reads after the kiosk's name; alone it starts a line.
            let mut chars = event.chars();
            let event = chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            let channels = a
                .deliveries
                .iter()
                .map(|d| {
                    let state = match d.state {
                        DeliveryState::Sent => "sent",
                        DeliveryState::Pending if d.tries == 0 => "queued",
                        DeliveryState::Pending => "retrying",
                        DeliveryState::Failed => "failed",
                        DeliveryState::Expired => "expired",
                    };
                    (d.channel.clone(), state.to_owned())
                })
                .collect();
            let errors = a
                .deliveries
                .iter()
                .filter(|d| d.state != DeliveryState::Sent)
                .filter_map(|d| d.last_error.as_ref().map(|e| format!("{}: {e}", d.channel)))
                .collect::<Vec<_>>()
                .join(" · ");
            let can_retry = a
                .deliveries
                .iter()
                .any(|d| matches!(d.state, DeliveryState::Failed | DeliveryState::Expired));
            AlertLine {
                id: a.id,
                time: local_time(a.created_at),
                event,
                channels,
                errors,
                can_retry,
            }
        })
        .collect()
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

    /// The people's details leave the screen's memory with the people list.
    fn forget_people(&self) {
        self.search.borrow_mut().clear();
        self.with_app(|app| app.global::<PeopleAdapter>().set_people(model(Vec::new())));
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

    fn open_people(&self) {
        self.search.borrow_mut().clear();
        self.with_app(|app| {
            let p = app.global::<PeopleAdapter>();
            p.set_search(SharedString::new());
            p.set_searching(false);
            p.set_message(SharedString::new());
            p.set_confirm_delete(-1);
            p.set_new_pin_for(-1);
        });
        self.refresh_people();
    }

    /// Reads the people again (filtered by the search) and shows them.
    fn refresh_people(&self) {
        let search = self.search.borrow().to_lowercase();
        self.with_app(|app| {
            app.global::<PeopleAdapter>()
                .set_search(search.clone().into())
        });
        self.runner.run(move |core| {
            core.admin_activity(Utc::now());
            match core.people() {
                Ok(people) => {
                    let people: Vec<PersonLine> = people
                        .into_iter()
                        .filter(|p| {
                            search.is_empty()
                                || p.name.to_lowercase().contains(&search)
                                || p.contact.to_lowercase().contains(&search)
                        })
                        .collect();
                    Box::new(move |app: &AppWindow| show_people(app, people))
                }
                Err(e) => ended(e),
            }
        });
    }

    fn set_enabled(&self, id: i32, enabled: bool) {
        self.runner.run(move |core| {
            match core.set_enabled(PersonId(i64::from(id)), enabled, Utc::now()) {
                Ok(()) => Box::new(|_: &AppWindow| {}),
                Err(e) => ended(e),
            }
        });
        self.refresh_people();
    }

    /// Picks a person for deletion (`delete`) or a new PIN.
    fn pick(&self, id: i32, delete: bool) {
        self.new_pin.borrow_mut().clear();
        self.with_app(|app| {
            let p = app.global::<PeopleAdapter>();
            let name = slint::Model::iter(&p.get_people())
                .find(|row| row.id == id)
                .map(|row| row.name)
                .unwrap_or_default();
            p.set_confirm_name(name);
            p.set_new_pin_error(SharedString::new());
            p.set_new_pin_length(0);
            if delete {
                p.set_confirm_delete(id);
            } else {
                p.set_new_pin_for(id);
            }
        });
        self.touch();
    }

    fn dismiss(&self) {
        self.new_pin.borrow_mut().clear();
        self.with_app(|app| {
            let p = app.global::<PeopleAdapter>();
            p.set_confirm_delete(-1);
            p.set_new_pin_for(-1);
            p.set_new_pin_length(0);
        });
    }

    fn delete(&self) {
        let mut id = -1;
        self.with_app(|app| id = app.global::<PeopleAdapter>().get_confirm_delete());
        self.dismiss();
        if id < 0 {
            return;
        }
        self.runner.run(move |core| {
            match core.delete_person(PersonId(i64::from(id)), Utc::now()) {
                Ok(()) => Box::new(|_: &AppWindow| {}),
                Err(e) => ended(e),
            }
        });
        self.refresh_people();
    }

    fn show_new_pin(&self) {
        let length = self.new_pin.borrow().len() as i32;
        self.with_app(|app| app.global::<PeopleAdapter>().set_new_pin_length(length));
    }

    fn submit_new_pin(&self) {
        let pin = std::mem::take(&mut *self.new_pin.borrow_mut());
        let mut id = -1;
        self.with_app(|app| id = app.global::<PeopleAdapter>().get_new_pin_for());
        self.show_new_pin();
        self.runner.run(move |core| {
            let result = core.set_pin(PersonId(i64::from(id)), &pin, Utc::now());
            drop(pin);
            Box::new(move |app: &AppWindow| {
                let p = app.global::<PeopleAdapter>();
                match result {
                    Ok(()) => {
                        p.set_message(format!("{}: new PIN set", p.get_confirm_name()).into());
                        p.set_new_pin_for(-1);
                    }
                    Err(AdminError::Form(problems)) => p.set_new_pin_error(
                        problems
                            .iter()
                            .map(|e| e.rule.clone())
                            .collect::<Vec<_>>()
                            .join("; ")
                            .into(),
                    ),
                    Err(e) => ended(e)(app),
                }
            })
        });
    }

    fn open_audit(&self) {
        self.runner.run(|core| {
            core.admin_activity(Utc::now());
            match core.audit(100) {
                Ok(entries) => {
                    let rows = audit_rows(core, entries);
                    Box::new(move |app: &AppWindow| {
                        let rows = rows
                            .into_iter()
                            .map(|line| AuditRow {
                                time: line.time.into(),
                                kind: line.kind.into(),
                                detail: line.detail.into(),
                                level: line.level,
                                has_photo: line.thumbnail.is_some(),
                                photo: line
                                    .thumbnail
                                    .map(|(rgb, w, h)| super::image_from_rgb(&rgb, w, h))
                                    .unwrap_or_default(),
                            })
                            .collect();
                        app.global::<AuditAdapter>().set_rows(model(rows));
                        app.global::<AppState>().set_screen(Screen::Audit);
                    })
                }
                Err(e) => ended(e),
            }
        });
    }

    fn open_alerts(&self) {
        self.runner.run(|core| {
            core.admin_activity(Utc::now());
            match core.alerts(50) {
                Ok(alerts) => {
                    let rows = alert_rows(alerts);
                    Box::new(move |app: &AppWindow| show_alerts(app, rows))
                }
                Err(e) => ended(e),
            }
        });
    }

    fn retry(&self, id: i32) {
        self.runner.run(move |core| {
            if let Err(e) = core.retry_alert(i64::from(id), Utc::now()) {
                return ended(e);
            }
            match core.alerts(50) {
                Ok(alerts) => {
                    let rows = alert_rows(alerts);
                    Box::new(move |app: &AppWindow| show_alerts(app, rows))
                }
                Err(e) => ended(e),
            }
        });
    }

    fn open_enroll(&self) {
        *self.form.borrow_mut() = Form::default();
        self.touch();
        self.with_app(|app| {
            let e = app.global::<EnrollAdapter>();
            for set in [
                EnrollAdapter::set_name,
                EnrollAdapter::set_email,
                EnrollAdapter::set_phone,
                EnrollAdapter::set_notes,
                EnrollAdapter::set_name_error,
                EnrollAdapter::set_email_error,
                EnrollAdapter::set_phone_error,
                EnrollAdapter::set_notes_error,
                EnrollAdapter::set_pin_error,
                EnrollAdapter::set_duress_error,
                EnrollAdapter::set_save_error,
            ] {
                set(&e, SharedString::new());
            }
            e.set_pin_length(0);
            e.set_duress_length(0);
            e.set_has_photo(false);
            e.set_countdown(0);
            e.set_saving(false);
            e.set_step(0);
            e.set_focus(EnrollField::Name);
            app.global::<AppState>().set_screen(Screen::Enroll);
        });
    }

    fn focus(&self) -> EnrollField {
        let mut focus = EnrollField::Name;
        self.with_app(|app| focus = app.global::<EnrollAdapter>().get_focus());
        focus
    }

    fn show_form(&self) {
        let form = self.form.borrow();
        let (name, email, phone, notes) = (
            form.name.clone(),
            form.email.clone(),
            form.phone.clone(),
            form.notes.clone(),
        );
        let (pin, duress) = (form.pin.len() as i32, form.duress.len() as i32);
        self.with_app(|app| {
            let e = app.global::<EnrollAdapter>();
            e.set_name(name.into());
            e.set_email(email.into());
            e.set_phone(phone.into());
            e.set_notes(notes.into());
            e.set_pin_length(pin);
            e.set_duress_length(duress);
        });
    }

    fn enroll_key(&self, key: &str) {
        {
            let mut form = self.form.borrow_mut();
            let digits_only = |s: &mut Zeroizing<String>| {
                if key.chars().all(|c| c.is_ascii_digit()) && s.len() + key.len() <= 8 {
                    s.push_str(key);
                }
            };
            match self.focus() {
                EnrollField::Pin => digits_only(&mut form.pin),
                EnrollField::Duress => digits_only(&mut form.duress),
                field => {
                    let text = match field {
                        EnrollField::Name => &mut form.name,
                        EnrollField::Email => &mut form.email,
                        EnrollField::Phone => &mut form.phone,
                        _ => &mut form.notes,
                    };
                    if text.chars().count() < FIELD_MAX {
                        text.push_str(key);
                    }
                }
            }
        }
        self.show_form();
    }

    fn enroll_erase(&self) {
        {
            let mut form = self.form.borrow_mut();
            match self.focus() {
                EnrollField::Name => drop(form.name.pop()),
                EnrollField::Email => drop(form.email.pop()),
                EnrollField::Phone => drop(form.phone.pop()),
                EnrollField::Notes => drop(form.notes.pop()),
                EnrollField::Pin => drop(form.pin.pop()),
                EnrollField::Duress => drop(form.duress.pop()),
            }
        }
        self.show_form();
    }

    fn select(&self, field: EnrollField) {
        self.with_app(|app| app.global::<EnrollAdapter>().set_focus(field));
        self.touch();
    }

    fn enrollment(&self) -> Enrollment {
        let form = self.form.borrow();
        Enrollment {
            name: form.name.clone(),
            email: form.email.clone(),
            phone: form.phone.clone(),
            notes: form.notes.clone(),
            pin: form.pin.clone(),
            duress: form.duress.clone(),
            photo: form.photo.clone(),
        }
    }

    /// "Next": the next field, or — from the last one — the photo step once the
    /// details are valid.
    fn enroll_next(&self) {
        let order = [
            EnrollField::Name,
            EnrollField::Email,
            EnrollField::Phone,
            EnrollField::Notes,
            EnrollField::Pin,
            EnrollField::Duress,
        ];
        let focus = self.focus();
        if let Some(i) = order.iter().position(|f| *f == focus)
            && i + 1 < order.len()
        {
            self.select(order[i + 1]);
            return;
        }
        let form = self.enrollment();
        self.runner.run(move |core| {
            core.admin_activity(Utc::now());
            let problems = core.check_enrollment(&form);
            Box::new(move |app: &AppWindow| {
                show_problems(app, &problems);
                if problems.is_empty() {
                    app.global::<EnrollAdapter>().set_step(1);
                }
            })
        });
        self.start_camera();
    }

    fn to_details(&self) {
        self.stop_camera();
        self.with_app(|app| app.global::<EnrollAdapter>().set_step(0));
    }

    fn start_camera(&self) {
        let Some(camera) = self.camera.clone() else {
            self.with_app(|app| {
                let e = app.global::<EnrollAdapter>();
                e.set_camera_ok(false);
                e.set_camera_message("No camera is configured.".into());
            });
            return;
        };
        camera.set_preview(true);
        let weak = self.app.clone();
        let last = Cell::new(u64::MAX);
        self.preview
            .start(TimerMode::Repeated, Duration::from_millis(66), move || {
                let Some(app) = weak.upgrade() else { return };
                let e = app.global::<EnrollAdapter>();
                if e.get_has_photo() {
                    return;
                }
                match camera.preview() {
                    Some(p) if p.seq != last.get() => {
                        last.set(p.seq);
                        e.set_camera_ok(true);
                        e.set_preview(super::image_from_rgb(&p.rgb, p.width, p.height));
                    }
                    Some(_) => {}
                    None => {
                        e.set_camera_ok(false);
                        e.set_camera_message(camera.status().to_string().into());
                    }
                }
            });
    }

    fn stop_camera(&self) {
        self.preview.stop();
        self.countdown.stop();
        if let Some(camera) = &self.camera {
            camera.set_preview(false);
        }
    }

    /// "Take photo": 3, 2, 1, then the frame of that moment from the pre-roll.
    fn capture(self: &Rc<Self>) {
        self.countdown_left.set(3);
        self.with_app(|app| app.global::<EnrollAdapter>().set_countdown(3));
        let weak = Rc::downgrade(self);
        self.countdown
            .start(TimerMode::Repeated, Duration::from_secs(1), move || {
                if let Some(admin) = weak.upgrade() {
                    admin.count_down();
                }
            });
    }

    fn count_down(&self) {
        let left = self.countdown_left.get().saturating_sub(1);
        self.countdown_left.set(left);
        self.with_app(|app| app.global::<EnrollAdapter>().set_countdown(i32::from(left)));
        if left == 0 {
            self.countdown.stop();
            self.take_photo(Instant::now());
        }
    }

    /// Takes the enrollment photo from the frame captured at `at`.
    pub fn take_photo(&self, at: Instant) {
        let photo = self.camera.as_ref().map(|c| {
            c.burst_or_next(at, 1, 1).and_then(|mut photos| {
                photos.pop().ok_or(crate::hw::camera::NoPhoto::NoFrameNear {
                    tolerance: c.frame_interval(),
                })
            })
        });
        self.with_app(|app| {
            let e = app.global::<EnrollAdapter>();
            match photo {
                Some(Ok(photo)) => {
                    if let Some(image) = super::image_from_jpeg(&photo.jpeg) {
                        e.set_preview(image);
                    }
                    self.form.borrow_mut().photo = Some(photo.jpeg.to_vec());
                    e.set_has_photo(true);
                    e.set_save_error(SharedString::new());
                }
                Some(Err(no_photo)) => e.set_save_error(no_photo.to_string().into()),
                None => e.set_save_error("No camera is configured.".into()),
            }
        });
    }

    fn retake(&self) {
        self.form.borrow_mut().photo = None;
        self.with_app(|app| app.global::<EnrollAdapter>().set_has_photo(false));
    }

    fn save(&self) {
        let form = self.enrollment();
        self.with_app(|app| app.global::<EnrollAdapter>().set_saving(true));
        self.runner.run(move |core| {
            let saved = core.enroll(&form, Utc::now());
            drop(form);
            match saved {
                Ok(id) => {
                    tracing::info!("{id} enrolled from the touchscreen");
                    match core.summary(Utc::now()) {
                        Ok(summary) => {
                            let update = summary_update(summary);
                            Box::new(move |app: &AppWindow| {
                                app.global::<EnrollAdapter>().set_saving(false);
                                update(app);
                            })
                        }
                        Err(e) => ended(e),
                    }
                }
                Err(AdminError::Form(problems)) => Box::new(move |app: &AppWindow| {
                    let e = app.global::<EnrollAdapter>();
                    e.set_saving(false);
                    show_problems(app, &problems);
                    e.set_step(0);
                }),
                Err(e) => ended(e),
            }
        });
        self.stop_camera();
        *self.form.borrow_mut() = Form::default();
    }

    fn cancel_enroll(&self) {
        self.stop_camera();
        *self.form.borrow_mut() = Form::default();
        self.home();
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

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

fn show_people(app: &AppWindow, people: Vec<PersonLine>) {
    let rows: Vec<PersonRow> = people
        .into_iter()
        .map(|p| {
            let photo = p.photo.as_deref().and_then(super::image_from_jpeg);
            PersonRow {
                id: p.id.0 as i32,
                initials: initials(&p.name).into(),
                name: p.name.into(),
                contact: p.contact.into(),
                enabled: p.enabled,
                has_photo: photo.is_some(),
                photo: photo.unwrap_or_default(),
            }
        })
        .collect();
    app.global::<PeopleAdapter>().set_people(model(rows));
    app.global::<AppState>().set_screen(Screen::People);
}

fn show_alerts(app: &AppWindow, rows: Vec<AlertLine>) {
    let rows = rows
        .into_iter()
        .map(
            |AlertLine {
                 id,
                 time,
                 event,
                 channels,
                 errors,
                 can_retry,
             }| AlertRowUi {
                id: id as i32,
                time: time.into(),
                event: event.into(),
                channels: model(
                    channels
                        .into_iter()
                        .map(|(channel, state)| ChannelState {
                            channel: channel.into(),
                            state: state.into(),
                        })
                        .collect(),
                ),
                errors: errors.into(),
                can_retry,
            },
        )
        .collect();
    let alerts = app.global::<AlertsAdapter>();
    alerts.set_rows(model(rows));
    app.global::<AppState>().set_screen(Screen::Alerts);
}

/// Puts each problem next to its field and gives the first one the keyboard.
fn show_problems(app: &AppWindow, problems: &[FieldError]) {
    let e = app.global::<EnrollAdapter>();
    let text = |field: Field| -> SharedString {
        problems
            .iter()
            .filter(|p| p.field == field)
            .map(|p| p.rule.clone())
            .collect::<Vec<_>>()
            .join("; ")
            .into()
    };
    e.set_name_error(text(Field::Name));
    e.set_email_error(text(Field::Email));
    e.set_phone_error(text(Field::Phone));
    e.set_notes_error(text(Field::Notes));
    e.set_pin_error(text(Field::Pin));
    e.set_duress_error(text(Field::DuressPin));
    e.set_save_error(text(Field::Photo));
    let first = problems.iter().find_map(|p| match p.field {
        Field::Name => Some(EnrollField::Name),
        Field::Email => Some(EnrollField::Email),
        Field::Phone => Some(EnrollField::Phone),
        Field::Notes => Some(EnrollField::Notes),
        Field::Pin => Some(EnrollField::Pin),
        Field::DuressPin => Some(EnrollField::Duress),
        Field::Photo => None,
    });
    if let Some(field) = first {
        e.set_focus(field);
    }
}
