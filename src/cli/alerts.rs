//! `doorguard alerts`: the outbox as the administrator sees it — every alert with the
//! state of each channel and what its server last answered — putting failed
//! deliveries back in the queue, sending the queue from the shell, and a test alert
//! through every configured channel. Alerts hold no personal details, so no
//! passphrase is asked.

use std::thread;
use std::time::Duration;

use chrono::{DateTime, Local, Utc};

use super::{CliError, Context};
use crate::access::{Alert, AlertKind};
use crate::alerts::netinfo::{PublicIp, lan_addresses};
use crate::alerts::outbox::{DeliveryLock, Outbox, TryReport};
use crate::alerts::{
    AlertContent, AlertPhoto, Notifier, PUBLIC_IP_CAP, Preparation, SendError, channels,
    prepare_pending,
};
use crate::config::Secrets;
use crate::hw::camera::{Camera, sample_picture};
use crate::store::{AlertRow, Delivery, DeliveryState};

/// How long `alerts test` waits for the camera's first frames.
const CAMERA_WAIT: Duration = Duration::from_secs(5);
/// How often `alerts deliver --follow` looks for new alerts.
const FOLLOW_POLL: Duration = Duration::from_secs(1);

/// What `alerts` can do.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AlertsCommand {
    /// The newest alerts with the state of each channel.
    List {
        /// How many alerts, newest first.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One alert in full: its content and, per channel, tries and the last answer.
    Show {
        /// The alert's id (from `alerts list`).
        id: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Put an alert's failed and expired deliveries back in the queue; the running
    /// kiosk sends them at its next pass.
    Retry {
        /// The alert's id (from `alerts list`).
        id: i64,
    },
    /// Send a sample lockout alert, marked as a test, through every enabled channel
    /// (or one) with a photo from the camera — or the built-in sample picture when the
    /// camera is offline — and print what each server answered. Nothing is queued.
    Test {
        /// Only this channel (e.g. `email`, `ntfy`).
        #[arg(long, value_name = "NAME")]
        channel: Option<String>,
    },
    /// Send the queued alerts now, from the shell: alerts raised outside the kiosk are
    /// prepared (without a photo), every due delivery is tried once, and each answer
    /// printed. Refused while the kiosk is running: it sends them itself.
    Deliver {
        /// Keep going: send new alerts and retries as they fall due, until stopped.
        #[arg(long)]
        follow: bool,
    },
}

pub(super) fn run(ctx: &Context, command: AlertsCommand) -> Result<(), CliError> {
    match command {
        AlertsCommand::List { limit, json } => list(ctx, limit, json),
        AlertsCommand::Show { id, json } => show(ctx, id, json),
        AlertsCommand::Retry { id } => retry(ctx, id),
        AlertsCommand::Test { channel } => test(ctx, channel.as_deref()),
        AlertsCommand::Deliver { follow } => deliver(ctx, follow),
    }
}

/// The enabled channels, ready to send; none enabled is an error that says where to
/// enable one.
fn enabled_channels(ctx: &Context) -> Result<Vec<Box<dyn Notifier>>, CliError> {
    let secrets = Secrets::load(&ctx.settings.secrets)?;
    let notifiers = channels::configured(&ctx.settings.alerts, &secrets)
        .map_err(|e| CliError::Input(e.to_string()))?;
    if notifiers.is_empty() {
        let place = ctx.config_file.as_ref().map_or_else(
            || "the configuration".to_owned(),
            |p| p.display().to_string(),
        );
        return Err(CliError::Input(format!(
            "no alert channel is enabled: set `enabled = true` in one of {} in {place}",
            channels::NAMES
                .iter()
                .map(|n| format!("[{n}]"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(notifiers)
}

/// A photo for the test alert: from the camera if it delivers within
/// [`CAMERA_WAIT`], else the built-in sample picture.
fn test_photo(ctx: &Context) -> Vec<AlertPhoto> {
    let camera = &ctx.settings.camera;
    let photo = match Camera::photo_now(camera, CAMERA_WAIT) {
        Ok(photo) => {
            println!(
                "photo: from the camera ({}), {}×{}",
                camera.source, photo.width, photo.height
            );
            Some(photo)
        }
        Err(no_photo) => {
            println!("photo: {no_photo}; sending the built-in sample picture");
            match sample_picture(camera.width, camera.height, camera.jpeg_quality) {
                Ok(photo) => Some(photo),
                Err(e) => {
                    println!("photo: none ({e})");
                    None
                }
            }
        }
    };
    photo.map(AlertPhoto::from).into_iter().collect()
}

fn test(ctx: &Context, only: Option<&str>) -> Result<(), CliError> {
    let mut notifiers = enabled_channels(ctx)?;
    if let Some(name) = only {
        let enabled: Vec<&str> = notifiers.iter().map(|n| n.channel()).collect();
        if !enabled.contains(&name) {
            return Err(CliError::Input(format!(
                "channel `{name}` is not enabled; enabled: {}",
                enabled.join(", ")
            )));
        }
        notifiers.retain(|n| n.channel() == name);
    }
    let photos = test_photo(ctx);
    let alerts = &ctx.settings.alerts;
    let public_ip = PublicIp::new(alerts.public_ip_url.clone()).lookup(PUBLIC_IP_CAP);
    let alert = Alert {
        kind: AlertKind::Lockout,
        attempts: ctx.settings.access.threshold,
    };
    let mut content = AlertContent::new(
        0,
        &ctx.settings.kiosk.name,
        alert,
        Utc::now(),
        alerts.place.clone(),
        lan_addresses(),
        public_ip,
        photos.len() as u32,
    );
    content.test = true;
    let mut failed = Vec::new();
    for notifier in &mut notifiers {
        let channel = notifier.channel();
        match notifier.send(&content, &photos) {
            Ok(receipt) => println!("{channel:<9} sent: {}", receipt.detail),
            Err(e) => {
                let kind = match e {
                    SendError::Retry { .. } => "not delivered (would be retried)",
                    SendError::Permanent { .. } => "REFUSED",
                };
                println!("{channel:<9} {kind}: {e}");
                failed.push(channel);
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Unavailable(format!(
            "the test alert did not go through: {}",
            failed.join(", ")
        )))
    }
}

fn print_report(report: &TryReport) {
    let head = format!("alert {} → {}", report.alert_id, report.channel);
    match (&report.outcome, report.next_try_at) {
        (Ok(receipt), _) => println!("{head}: sent: {}", receipt.detail),
        (Err(e), Some(next)) => println!("{head}: not delivered, next try {}: {e}", local(next)),
        (Err(e), None) => println!("{head}: FAILED for good: {e}"),
    }
}

fn deliver(ctx: &Context, follow: bool) -> Result<(), CliError> {
    let _lock = DeliveryLock::acquire(&ctx.db)?;
    let mut store = ctx.open_initialized()?;
    let alerts = &ctx.settings.alerts;
    let mut outbox = Outbox::new(enabled_channels(ctx)?, alerts.max_age);
    let channels = outbox.channels();
    let public_ip = PublicIp::new(alerts.public_ip_url.clone());
    let how = Preparation {
        kiosk: &ctx.settings.kiosk.name,
        place: alerts.place.clone(),
        public_ip: &public_ip,
        channels: &channels,
        evidence_retention: alerts.evidence_retention,
    };
    let (mut sent, mut waiting, mut failed) = (0, 0, 0);
    loop {
        for id in prepare_pending(&mut store, &how, |_| Vec::new(), Utc::now)? {
            println!(
                "alert {id}: prepared for {} (no photo: raised outside the kiosk)",
                channels.join(", ")
            );
        }
        loop {
            let reports = outbox.deliver_due(&mut store, &Utc::now)?;
            for report in &reports {
                print_report(report);
                match (&report.outcome, report.next_try_at) {
                    (Ok(_), _) => sent += 1,
                    (Err(_), Some(_)) => waiting += 1,
                    (Err(_), None) => failed += 1,
                }
            }
            if reports.len() < Outbox::BATCH {
                break;
            }
        }
        if !follow {
            break;
        }
        let pause = store
            .next_delivery_at()?
            .and_then(|next| (next - Utc::now()).to_std().ok())
            .unwrap_or(FOLLOW_POLL);
        thread::sleep(pause.min(FOLLOW_POLL));
    }
    println!("{sent} sent, {waiting} to be tried again, {failed} failed for good");
    match store.next_delivery_at()? {
        Some(next) => println!("next try due {}", local(next)),
        None => println!("nothing left in the queue"),
    }
    if waiting + failed > 0 {
        return Err(CliError::Unavailable(format!(
            "{} deliveries did not go through (see above)",
            waiting + failed
        )));
    }
    Ok(())
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Output(format!("cannot write JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// `email sent`, `ntfy pending (3 tries)`, `whatsapp FAILED`.
fn summary(d: &Delivery) -> String {
    match d.state {
        DeliveryState::Sent => format!("{} sent", d.channel),
        DeliveryState::Pending if d.tries == 0 => format!("{} queued", d.channel),
        DeliveryState::Pending => format!("{} retrying ({} tries)", d.channel, d.tries),
        DeliveryState::Failed => format!("{} FAILED", d.channel),
        DeliveryState::Expired => format!("{} EXPIRED", d.channel),
    }
}

fn list(ctx: &Context, limit: usize, json: bool) -> Result<(), CliError> {
    let store = ctx.open_initialized()?;
    let alerts = store.alerts(limit)?;
    if json {
        return print_json(&alerts);
    }
    if alerts.is_empty() {
        println!("No alerts.");
        return Ok(());
    }
    println!(
        "{:<6} {:<19} {:<15} {:<8} CHANNELS",
        "ID", "TIME", "EVENT", "ATTEMPTS"
    );
    for alert in &alerts {
        let channels = if alert.content.is_none() {
            "being prepared (photos, addresses)".to_owned()
        } else if alert.deliveries.is_empty() {
            "no channel configured".to_owned()
        } else {
            alert
                .deliveries
                .iter()
                .map(summary)
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "{:<6} {:<19} {:<15} {:<8} {channels}",
            alert.id,
            local(alert.created_at),
            alert.kind,
            alert.attempts
        );
        for d in alert
            .deliveries
            .iter()
            .filter(|d| d.state != DeliveryState::Sent)
        {
            if let Some(error) = &d.last_error {
                println!("{:<6} {}: {error}", "", d.channel);
            }
        }
    }
    Ok(())
}

fn show(ctx: &Context, id: i64, json: bool) -> Result<(), CliError> {
    let store = ctx.open_initialized()?;
    let alert: AlertRow = store.alert(id)?.ok_or_else(|| {
        CliError::Input(format!(
            "there is no alert {id} (see `doorguard alerts list`)"
        ))
    })?;
    if json {
        return print_json(&alert);
    }
    match &alert.content {
        Some(content) => print!("{}", crate::alerts::render::text(content)),
        None => println!(
            "Alert #{id}: {} at {}, being prepared (photos, addresses).",
            alert.kind,
            local(alert.created_at)
        ),
    }
    println!("\nPhotos held for sending: {}", alert.photos_held);
    for d in &alert.deliveries {
        println!("\n{}: {}, {} tries", d.channel, d.state.as_str(), d.tries);
        if let Some(at) = d.delivered_at {
            println!("  delivered {}", local(at));
        }
        if let Some(receipt) = &d.receipt {
            println!("  server said: {receipt}");
        }
        if d.state == DeliveryState::Pending && d.tries > 0 {
            println!("  next try {}", local(d.next_try_at));
        }
        if let Some(error) = &d.last_error {
            println!("  last error: {error}");
        }
    }
    Ok(())
}

fn retry(ctx: &Context, id: i64) -> Result<(), CliError> {
    let mut store = ctx.open_initialized()?;
    if store.alert(id)?.is_none() {
        return Err(CliError::Input(format!(
            "there is no alert {id} (see `doorguard alerts list`)"
        )));
    }
    match store.retry_alert(id, Utc::now())? {
        0 => println!("Alert {id} has no failed or expired delivery."),
        1 => println!("Alert {id}: 1 delivery queued again."),
        n => println!("Alert {id}: {n} deliveries queued again."),
    }
    Ok(())
}
