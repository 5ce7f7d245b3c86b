//! `doorguard devices check`: probes the configured camera, GPIO and speech without
//! driving anything, and prints what was found or why each is unavailable.

use super::{CliError, Context};
use crate::hw::{Probe, camera, gpio, speech};

/// What `devices` can do.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DevicesCommand {
    /// Probe the camera, GPIO and speech as configured and print a table; exit status 1
    /// if any is unavailable.
    Check,
}

pub(super) fn run(ctx: &Context, command: DevicesCommand) -> Result<(), CliError> {
    match command {
        DevicesCommand::Check => check(ctx),
    }
}

fn check(ctx: &Context) -> Result<(), CliError> {
    let settings = &ctx.settings;
    let probes = [
        ("camera", camera::probe(&settings.camera)),
        ("gpio", gpio::probe(&settings.gpio)),
        ("speech", speech::probe(&settings.speech)),
    ];
    print!("{}", table(&probes));
    let unavailable: Vec<&str> = probes
        .iter()
        .filter(|(_, probe)| !probe.ok)
        .map(|(name, _)| *name)
        .collect();
    if unavailable.is_empty() {
        Ok(())
    } else {
        Err(CliError::Unavailable(format!(
            "unavailable: {} (details above)",
            unavailable.join(", ")
        )))
    }
}

/// One row per device; a probe's further findings on lines of their own below it.
fn table(probes: &[(&str, Probe)]) -> String {
    let mut out = format!("{:<8}{:<13}DETAILS\n", "DEVICE", "STATUS");
    for (name, probe) in probes {
        let status = if probe.ok { "ok" } else { "unavailable" };
        // Each probe starts its findings with its own name; the table already says it.
        let mut lines = probe.lines.iter().map(|l| {
            l.strip_prefix(name)
                .and_then(|l| l.strip_prefix(": "))
                .unwrap_or(l)
        });
        out.push_str(&format!(
            "{name:<8}{status:<13}{}\n",
            lines.next().unwrap_or("")
        ));
        for line in lines {
            out.push_str(&format!("{:<21}{line}\n", ""));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_line_up_under_their_device() {
        let probes = [
            (
                "camera",
                Probe {
                    ok: true,
                    lines: vec![
                        "camera: /dev/video0 (USB)".into(),
                        "  MJPG: 1280x720".into(),
                    ],
                },
            ),
            (
                "gpio",
                Probe {
                    ok: false,
                    lines: vec!["gpio: not a Raspberry Pi".into()],
                },
            ),
        ];
        assert_eq!(
            table(&probes),
            "DEVICE  STATUS       DETAILS\n\
             camera  ok           /dev/video0 (USB)\n\
             \x20                      MJPG: 1280x720\n\
             gpio    unavailable  not a Raspberry Pi\n"
        );
    }
}
