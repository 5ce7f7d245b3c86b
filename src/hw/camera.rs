//! Camera (being written).

use std::path::PathBuf;
use std::time::Duration;

/// Where frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraSource {
    /// A V4L2 device such as `/dev/video0`.
    Device(PathBuf),
    /// Synthetic moving frames with a visible timestamp and a face-like shape.
    Sim,
    /// JPEG files of a folder, in name order, cycled.
    SimDir(PathBuf),
}

/// `[camera]` settings, resolved from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraSettings {
    /// The source (`device = "/dev/video0"`, `"sim"` or `"sim:DIR"`).
    pub source: CameraSource,
    /// Capture width in pixels (default 1280).
    pub width: u32,
    /// Capture height in pixels (default 720).
    pub height: u32,
    /// Frames per second asked of the device (default 15).
    pub fps: u32,
    /// How much recent video the ring buffer keeps (default 2 s).
    pub pre_roll: Duration,
    /// Frames scored for a burst; the sharpest wins (default 5).
    pub burst: u32,
    /// Preview frames per second for the UI, at most 15 (default 15).
    pub preview_fps: u32,
    /// Preview width in pixels; the height keeps the aspect ratio (default 320).
    pub preview_width: u32,
    /// JPEG quality when the camera's frames must be encoded (default 85).
    pub jpeg_quality: u8,
}
