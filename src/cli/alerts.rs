//! `doorguard alerts`: the outbox as the administrator sees it — every alert with the
//! state of each channel and what its server last answered — and putting failed
//! deliveries back in the queue. Alerts hold no personal details, so no passphrase is
//! asked.

use chrono::{DateTime, Local, Utc};

use super::{CliError, Context};
use crate::store::{AlertRow, Delivery, DeliveryState};

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
}

pub(super) fn run(ctx: &Context, command: AlertsCommand) -> Result<(), CliError> {
    match command {
        AlertsCommand::List { limit, json } => list(ctx, limit, json),
        AlertsCommand::Show { id, json } => show(ctx, id, json),
        AlertsCommand::Retry { id } => retry(ctx, id),
    }
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
