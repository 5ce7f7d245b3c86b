//! Alerts for the owner: what an alert says ([`AlertContent`]), how it is rendered for
//! each medium ([`render`]), and the channels that carry it ([`channels`]), each behind
//! the [`Notifier`] trait.
//!
//! Owns every outgoing message: no other module talks to an SMTP server, a messaging
//! API or an MQTT broker. It must not decide *whether* to alert (that is
//! [`access`](crate::access)) and must never lose an alert: an alert and its photos are
//! committed to the database's outbox before any send, and a channel answers each try
//! with a [`Receipt`] or a [`SendError`] that says whether to try again.
//!
//! # Troubleshooting
//!
//! - **`e-mail: 535 authentication failed`**: check the `smtp_password` secret (it
//!   never appears in logs); many providers need an app password.
//! - **`whatsapp: 131047 … re-engagement`**: Meta's Cloud API refuses free-form
//!   messages outside the 24-hour window; configure a `template` with an image header.
//! - **`telegram: 403 bot was blocked by the user`**: the owner must send `/start` to the
//!   bot once.
//! - **Everything is retried**: the kiosk has no network; alerts wait in the outbox
//!   (`doorguard alerts list`) and go out when it is back, for up to `max_age`.

pub mod channels;
pub mod netinfo;
pub mod outbox;
pub mod render;

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{Alert, AlertKind};
use crate::store::{PendingAlert, Store, StoreError};

/// Where the kiosk stands, as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// A postal address or a description ("Back door, 12 Example Street, Springfield").
    pub address: String,
    /// Latitude in degrees, if configured.
    pub latitude: Option<f64>,
    /// Longitude in degrees, if configured.
    pub longitude: Option<f64>,
}

impl Place {
    /// An OpenStreetMap link to the coordinates, when both are configured.
    pub fn map_link(&self) -> Option<String> {
        let (lat, lon) = (self.latitude?, self.longitude?);
        Some(format!(
            "https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}#map=18/{lat:.6}/{lon:.6}"
        ))
    }
}

/// Everything an alert message says, except the photos. Stored as JSON in the outbox,
/// so a restart sends exactly what was decided at the moment of the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertContent {
    /// The outbox id (unique per kiosk).
    pub id: i64,
    /// The kiosk's name (`kiosk.name`).
    pub kiosk: String,
    /// What happened.
    pub kind: AlertKind,
    /// When it happened, in UTC.
    pub at: DateTime<Utc>,
    /// The same moment in the kiosk's local time zone (its offset is kept).
    pub at_local: DateTime<FixedOffset>,
    /// The local zone's name or abbreviation as the system gives it (e.g. `CET`).
    pub zone: String,
    /// Where the kiosk is, if configured.
    pub place: Option<Place>,
    /// The kiosk's LAN addresses (IPv4 and IPv6, loopback left out).
    pub lan_addresses: Vec<String>,
    /// The kiosk's public IP address, `None` when it could not be learned in time.
    pub public_ip: Option<String>,
    /// Consecutive failed attempts at the time of the event.
    pub attempts: u32,
    /// How many photos go with the alert (at most 3, best first).
    pub photos: u32,
    /// A sample sent by `doorguard alerts test`: nothing happened at the door.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
}

impl AlertContent {
    /// The content of alert `id` as decided at `at`, with the local time in the
    /// system's time zone.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: i64,
        kiosk: &str,
        alert: Alert,
        at: DateTime<Utc>,
        place: Option<Place>,
        lan_addresses: Vec<String>,
        public_ip: Option<String>,
        photos: u32,
    ) -> AlertContent {
        AlertContent {
            id,
            kiosk: kiosk.to_owned(),
            kind: alert.kind,
            at,
            at_local: at.with_timezone(&chrono::Local).fixed_offset(),
            zone: zone_name(),
            place,
            lan_addresses,
            public_ip,
            attempts: alert.attempts,
            photos,
            test: false,
        }
    }
}

