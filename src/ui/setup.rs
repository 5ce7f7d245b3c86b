//! The controller of the first-boot set-up (`SetupAdapter`): the first administrator's
//! name and passphrase typed on the on-screen keyboard, the database initialized, the
//! recovery code shown once.
//!
//! The passphrase stays in zeroizing buffers here; the screen learns its length only.
//! Set-up runs before the kiosk core exists, so it initializes the store itself (one
//! Argon2id run; the screen says "working" meanwhile).

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use chrono::Utc;
use slint::{ComponentHandle, SharedString, Weak};
use zeroize::Zeroizing;

use super::{AppState, AppWindow, Screen, SetupAdapter, SetupField};
use crate::store::{Store, StoreError};
use crate::vault::{KdfParams, Passphrase};

/// Longest passphrase the keyboard takes.
const MAX: usize = 256;

/// The set-up screens' state.
pub struct Setup {
    app: Weak<AppWindow>,
    db: PathBuf,
    kdf: KdfParams,
    name: RefCell<String>,
    passphrase: RefCell<Zeroizing<String>>,
    repeat: RefCell<Zeroizing<String>>,
    done: RefCell<Option<Box<dyn FnOnce()>>>,
}

impl Setup {
    /// Shows the set-up screen for the database at `db`; `done` runs once the
    /// administrator has confirmed the recovery code.
    pub fn connect(
        app: &AppWindow,
        db: PathBuf,
        kdf: KdfParams,
        done: Box<dyn FnOnce()>,
    ) -> Rc<Setup> {
        let setup = Rc::new(Setup {
            app: app.as_weak(),
            db,
            kdf,
            name: RefCell::default(),
            passphrase: RefCell::default(),
            repeat: RefCell::default(),
            done: RefCell::new(Some(done)),
        });
        let adapter = app.global::<SetupAdapter>();
        let s = Rc::downgrade(&setup);
        adapter.on_key(move |k| {
            if let Some(setup) = s.upgrade() {
                setup.key(&k);
            }
        });
        let s = Rc::downgrade(&setup);
        adapter.on_erase(move || {
            if let Some(setup) = s.upgrade() {
                setup.erase();
            }
        });
        let s = Rc::downgrade(&setup);
        adapter.on_select(move |field| {
            if let Some(setup) = s.upgrade() {
                setup.with_app(|app| app.global::<SetupAdapter>().set_focus(field));
            }
        });
        let s = Rc::downgrade(&setup);
        adapter.on_next(move || {
            if let Some(setup) = s.upgrade() {
                setup.next();
            }
        });
        let s = Rc::downgrade(&setup);
        adapter.on_finish(move || {
            if let Some(setup) = s.upgrade() {
                setup.finish();
            }
        });
        adapter.set_step(0);
        adapter.set_focus(SetupField::Name);
        app.global::<AppState>().set_screen(Screen::Setup);
        setup
    }

    fn with_app(&self, f: impl FnOnce(&AppWindow)) {
        if let Some(app) = self.app.upgrade() {
            f(&app);
        }
    }

    fn focus(&self) -> SetupField {
        let mut focus = SetupField::Name;
        self.with_app(|app| focus = app.global::<SetupAdapter>().get_focus());
        focus
    }

    fn show(&self) {
        let name = self.name.borrow().clone();
        let pass = self.passphrase.borrow().chars().count() as i32;
        let repeat = self.repeat.borrow().chars().count() as i32;
        self.with_app(|app| {
            let a = app.global::<SetupAdapter>();
            a.set_name(name.into());
            a.set_passphrase_length(pass);
            a.set_repeat_length(repeat);
        });
    }

    fn key(&self, key: &str) {
        match self.focus() {
            SetupField::Name => {
                let mut name = self.name.borrow_mut();
                if name.chars().count() < 64 {
                    name.push_str(key);
                }
            }
            SetupField::Passphrase => push(&mut self.passphrase.borrow_mut(), key),
            SetupField::Repeat => push(&mut self.repeat.borrow_mut(), key),
        }
        self.show();
    }

    fn erase(&self) {
        match self.focus() {
            SetupField::Name => drop(self.name.borrow_mut().pop()),
            SetupField::Passphrase => drop(self.passphrase.borrow_mut().pop()),
            SetupField::Repeat => drop(self.repeat.borrow_mut().pop()),
        }
        self.show();
    }

    /// "Next": the next field; from the last, checks everything and creates the vault.
    fn next(&self) {
        match self.focus() {
            SetupField::Name => {
                self.with_app(|app| {
                    app.global::<SetupAdapter>()
                        .set_focus(SetupField::Passphrase)
                });
                return;
            }
            SetupField::Passphrase => {
                self.with_app(|app| app.global::<SetupAdapter>().set_focus(SetupField::Repeat));
                return;
            }
            SetupField::Repeat => {}
        }
        let name = self.name.borrow().trim().to_owned();
        let mut errors = (String::new(), String::new(), String::new());
        if name.is_empty() || name.chars().count() > 64 {
            errors.0 = "1 to 64 characters".into();
        }
        let pass = Passphrase::parse(&self.passphrase.borrow());
        if let Err(e) = &pass {
            errors.1 = e.to_string();
        } else if **self.passphrase.borrow() != **self.repeat.borrow() {
            errors.2 = "the two passphrases differ".into();
        }
        let failed = !(errors.0.is_empty() && errors.1.is_empty() && errors.2.is_empty());
        self.with_app(|app| {
            let a = app.global::<SetupAdapter>();
            a.set_name_error(errors.0.clone().into());
            a.set_passphrase_error(errors.1.clone().into());
            a.set_repeat_error(errors.2.clone().into());
            if !errors.0.is_empty() {
                a.set_focus(SetupField::Name);
            } else if !errors.1.is_empty() {
                a.set_focus(SetupField::Passphrase);
            }
        });
        let Ok(pass) = pass else { return };
        if failed {
            return;
        }
        self.with_app(|app| app.global::<SetupAdapter>().set_working(true));
        let created = Store::open(&self.db)
            .and_then(|mut store| store.initialize(&name, &pass, self.kdf, Utc::now()));
        self.passphrase.borrow_mut().clear();
        self.repeat.borrow_mut().clear();
        self.with_app(|app| {
            let a = app.global::<SetupAdapter>();
            a.set_working(false);
            match created {
                Ok((_, code)) => {
                    a.set_recovery_code(SharedString::from(code.display_grouped().as_str()));
                    a.set_step(1);
                }
                Err(StoreError::AlreadyInitialized) => self.finish(),
                Err(e) => a.set_name_error(e.to_string().into()),
            }
        });
        self.show();
    }

    /// The recovery code was written down: it leaves the screen, the kiosk starts.
    fn finish(&self) {
        self.with_app(|app| {
            app.global::<SetupAdapter>()
                .set_recovery_code(SharedString::new())
        });
        if let Some(done) = self.done.borrow_mut().take() {
            done();
        }
    }
}

fn push(buffer: &mut Zeroizing<String>, key: &str) {
    if buffer.chars().count() + key.chars().count() <= MAX {
        buffer.push_str(key);
    }
}
