//! A folder as a channel, for the headless demo and for kiosks that hand alerts to
//! another program: each alert is written as `alert-{id}.eml` (the e-mail the owner
//! would get, photos attached) and `alert-{id}.json` (the webhook/MQTT document).
//!
//! Owns nothing but its folder; files are written to a temporary name and renamed, so
//! a reader never sees half an alert.

use std::fs;
use std::path::{Path, PathBuf};

use lettre::message::Mailbox;

use super::email::compose;
use crate::alerts::{AlertContent, AlertPhoto, Notifier, Receipt, SendError, render};

/// The folder channel.
pub struct Folder {
    dir: PathBuf,
    from: Mailbox,
    to: Mailbox,
}

impl Folder {
    /// Writes alerts into `dir` (created if missing), as e-mails from `from` to `to`.
    pub fn new(dir: &Path, from: Mailbox, to: Mailbox) -> Result<Folder, SendError> {
        fs::create_dir_all(dir).map_err(|e| SendError::Permanent {
            reason: format!("folder: cannot create {}: {e}", dir.display()),
        })?;
        Ok(Folder {
            dir: dir.to_owned(),
            from,
            to,
        })
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), SendError> {
        let path = self.dir.join(name);
        let partial = self.dir.join(format!(".{name}.partial"));
        fs::write(&partial, bytes)
            .and_then(|()| fs::rename(&partial, &path))
            .map_err(|e| SendError::Retry {
                reason: format!("folder: cannot write {}: {e}", path.display()),
                after: None,
            })
    }
}

impl Notifier for Folder {
    fn channel(&self) -> &'static str {
        "folder"
    }

    fn send(&mut self, alert: &AlertContent, photos: &[AlertPhoto]) -> Result<Receipt, SendError> {
        let domain = self.from.email.domain().to_owned();
        let message = compose(
            alert,
            photos,
            &self.from,
            std::slice::from_ref(&self.to),
            &domain,
        )?;
        self.write(&format!("alert-{}.eml", alert.id), &message.formatted())?;
        let json =
            serde_json::to_vec_pretty(&render::json(alert)).map_err(|e| SendError::Permanent {
                reason: format!("folder: {e}"),
            })?;
        self.write(&format!("alert-{}.json", alert.id), &json)?;
        Ok(Receipt {
            detail: format!("wrote alert-{0}.eml and alert-{0}.json", alert.id),
        })
    }
}
