//! `doorguard demo`: the whole kiosk played through on any Linux machine, without a
//! display or hardware. Simulated GPIO and camera, a temporary database, alerts
//! written to a folder; the story goes through the real screens and their callbacks —
//! first-boot set-up, two people enrolled on the on-screen keyboard with a photo, a
//! good PIN, a duress PIN, three wrong PINs and the lockout, the administrator reading
//! the audit log and the alerts — and every screen is saved as a PNG at 800×480.
//!
//! Owns only the script. Everything it shows is done by the same code as the kiosk's.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use chrono::Utc;
use slint::ComponentHandle;

use crate::alerts::Place;
use crate::alerts::channels::folder::Folder;
use crate::alerts::outbox::Outbox;
use crate::config::Settings;
use crate::hw::camera::Camera;
use crate::hw::gpio::Gpio;
use crate::kiosk::{Core, Parts, View};
use crate::store::Store;
use crate::ui::headless::Display;
use crate::ui::{
    AdminHomeAdapter, AdminLoginAdapter, AlertsAdapter, AppState, AppWindow, AuditAdapter,
    EnrollAdapter, IdleAdapter, PeopleAdapter, Screen, SetupAdapter, door,
};
use crate::vault::KdfParams;

/// The administrator's passphrase in the demo.
const PASSPHRASE: &str = "correct horse battery staple";

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be written.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// The headless display failed.
    #[error(transparent)]
    Display(#[from] crate::ui::headless::Error),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A device failed to start.
    #[error("{0}")]
    Device(String),
    /// The story did not go as written (a bug).
    #[error("the demo went off script: {0}")]
    Script(String),
}

/// What the demo produced.
#[derive(Debug, Default)]
pub struct Summary {
    /// Screenshots, in order.
    pub screens: Vec<PathBuf>,
    /// Alert files written by the outbox.
    pub alerts: Vec<PathBuf>,
    /// The GPIO timeline file.
    pub timeline: PathBuf,
    /// The summary file.
    pub summary: PathBuf,
}

/// Runs timers and animations for `duration`, as an event loop would.
fn pump(duration: Duration) {
    let end = Instant::now() + duration;
    while Instant::now() < end {
        slint::platform::update_timers_and_animations();
        thread::sleep(Duration::from_millis(15));
    }
    slint::platform::update_timers_and_animations();
}

struct Shots {
    display: Display,
    dir: PathBuf,
    taken: Vec<PathBuf>,
}

impl Shots {
    fn take(&mut self, name: &str) -> Result<(), Error> {
        let path = self
            .dir
            .join(format!("{:02}-{name}.png", self.taken.len() + 1));
        self.display.save_png(&path)?;
        self.taken.push(path);
        Ok(())
    }
}

