//! The devices: camera, GPIO (door relay, buzzer, inputs) and speech, each with a real
//! and a simulated backend chosen by configuration (never by target architecture).
//!
//! Owns every access to hardware: no other module opens `/dev/video*`, `/dev/gpiomem`
//! or runs `espeak-ng`. Must not decide access (that is [`access`](crate::access)) nor
//! block the caller: device work runs on the devices' own threads.

pub mod camera;
pub mod gpio;
pub mod speech;

/// What `doorguard devices check` found for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Whether the device is usable as configured.
    pub ok: bool,
    /// What was found, or why it is unusable, one finding per line.
    pub lines: Vec<String>,
}
