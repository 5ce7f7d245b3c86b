//! The audit log (with evidence thumbnails opened through the session) and the alert
//! status per channel, with "Retry".

use super::*;

/// One audit record as the audit screen shows it (plain data, to cross threads).
struct AuditLine {
    time: String,
    kind: String,
    detail: String,
    level: i32,
    /// The evidence thumbnail: RGB pixels, width, height.
    thumbnail: Option<(Vec<u8>, u32, u32)>,
}

/// Evidence thumbnails are opened for the newest records only.
const THUMBNAILS: usize = 30;
/// Thumbnail width in pixels.
const THUMBNAIL_WIDTH: u32 = 160;

fn audit_rows(core: &Core, entries: Vec<AuditEntry>) -> Vec<AuditLine> {
    let mut opened = 0;
    entries
        .into_iter()
        .map(|e| {
            let thumbnail = match e.evidence {
                Some(id) if opened < THUMBNAILS => {
                    opened += 1;
                    core.evidence_thumbnail(id, THUMBNAIL_WIDTH)
                        .unwrap_or_else(|err| {
                            tracing::warn!("evidence {id}: {err}");
                            None
                        })
                }
                _ => None,
            };
            let level = match e.kind.as_str() {
                "lockout_started" | "hard_lock" | "duress" | "door_forced" | "tamper"
                | "door_held_open" => 2,
                "wrong_pin" | "disabled_pin" | "admin_login_failed" | "recovery_failed"
                | "refused_locked" => 1,
                _ => 0,
            };
            let mut detail = e.detail.clone();
            if let Some(person) = e.person {
                detail = if detail.is_empty() {
                    format!("{person}")
                } else {
                    format!("{person} · {detail}")
                };
            }
            AuditLine {
                time: local_time(e.at),
                kind: e.kind,
                detail,
                level,
                thumbnail,
            }
        })
        .collect()
}

/// One alert as the alerts screen shows it (plain data, to cross threads).
struct AlertLine {
    id: i64,
    time: String,
    event: String,
    /// (channel, state) pairs.
    channels: Vec<(String, String)>,
    errors: String,
    can_retry: bool,
}

fn alert_rows(alerts: Vec<AlertRow>) -> Vec<AlertLine> {
    alerts
        .into_iter()
        .map(|a| {
            let event = a.content.as_ref().map_or_else(
                || a.kind.clone(),
                |c| crate::alerts::render::title(c.kind, c.attempts),
            );
            // "lockout after 3 …" reads after the kiosk's name; alone it starts a line.
            let mut chars = event.chars();
            let event = chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            let channels = a
                .deliveries
                .iter()
                .map(|d| {
                    let state = match d.state {
                        DeliveryState::Sent => "sent",
                        DeliveryState::Pending if d.tries == 0 => "queued",
                        DeliveryState::Pending => "retrying",
                        DeliveryState::Failed => "failed",
                        DeliveryState::Expired => "expired",
                    };
                    (d.channel.clone(), state.to_owned())
                })
                .collect();
            let errors = a
                .deliveries
                .iter()
                .filter(|d| d.state != DeliveryState::Sent)
                .filter_map(|d| d.last_error.as_ref().map(|e| format!("{}: {e}", d.channel)))
                .collect::<Vec<_>>()
                .join(" · ");
            let can_retry = a
                .deliveries
                .iter()
                .any(|d| matches!(d.state, DeliveryState::Failed | DeliveryState::Expired));
            AlertLine {
                id: a.id,
                time: local_time(a.created_at),
                event,
                channels,
                errors,
                can_retry,
            }
        })
        .collect()
}

impl Admin {
    pub(super) fn open_audit(&self) {
        self.runner.run(|core| {
            core.admin_activity(Utc::now());
            match core.audit(100) {
                Ok(entries) => {
                    let rows = audit_rows(core, entries);
                    Box::new(move |app: &AppWindow| {
                        let rows = rows
                            .into_iter()
                            .map(|line| AuditRow {
                                time: line.time.into(),
                                kind: line.kind.into(),
                                detail: line.detail.into(),
                                level: line.level,
                                has_photo: line.thumbnail.is_some(),
                                photo: line
                                    .thumbnail
                                    .map(|(rgb, w, h)| crate::ui::image_from_rgb(&rgb, w, h))
                                    .unwrap_or_default(),
                            })
                            .collect();
                        app.global::<AuditAdapter>().set_rows(model(rows));
                        app.global::<AppState>().set_screen(Screen::Audit);
                    })
                }
                Err(e) => ended(e),
            }
        });
    }

    pub(super) fn open_alerts(&self) {
        self.runner.run(|core| {
            core.admin_activity(Utc::now());
            match core.alerts(50) {
                Ok(alerts) => {
                    let rows = alert_rows(alerts);
                    Box::new(move |app: &AppWindow| show_alerts(app, rows))
                }
                Err(e) => ended(e),
            }
        });
    }

    pub(super) fn retry(&self, id: i32) {
        self.runner.run(move |core| {
            if let Err(e) = core.retry_alert(i64::from(id), Utc::now()) {
                return ended(e);
            }
            match core.alerts(50) {
                Ok(alerts) => {
                    let rows = alert_rows(alerts);
                    Box::new(move |app: &AppWindow| show_alerts(app, rows))
                }
                Err(e) => ended(e),
            }
        });
    }
}

fn show_alerts(app: &AppWindow, rows: Vec<AlertLine>) {
    let rows = rows
        .into_iter()
        .map(
            |AlertLine {
                 id,
                 time,
                 event,
                 channels,
                 errors,
                 can_retry,
             }| AlertRowUi {
                id: id as i32,
                time: time.into(),
                event: event.into(),
                channels: model(
                    channels
                        .into_iter()
                        .map(|(channel, state)| ChannelState {
                            channel: channel.into(),
                            state: state.into(),
                        })
                        .collect(),
                ),
                errors: errors.into(),
                can_retry,
            },
        )
        .collect();
    let alerts = app.global::<AlertsAdapter>();
    alerts.set_rows(model(rows));
    app.global::<AppState>().set_screen(Screen::Alerts);
}