fn check(app: &AppWindow, want: Screen, step: &str) -> Result<(), Error> {
    let shown = app.global::<AppState>().get_screen();
    if shown == want {
        Ok(())
    } else {
        Err(Error::Script(format!(
            "{step}: expected {want:?}, the kiosk shows {shown:?}"
        )))
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    fs::write(path, bytes).map_err(|e| Error::Io(path.to_owned(), e))
}

/// Plays the story, writing everything into `out`.
pub fn run(out: &Path) -> Result<Summary, Error> {
    let screens = out.join("screens");
    let outbox_dir = out.join("outbox");
    for dir in [&screens, &outbox_dir] {
        fs::create_dir_all(dir).map_err(|e| Error::Io(dir.to_path_buf(), e))?;
    }
    let db = std::env::temp_dir().join(format!("doorguard-demo-{}.db", std::process::id()));
    let _cleanup = Cleanup(db.clone());

    let mut settings = Settings::simulated();
    settings.kiosk.name = "Front door".into();
    settings.alerts.place = Some(Place {
        address: "12 Example Street, Springfield".into(),
        latitude: Some(52.520008),
        longitude: Some(13.404954),
    });
    settings.security.kdf = KdfParams::OWASP_MINIMUM;
    // A short first lockout, so the story goes on within the minute; the sign-in is
    // closed while it lasts, as on a real kiosk.
    settings.access.lockout_first = Duration::from_secs(5);

    let display = Display::install()?;
    display.resize(800, 480);
    let mut shots = Shots {
        display,
        dir: screens,
        taken: Vec::new(),
    };
    let app = AppWindow::new().map_err(|e| Error::Device(e.to_string()))?;
    let state = app.global::<AppState>();
    state.set_kiosk_name(settings.kiosk.name.as_str().into());
    state.set_network_address("192.168.1.20".into());

    let gpio = Gpio::start(&settings.gpio, |_| {}).map_err(|e| Error::Device(e.to_string()))?;
    let sim = gpio
        .sim()
        .cloned()
        .ok_or_else(|| Error::Script("the GPIO is not simulated".into()))?;
    let (camera, _) =
        Camera::start(&settings.camera, |_| {}).map_err(|e| Error::Device(e.to_string()))?;
    if !camera.handle().wait_until_ready(Duration::from_secs(10)) {
        return Err(Error::Device("the simulated camera did not start".into()));
    }
    state.set_camera_level(0);

    // First boot: the administrator is created on screen.
    let done = Rc::new(RefCell::new(false));
    let flag = Rc::clone(&done);
    let setup = crate::ui::setup::Setup::connect(
        &app,
        db.clone(),
        settings.security.kdf,
        Box::new(move || *flag.borrow_mut() = true),
    );
    let s = app.global::<SetupAdapter>();
    type_text(|k| s.invoke_key(k.into()), "alice");
    s.invoke_next();
    type_text(|k| s.invoke_key(k.into()), PASSPHRASE);
    shots.take("setup")?;
    s.invoke_next();
    type_text(|k| s.invoke_key(k.into()), PASSPHRASE);
    s.invoke_next();
    if s.get_step() != 1 {
        return Err(Error::Script(
            "set-up did not create the administrator".into(),
        ));
    }
    shots.take("setup-recovery-code")?;
    s.invoke_finish();
    if !*done.borrow() {
        return Err(Error::Script("set-up did not finish".into()));
    }
    drop(setup);

    // The kiosk: the core runs inline, so the story is deterministic.
    let store = Store::open(&db)?;
    let folder = Folder::new(
        &outbox_dir,
        "Front door <kiosk@example.org>"
            .parse()
            .map_err(|e| Error::Script(format!("{e}")))?,
        "Owner <owner@example.org>"
            .parse()
            .map_err(|e| Error::Script(format!("{e}")))?,
    )
    .map_err(|e| Error::Device(e.to_string()))?;
    let mut outbox = Outbox::new(vec![Box::new(folder)], settings.alerts.max_age);
    let parts = Parts::devices(gpio.handle(), Some(camera.handle()));
    let (core, first) = Core::open(
        settings.clone(),
        store,
        parts,
        outbox.channels(),
        Utc::now(),
    )?;
    let core = Rc::new(RefCell::new(core));
    let (_door, _admin) =
        crate::ui::connect_inline(&app, Rc::clone(&core), Some(camera.handle()), gpio.handle());
    door::show_now(first);
    check(&app, Screen::Idle, "start")?;
    shots.take("idle")?;

    // The administrator signs in and enrolls two people.
    sign_in(&app, &mut shots, true)?;
    enroll(
        &app,
        &mut shots,
        Person {
            name: "Zelda Quux",
            email: "zelda@example.org",
            phone: "+49 151 1234 5678",
            pin: "482913",
            duress: "",
        },
        true,
    )?;
    enroll(
        &app,
        &mut shots,
        Person {
            name: "Arthur Dent",
            email: "",
            phone: "+44 1632 960961",
            pin: "731846",
            duress: "159357",
        },
        false,
    )?;
    app.global::<AdminHomeAdapter>().invoke_people_list();
    check(&app, Screen::People, "people")?;
    shots.take("people")?;
    app.global::<PeopleAdapter>().invoke_back();
    app.global::<AdminHomeAdapter>().invoke_logout();
    check(&app, Screen::Idle, "sign out")?;

    // At the door.
    let idle = app.global::<IdleAdapter>();
    let pin = |digits: &str| {
        for d in digits.chars() {
            idle.invoke_digit(d.to_string().into());
        }
        idle.invoke_submit();
    };
    pin("482913");
    check(&app, Screen::Granted, "good PIN")?;
    shots.take("granted")?;
    door::show_now(View::Idle);
    pin("159357");
    check(&app, Screen::Granted, "duress PIN (looks like a good one)")?;
    door::show_now(View::Idle);
    pin("111111");
    check(&app, Screen::Wrong, "first wrong PIN")?;
    shots.take("wrong-pin")?;
    door::show_now(View::Idle);
    pin("222222");
    door::show_now(View::Idle);
    pin("333333");
    check(&app, Screen::Lockout, "third wrong PIN")?;
    pump(Duration::from_millis(1100));
    shots.take("lockout")?;

    // The alerts leave through the outbox (here: a folder).
    let mut delivering = Store::open(&db)?;
    let reports = outbox.deliver_due(&mut delivering, &Utc::now)?;
    let mut alerts: Vec<PathBuf> = fs::read_dir(&outbox_dir)
        .map_err(|e| Error::Io(outbox_dir.clone(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    alerts.sort();

    // The lockout runs out (the kiosk's core ticks every second).
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.global::<AppState>().get_screen() == Screen::Lockout {
        if Instant::now() > deadline {
            return Err(Error::Script("the lockout did not end".into()));
        }
        pump(Duration::from_millis(250));
        if let Some(view) = core.borrow_mut().tick(Utc::now()) {
            door::show_now(view);
        }
    }

    // The administrator looks at the audit log and the alerts.
    sign_in(&app, &mut shots, false)?;
    app.global::<AdminHomeAdapter>().invoke_audit();
    check(&app, Screen::Audit, "audit log")?;
    shots.take("audit-log")?;
    app.global::<AuditAdapter>().invoke_back();
    app.global::<AdminHomeAdapter>().invoke_alerts();
    check(&app, Screen::Alerts, "alerts")?;
    shots.take("alerts")?;
    app.global::<AlertsAdapter>().invoke_back();

    let timeline_path = out.join("gpio-timeline.txt");
    let mut timeline = String::from("# ms since start  line    level\n");
    for entry in sim.timeline() {
        let _ = writeln!(
            timeline,
            "{:>16}  {:<7} {:?}",
            entry.0.as_millis(),
            entry.1.as_str(),
            entry.2
        );
    }
    write(&timeline_path, timeline.as_bytes())?;

    let mut text = String::from("doorguard demo\n\nScreens (800×480):\n");
    for shot in &shots.taken {
        let _ = writeln!(text, "  {}", shot.display());
    }
    let _ = writeln!(text, "\nAlerts delivered to {}:", outbox_dir.display());
    for report in &reports {
        let outcome = match &report.outcome {
            Ok(receipt) => receipt.detail.clone(),
            Err(e) => format!("not delivered: {e}"),
        };
        let _ = writeln!(text, "  alert {}: {outcome}", report.alert_id);
    }
    let _ = writeln!(
        text,
        "\nGPIO timeline: {} ({} line changes)",
        timeline_path.display(),
        sim.timeline().len()
    );
    let summary_path = out.join("summary.txt");
    write(&summary_path, text.as_bytes())?;
    Ok(Summary {
        screens: shots.taken,
        alerts,
        timeline: timeline_path,
        summary: summary_path,
    })
}

/// Removes the temporary database and its WAL files.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-outbox.lock"] {
            let _ = fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn type_text(mut key: impl FnMut(&str), text: &str) {
    for c in text.chars() {
        key(&c.to_string());
    }
}

fn sign_in(app: &AppWindow, shots: &mut Shots, screenshot: bool) -> Result<(), Error> {
    app.global::<IdleAdapter>().invoke_admin();
    check(app, Screen::AdminLogin, "admin sign-in")?;
    let login = app.global::<AdminLoginAdapter>();
    type_text(|k| login.invoke_key(k.into()), PASSPHRASE);
    if screenshot {
        shots.take("admin-sign-in")?;
    }
    login.invoke_submit();
    check(app, Screen::AdminHome, "admin home")?;
    if screenshot {
        shots.take("admin-home")?;
    }
    Ok(())
}

struct Person {
    name: &'static str,
    email: &'static str,
    phone: &'static str,
    pin: &'static str,
    duress: &'static str,
}

fn enroll(
    app: &AppWindow,
    shots: &mut Shots,
    person: Person,
    screenshots: bool,
) -> Result<(), Error> {
    app.global::<AdminHomeAdapter>().invoke_enroll();
    check(app, Screen::Enroll, "enroll")?;
    let e = app.global::<EnrollAdapter>();
    let typed = |text: &str| type_text(|k| e.invoke_key(k.into()), text);
    typed(person.name);
    e.invoke_next();
    if screenshots {
        // A typo first, to show how the form answers.
        typed("zelda@example");
    } else {
        typed(person.email);
    }
    e.invoke_next();
    typed(person.phone);
    e.invoke_next();
    e.invoke_next();
    typed(person.pin);
    e.invoke_next();
    typed(person.duress);
    e.invoke_next();
    if screenshots {
        if e.get_email_error().is_empty() {
            return Err(Error::Script("the bad e-mail address was accepted".into()));
        }
        shots.take("enroll-form-check")?;
        typed(".org");
        e.invoke_select(crate::ui::EnrollField::Duress);
        e.invoke_next();
    }
    if e.get_step() != 1 {
        return Err(Error::Script(format!("{} was not accepted", person.name)));
    }
    pump(Duration::from_millis(400));
    if screenshots {
        shots.take("enroll-camera")?;
    }
    // 3, 2, 1 and the photo; a machine too busy to deliver a frame in time gets
    // another try, as the person at the kiosk would tap again.
    for _ in 0..3 {
        e.invoke_capture();
        let deadline = Instant::now() + Duration::from_secs(8);
        pump(Duration::from_millis(3000));
        while e.get_countdown() > 0 && Instant::now() < deadline {
            pump(Duration::from_millis(50));
        }
        if e.get_has_photo() {
            break;
        }
    }
    if !e.get_has_photo() {
        return Err(Error::Script(format!(
            "no enrollment photo: {}",
            e.get_save_error()
        )));
    }
    if screenshots {
        shots.take("enroll-photo")?;
    }
    e.invoke_save();
    check(app, Screen::AdminHome, "saved")
}