/// The system's time zone name (`Europe/Berlin`), from `TZ`, `/etc/localtime` or
/// `/etc/timezone`; `local time` when none says.
fn zone_name() -> String {
    if let Ok(tz) = std::env::var("TZ") {
        let tz = tz.trim_start_matches(':');
        if !tz.is_empty() {
            return tz.to_owned();
        }
    }
    if let Ok(target) = std::fs::read_link("/etc/localtime") {
        let target = target.to_string_lossy().into_owned();
        if let Some((_, zone)) = target.split_once("zoneinfo/") {
            return zone.to_owned();
        }
    }
    std::fs::read_to_string("/etc/timezone")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "local time".to_owned())
}

/// A JPEG that goes with an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertPhoto {
    /// The JPEG bytes.
    pub jpeg: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl From<crate::hw::camera::Photo> for AlertPhoto {
    fn from(photo: crate::hw::camera::Photo) -> AlertPhoto {
        AlertPhoto {
            jpeg: photo.jpeg.to_vec(),
            width: photo.width,
            height: photo.height,
        }
    }
}

/// What a server answered to a delivered alert, for `alerts show` and `alerts test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The server's answer, e.g. `250 2.0.0 Ok: queued as 4F2A` or
    /// `200 message wamid.HBgM…`.
    pub detail: String,
}

/// Why a try failed, and whether to try again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// A fault that may pass: network down, timeout, 5xx, 408, 429. `after` is the
    /// server's `Retry-After`, if it gave one.
    #[error("{reason}")]
    Retry {
        /// What went wrong, worded for the administrator; never a secret.
        reason: String,
        /// The least time to wait before the next try, as the server asked.
        after: Option<Duration>,
    },
    /// A fault that trying again will not fix: 4xx other than 408/429, a refused
    /// recipient, a message the API rejects. Kept with its text for the administrator.
    #[error("{reason}")]
    Permanent {
        /// What the server said, worded for the administrator; never a secret.
        reason: String,
    },
}

/// A channel that carries alerts to the owner. One try per call; the outbox worker
/// decides about retries.
pub trait Notifier: Send {
    /// The channel's name in the outbox and in `alerts list` (e.g. `email`).
    fn channel(&self) -> &'static str;
    /// Sends one alert with its photos (best first; may be empty).
    fn send(&mut self, alert: &AlertContent, photos: &[AlertPhoto]) -> Result<Receipt, SendError>;
}

/// At most this many photos go with an alert.
pub const MAX_PHOTOS: usize = 3;
/// The public IP lookup never holds an alert up longer than this.
pub const PUBLIC_IP_CAP: Duration = Duration::from_secs(2);

/// What preparing an alert needs besides the alert itself.
pub struct Preparation<'a> {
    /// The kiosk's name.
    pub kiosk: &'a str,
    /// Where it stands, if configured.
    pub place: Option<Place>,
    /// The public IP lookup (cached).
    pub public_ip: &'a netinfo::PublicIp,
    /// The configured channels: one delivery each.
    pub channels: &'a [&'a str],
    /// How long the sealed evidence copies are kept.
    pub evidence_retention: Duration,
}

/// Prepares every alert the access rules raised and that is not prepared yet: its
/// content (with the LAN addresses and the public IP, waited on at most
/// [`PUBLIC_IP_CAP`]), its photos from `photos` (best first, at most
/// [`MAX_PHOTOS`]), sealed evidence, and a delivery per channel, each alert in one
/// transaction. Returns the prepared ids.
pub fn prepare_pending(
    store: &mut Store,
    how: &Preparation<'_>,
    mut photos: impl FnMut(&PendingAlert) -> Vec<AlertPhoto>,
    now: impl Fn() -> DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let pending = store.unprepared_alerts()?;
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let key = store.evidence_public_key()?;
    let lan = netinfo::lan_addresses();
    let public_ip = how.public_ip.lookup(PUBLIC_IP_CAP);
    let mut prepared = Vec::with_capacity(pending.len());
    for alert in &pending {
        let mut pictures = photos(alert);
        pictures.truncate(MAX_PHOTOS);
        let content = AlertContent::new(
            alert.id,
            how.kiosk,
            alert.alert,
            alert.created_at,
            how.place.clone(),
            lan.clone(),
            public_ip.clone(),
            pictures.len() as u32,
        );
        store.prepare_alert(
            &content,
            &pictures,
            how.channels,
            &key,
            how.evidence_retention,
            now(),
        )?;
        prepared.push(alert.id);
    }
    Ok(prepared)
}
