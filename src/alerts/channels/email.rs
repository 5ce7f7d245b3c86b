//! E-mail through an SMTP server with `lettre` and rustls: STARTTLS, implicit TLS or
//! (for a relay on the same machine or a test) plain SMTP, with authentication, several
//! recipients, a text and an HTML alternative, and the photos attached as JPEGs.
//!
//! Owns the SMTP conversation; must not retry by itself (the outbox decides) and must
//! never put the password in a log, an error or `Debug` output.
//!
//! The server is given in lettre's URL form: `smtps://mail.example.org:465` (implicit
//! TLS), `smtp://mail.example.org:587?tls=required` (STARTTLS), or
//! `smtp://127.0.0.1:2525` (no TLS, for local relays). The password comes from the
//! `smtp_password` secret, never from the URL. Each alert keeps one Message-ID, so a
//! repeat after a crash is recognisable as the same message.

use std::fmt;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};

use crate::alerts::{AlertContent, AlertPhoto, Notifier, Receipt, SendError, render};

/// `[email]` settings.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailSettings {
    /// The SMTP server in lettre's URL form (see the module docs), without a password.
    pub server: String,
    /// The sender, e.g. `Front door <kiosk@example.org>`.
    pub from: String,
    /// The recipients, one or more.
    pub to: Vec<String>,
    /// The SMTP user name, if the server wants one.
    pub username: Option<String>,
    /// The SMTP password (the `smtp_password` secret).
    pub password: Option<String>,
    /// How long one SMTP command may take (default 30 s).
    pub timeout: Duration,
}

impl fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailSettings")
            .field("server", &self.server)
            .field("from", &self.from)
            .field("to", &self.to)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The e-mail channel.
pub struct Email {
    transport: SmtpTransport,
    from: Mailbox,
    to: Vec<Mailbox>,
    /// The domain of the sender, for Message-IDs.
    domain: String,
}

fn permanent(reason: String) -> SendError {
    SendError::Permanent { reason }
}

fn mailbox(key: &str, text: &str) -> Result<Mailbox, SendError> {
    text.parse::<Mailbox>().map_err(|e| {
        permanent(format!(
            "e-mail: `email.{key}` is not an address: \"{text}\" ({e})"
        ))
    })
}

impl Email {
    /// Checks the settings and builds the SMTP client (no connection yet).
    pub fn new(settings: &EmailSettings) -> Result<Email, SendError> {
        super::install_crypto_provider();
        let url = reqwest::Url::parse(&settings.server)
            .map_err(|e| permanent(format!("e-mail: `email.server` is not a URL ({e})")))?;
        if url.password().is_some() {
            return Err(permanent(
                "e-mail: `email.server` must not contain a password; put it in the `smtp_password` secret"
                    .to_owned(),
            ));
        }
        let from = mailbox("from", &settings.from)?;
        let to = settings
            .to
            .iter()
            .map(|t| mailbox("to", t))
            .collect::<Result<Vec<_>, _>>()?;
        if to.is_empty() {
            return Err(permanent(
                "e-mail: `email.to` names no recipient".to_owned(),
            ));
        }
        let mut builder = SmtpTransport::from_url(&settings.server)
            .map_err(|e| permanent(format!("e-mail: `email.server` cannot be used: {e}")))?
            .timeout(Some(settings.timeout));
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Email {
            transport: builder.build(),
            domain: from.email.domain().to_owned(),
            from,
            to,
        })
    }

    fn message(&self, alert: &AlertContent, photos: &[AlertPhoto]) -> Result<Message, SendError> {
        compose(alert, photos, &self.from, &self.to, &self.domain)
    }
}

/// The alert as an e-mail: subject, text and HTML alternatives, the photos attached,
/// and a Message-ID made of the alert id (the same on every try).
pub fn compose(
    alert: &AlertContent,
    photos: &[AlertPhoto],
    from: &Mailbox,
    to: &[Mailbox],
    domain: &str,
) -> Result<Message, SendError> {
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(render::subject(alert))
        .message_id(Some(format!(
            "<doorguard-alert-{}.{}@{}>",
            alert.id,
            alert.at.timestamp(),
            domain
        )));
    for to in to {
        builder = builder.to(to.clone());
    }
    let mut body = MultiPart::mixed().multipart(MultiPart::alternative_plain_html(
        render::text(alert),
        render::html(alert),
    ));
    let jpeg = ContentType::parse("image/jpeg").map_err(|e| permanent(format!("e-mail: {e}")))?;
    for (n, photo) in photos.iter().enumerate() {
        let name = format!("doorguard-{}-{}.jpg", alert.id, n + 1);
        body = body.singlepart(Attachment::new(name).body(photo.jpeg.clone(), jpeg.clone()));
    }
    builder
        .multipart(body)
        .map_err(|e| permanent(format!("e-mail: the message cannot be built: {e}")))
}

impl Notifier for Email {
    fn channel(&self) -> &'static str {
        "email"
    }

    fn send(&mut self, alert: &AlertContent, photos: &[AlertPhoto]) -> Result<Receipt, SendError> {
        let message = self.message(alert, photos)?;
        match self.transport.send(&message) {
            Ok(response) => Ok(Receipt {
                detail: format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ),
            }),
            Err(e) if e.is_permanent() => {
                Err(permanent(format!("e-mail: the server refused: {e}")))
            }
            Err(e) => Err(SendError::Retry {
                reason: format!("e-mail: {e}"),
                after: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> EmailSettings {
        EmailSettings {
            server: "smtp://127.0.0.1:2525".into(),
            from: "Front door <kiosk@example.org>".into(),
            to: vec!["owner@example.org".into()],
            username: Some("kiosk".into()),
            password: Some("s3cret-pass".into()),
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn bad_settings_are_named_and_the_password_never_shown() {
        assert!(!format!("{:?}", settings()).contains("s3cret-pass"));
        let mut s = settings();
        s.from = "not an address".into();
        let err = Email::new(&s).err().unwrap().to_string();
        assert!(err.contains("`email.from` is not an address"), "{err}");
        let mut s = settings();
        s.server = "smtp://kiosk:s3cret-pass@mail.example.org:587".into();
        let err = Email::new(&s).err().unwrap().to_string();
        assert!(
            err.contains("must not contain a password") && !err.contains("s3cret"),
            "{err}"
        );
        let mut s = settings();
        s.to.clear();
        assert!(
            Email::new(&s)
                .err()
                .unwrap()
                .to_string()
                .contains("no recipient")
        );
    }
}
