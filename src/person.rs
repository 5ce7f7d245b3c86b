//! An enrolled person's details and the rules they must satisfy.
//!
//! Owns the validation of what an administrator types (CLI, CSV import, touchscreen
//! form): each problem names its field. Must not store or print the details: they are
//! zeroized on drop and only the store, under the vault, persists them.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// The largest enrollment photo accepted, in bytes.
pub const MAX_PHOTO_BYTES: usize = 4 * 1024 * 1024;

/// A form field of a person, as named in messages, CSV headers and JSON exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Full name.
    Name,
    /// E-mail address.
    Email,
    /// Phone number in E.164 form.
    Phone,
    /// Free text.
    Notes,
    /// Enrollment photo (JPEG).
    Photo,
    /// The PIN.
    Pin,
    /// The optional duress PIN.
    DuressPin,
}

impl Field {
    /// The field's name in messages and file headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::Notes => "notes",
            Field::Photo => "photo",
            Field::Pin => "pin",
            Field::DuressPin => "duress_pin",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field that broke its rule; the message says the rule, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct FieldError {
    /// Which field.
    pub field: Field,
    /// The rule, in words for the person at the form.
    pub rule: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: Field, rule: impl Into<String>) -> Self {
        FieldError {
            field,
            rule: rule.into(),
        }
    }
}

/// What an administrator records about a person. Zeroized on drop.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct PersonDetails {
    /// Full name, 1–100 characters.
    pub name: String,
    /// E-mail address, optional.
    pub email: Option<String>,
    /// Phone number in E.164 form (`+` then 8–15 digits), optional.
    pub phone: Option<String>,
    /// Free text up to 500 characters, optional.
    pub notes: Option<String>,
}

impl fmt::Debug for PersonDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonDetails(***)")
    }
}

impl PersonDetails {
    /// Builds details from typed text: trims, turns empty optional fields into `None`,
    /// and reports every broken rule, each with its field.
    pub fn new(
        name: &str,
        email: Option<&str>,
        phone: Option<&str>,
        notes: Option<&str>,
    ) -> Result<Self, Vec<FieldError>> {
        let tidy = |s: Option<&str>| {
            s.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let details = PersonDetails {
            name: name.trim().to_owned(),
            email: tidy(email),
            phone: tidy(phone).map(|p| {
                p.chars()
                    .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
                    .collect()
            }),
            notes: tidy(notes),
        };
        let problems = details.problems();
        if problems.is_empty() {
            Ok(details)
        } else {
            Err(problems)
        }
    }

    /// Every rule these details break (empty when valid).
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        let name_len = self.name.chars().count();
        if name_len == 0 {
            out.push(FieldError::new(Field::Name, "a name is required"));
        } else if name_len > 100 {
            out.push(FieldError::new(Field::Name, "at most 100 characters"));
        } else if self.name.chars().any(char::is_control) {
            out.push(FieldError::new(Field::Name, "no control characters"));
        }
        if let Some(email) = &self.email
            && !looks_like_email(email)
        {
            out.push(FieldError::new(
                Field::Email,
                "must look like name@example.org",
            ));
        }
        if let Some(phone) = &self.phone {
            let digits = phone.strip_prefix('+').unwrap_or("");
            if !(8..=15).contains(&digits.len())
                || !digits.bytes().all(|b| b.is_ascii_digit())
                || digits.starts_with('0')
            {
                out.push(FieldError::new(
                    Field::Phone,
                    "international form: + then country code and number, e.g. +4915112345678",
                ));
            }
        }
        if let Some(notes) = &self.notes
            && notes.chars().count() > 500
        {
            out.push(FieldError::new(Field::Notes, "at most 500 characters"));
        }
        out
    }
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@')
}

/// Checks that `bytes` are a JPEG of acceptable size (the camera and `--photo` give JPEG).
pub fn check_photo(bytes: &[u8]) -> Result<(), FieldError> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(FieldError::new(
            Field::Photo,
            format!("at most {} MiB", MAX_PHOTO_BYTES / (1024 * 1024)),
        ));
    }
    if bytes.len() < 4 || bytes[..3] != [0xFF, 0xD8, 0xFF] {
        return Err(FieldError::new(Field::Photo, "must be a JPEG image"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_details_are_tidied() {
        let d = PersonDetails::new(
            " Zelda Quux ",
            Some("zelda@example.org"),
            Some("+49 151 1234-5678"),
            Some(""),
        )
        .unwrap();
        assert_eq!(d.name, "Zelda Quux");
        assert_eq!(d.phone.as_deref(), Some("+4915112345678"));
        assert_eq!(d.notes, None);
    }

    #[test]
    fn every_problem_is_named_by_field() {
        let errs =
            PersonDetails::new("", Some("not-an-address"), Some("0151 123"), None).unwrap_err();
        let fields: Vec<Field> = errs.iter().map(|e| e.field).collect();
        assert_eq!(fields, [Field::Name, Field::Email, Field::Phone]);
        assert!(!errs[1].to_string().contains("not-an-address"));
    }

    #[test]
    fn photo_must_be_jpeg() {
        assert!(check_photo(&[0xFF, 0xD8, 0xFF, 0xE0, 0]).is_ok());
        assert_eq!(check_photo(b"\x89PNG\r\n").unwrap_err().field, Field::Photo);
    }
}
