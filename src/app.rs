//! `doorguard run`: the kiosk put together — the Slint window on the main thread, the
//! camera, GPIO, speech, the alert worker and the kiosk core each on their own thread,
//! connected through the core's state machine.
//!
//! Owns start-up and shutdown order: the relay is secured first and last (the GPIO
//! service is started before anything can ask for a pulse and dropped after
//! everything else). Must not block the event loop.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use chrono::Utc;
use slint::ComponentHandle;

use crate::alerts::channels;
use crate::alerts::outbox::{Outbox, OutboxWorker};
use crate::config::{Secrets, Settings};
use crate::hw::camera::{Camera, Status};
use crate::hw::gpio::{Gpio, Report};
use crate::hw::speech::Speaker;
use crate::kiosk::{Core, CoreThread, Parts, Request};
use crate::store::{Store, StoreError};
use crate::ui::door;
use crate::ui::{AppState, AppWindow};

/// Why the kiosk could not start. Every variant says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The display could not be opened.
    #[error(
        "cannot open the display: {0} (on a Pi without a desktop, `[display] backend = \"linuxkms\"` needs the user in groups video, input and render)"
    )]
    Display(String),
    /// The GPIO could not be opened.
    #[error(transparent)]
    Gpio(#[from] crate::hw::gpio::Error),
    /// A thread could not be started.
    #[error("cannot start a thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Picks Slint's backend as configured.
fn open_display(settings: &Settings) -> Result<(), Error> {
    if let Some(name) = &settings.display.backend {
        slint::BackendSelector::new()
            .backend_name(name.clone())
            .select()
            .map_err(|e| Error::Display(e.to_string()))?;
    }
    Ok(())
}

/// Selects the screens' language; Slint allows it once a window exists.
fn select_language(language: &str) {
    if language != "en"
        && let Err(e) = slint::select_bundled_translation(language)
    {
        tracing::warn!("no {language} translation: {e}");
    }
}

/// Runs the kiosk until its window is closed or the process is stopped. On a fresh
/// database it starts with the first-boot set-up.
pub fn run(settings: Settings, db: &Path, secrets: &Secrets) -> Result<(), Error> {
    let started = std::time::Instant::now();
    channels::install_crypto_provider();
    // The core's mailbox exists first, so the GPIO's input events have somewhere to go.
    let (to_core, core_inbox) = std::sync::mpsc::channel();
    let from_inputs = to_core.clone();
    // The relay is driven secure before anything else can move it.
    let gpio = Gpio::start(&settings.gpio, move |report| match report {
        Report::Input { event, .. } => {
            let _ = from_inputs.send(Request::Device(event));
        }
        Report::PulseRefused { length } => {
            tracing::info!("relay pulse of {length:?} refused: the relay is held secure");
        }
    })?;
    let mailbox = RefCell::new(Some((to_core, core_inbox)));

    open_display(&settings)?;
    let app = AppWindow::new().map_err(|e| Error::Display(e.to_string()))?;
    select_language(&settings.display.language);
    app.window().set_fullscreen(settings.display.fullscreen);
    let state = app.global::<AppState>();
    state.set_kiosk_name(settings.kiosk.name.as_str().into());

    let camera_weak = app.as_weak();
    let camera = match Camera::start(&settings.camera, move |status| {
        let level = match status {
            Status::Ok { .. } => 0,
            Status::Starting => 1,
            Status::Offline { .. } => 2,
        };
        let _ = camera_weak.upgrade_in_event_loop(move |app| {
            app.global::<AppState>().set_camera_level(level);
        });
    }) {
        Ok((camera, _sim)) => Some(camera),
        Err(e) => {
            tracing::error!("camera: {e}; alerts go out without photos");
            None
        }
    };

    let running: Rc<RefCell<Option<Running>>> = Rc::default();
    let start = {
        let (app, running) = (app.as_weak(), Rc::clone(&running));
        let (db, secrets) = (db.to_owned(), secrets.clone());
        let (gpio, camera) = (gpio.handle(), camera.as_ref().map(Camera::handle));
        move |settings: Settings| -> Result<(), Error> {
            let Some(app) = app.upgrade() else {
                return Ok(());
            };
            let Some(mailbox) = mailbox.borrow_mut().take() else {
                return Ok(());
            };
            let kiosk = start_kiosk(&app, settings, &db, &secrets, mailbox, gpio, camera)?;
            *running.borrow_mut() = Some(kiosk);
            Ok(())
        }
    };
    if Store::open(db)?.is_initialized()? {
        start(settings)?;
    } else {
        let kdf = settings.security.kdf;
        let setup_done = move || {
            if let Err(e) = start(settings) {
                tracing::error!("the kiosk cannot start after set-up: {e}");
                let _ = slint::quit_event_loop();
            }
        };
        let setup =
            crate::ui::setup::Setup::connect(&app, db.to_owned(), kdf, Box::new(setup_done));
        // The adapter's callbacks hold it weakly; it lives until the event loop ends.
        SETUP.with(|s| *s.borrow_mut() = Some(setup));
    }
    tracing::info!(
        "kiosk ready in {} ms; showing the first screen",
        started.elapsed().as_millis()
    );
    let result = app.run().map_err(|e| Error::Display(e.to_string()));
    drop(running.borrow_mut().take());
    drop(camera);
    drop(gpio);
    result
}

thread_local! {
    static SETUP: RefCell<Option<Rc<crate::ui::setup::Setup>>> = const { RefCell::new(None) };
}

/// The core thread's channel.
type Mailbox = (
    std::sync::mpsc::Sender<Request>,
    std::sync::mpsc::Receiver<Request>,
);

/// What runs once the database is initialized.
struct Running {
    _door: Rc<crate::ui::door::Door>,
    _admin: Rc<crate::ui::admin::Admin>,
    _core: Rc<CoreThread>,
}

fn start_kiosk(
    app: &AppWindow,
    settings: Settings,
    db: &Path,
    secrets: &Secrets,
    mailbox: Mailbox,
    gpio: crate::hw::gpio::GpioHandle,
    camera: Option<crate::hw::camera::CameraHandle>,
) -> Result<Running, Error> {
    let store = Store::open(db)?;
    let speaker = Speaker::start(settings.speech.clone())
        .map_err(|e| tracing::warn!("speech: {e}"))
        .ok();
    let notifiers = channels::configured(&settings.alerts, secrets).unwrap_or_else(|e| {
        tracing::error!("alerts: {e}; no channel will send until the configuration is fixed");
        Vec::new()
    });
    let outbox = Outbox::new(notifiers, settings.alerts.max_age);
    let names = outbox.channels();
    let outbox = OutboxWorker::start(db.to_owned(), outbox)
        .map_err(|e| tracing::error!("alerts: {e}"))
        .ok();
    let parts = Parts {
        gpio: gpio.clone(),
        camera: camera.clone(),
        speaker,
        outbox,
    };
    let scrambled = settings.display.scrambled_keypad;
    let language = settings.display.language.clone();
    let (core, first) = Core::open(settings, store, parts, names, Utc::now())?;
    let core = Rc::new(CoreThread::start_with(core, mailbox, |view| {
        door::post(view);
    })?);
    let sender = Rc::clone(&core);
    let (door, admin) = crate::ui::connect(
        app,
        Rc::new(move |request| sender.send(request)),
        crate::ui::admin::Delivery::EventLoop,
        camera,
        gpio,
        scrambled,
    );
    door.set_language(&language);
    door.show(first);
    Ok(Running {
        _door: door,
        _admin: admin,
        _core: core,
    })
}
