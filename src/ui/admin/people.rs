//! The people list: search, disable or enable, delete (after a confirmation), a new
//! PIN typed on the dialog's keypad.

use super::*;

impl Admin {
    /// The people's details leave the screen's memory with the people list.
    pub(super) fn forget_people(&self) {
        self.search.borrow_mut().clear();
        self.with_app(|app| app.global::<PeopleAdapter>().set_people(model(Vec::new())));
    }

    pub(super) fn open_people(&self) {
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
    pub(super) fn refresh_people(&self) {
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

    pub(super) fn set_enabled(&self, id: i32, enabled: bool) {
        self.runner.run(move |core| {
            match core.set_enabled(PersonId(i64::from(id)), enabled, Utc::now()) {
                Ok(()) => Box::new(|_: &AppWindow| {}),
                Err(e) => ended(e),
            }
        });
        self.refresh_people();
    }

    /// Picks a person for deletion (`delete`) or a new PIN.
    pub(super) fn pick(&self, id: i32, delete: bool) {
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

    pub(super) fn dismiss(&self) {
        self.new_pin.borrow_mut().clear();
        self.with_app(|app| {
            let p = app.global::<PeopleAdapter>();
            p.set_confirm_delete(-1);
            p.set_new_pin_for(-1);
            p.set_new_pin_length(0);
        });
    }

    pub(super) fn delete(&self) {
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

    pub(super) fn show_new_pin(&self) {
        let length = self.new_pin.borrow().len() as i32;
        self.with_app(|app| app.global::<PeopleAdapter>().set_new_pin_length(length));
    }

    pub(super) fn submit_new_pin(&self) {
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
            let photo = p.photo.as_deref().and_then(crate::ui::image_from_jpeg);
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
