//! Enrollment on the touchscreen: the details typed field by field (PINs kept here,
//! zeroized), checked by the core, then the photo counted down 3-2-1 from the live
//! preview, then saved.

use super::*;

/// Longest text field.
const FIELD_MAX: usize = 200;

/// The enrollment form as typed.
#[derive(Default)]
pub(super) struct Form {
    name: String,
    email: String,
    phone: String,
    notes: String,
    pin: Zeroizing<String>,
    duress: Zeroizing<String>,
    photo: Option<Vec<u8>>,
}

impl Admin {
    pub(super) fn open_enroll(&self) {
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

    pub(super) fn focus(&self) -> EnrollField {
        let mut focus = EnrollField::Name;
        self.with_app(|app| focus = app.global::<EnrollAdapter>().get_focus());
        focus
    }

    pub(super) fn show_form(&self) {
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

    pub(super) fn enroll_key(&self, key: &str) {
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

    pub(super) fn enroll_erase(&self) {
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

    pub(super) fn select(&self, field: EnrollField) {
        self.with_app(|app| app.global::<EnrollAdapter>().set_focus(field));
        self.touch();
    }

    pub(super) fn enrollment(&self) -> Enrollment {
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
    pub(super) fn enroll_next(&self) {
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

    pub(super) fn to_details(&self) {
        self.stop_camera();
        self.with_app(|app| app.global::<EnrollAdapter>().set_step(0));
    }

    pub(super) fn start_camera(&self) {
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
                        e.set_preview(crate::ui::image_from_rgb(&p.rgb, p.width, p.height));
                    }
                    Some(_) => {}
                    None => {
                        e.set_camera_ok(false);
                        e.set_camera_message(camera.status().to_string().into());
                    }
                }
            });
    }

    pub(super) fn stop_camera(&self) {
        self.preview.stop();
        self.countdown.stop();
        if let Some(camera) = &self.camera {
            camera.set_preview(false);
        }
    }

    /// "Take photo": 3, 2, 1, then the frame of that moment from the pre-roll.
    pub(super) fn capture(self: &Rc<Self>) {
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

    pub(super) fn count_down(&self) {
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
                    if let Some(image) = crate::ui::image_from_jpeg(&photo.jpeg) {
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

    pub(super) fn retake(&self) {
        self.form.borrow_mut().photo = None;
        self.with_app(|app| app.global::<EnrollAdapter>().set_has_photo(false));
    }

    pub(super) fn save(&self) {
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

    pub(super) fn cancel_enroll(&self) {
        self.stop_camera();
        *self.form.borrow_mut() = Form::default();
        self.home();
    }
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
