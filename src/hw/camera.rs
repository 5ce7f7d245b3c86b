//! The camera: a capture thread that keeps the last seconds of video, snapshots and
//! sharpest-of-N bursts taken from them, a downscaled live preview, and the camera's
//! status, over a V4L2 device or a simulated one.
//!
//! Owns every camera device: no other module opens `/dev/video*`. It must not decide
//! what a photo is for (the access rules ask for captures; the alert outbox keeps them)
//! and must never hold up an alert: a capture asked of an offline camera answers
//! [`NoPhoto`] at once.
//!
//! # How it fits together
//!
//! - [`FrameSource`]: an open camera that yields [`Frame`]s. `v4l2.rs` is the real one
//!   (MJPEG passed through as the camera sent it, or YUYV kept raw and encoded only when
//!   a frame is actually wanted); `sim.rs` draws synthetic frames or cycles through a
//!   folder of JPEG files, and can be unplugged with [`SimCamera::set_online`]. The
//!   choice is [`CameraSettings::source`], never the target.
//! - `ring.rs`: [`Ring`], the pre-roll of the last [`CameraSettings::pre_roll`].
//! - `sharpness.rs`: the variance of the Laplacian that picks a burst's best frame.
//! - `convert.rs`: YUYV ↔ RGB, JPEG encoding and decoding, downscaling.
//! - `service.rs`: [`Camera`], the capture thread with reopening and backoff, and
//!   [`CameraHandle`], which the rest of the kiosk uses.
//!
//! # Troubleshooting
//!
//! - **`/dev/video0: permission denied: add the user to group video`**: run
//!   `sudo usermod -aG video doorguard` (or your user) and restart the service; the
//!   packaged unit already has the group.
//! - **`/dev/video0: no such device`**: the camera is not plugged in or has another
//!   number; `ls /dev/video*` and `v4l2-ctl --list-devices` show what is there. A Pi
//!   camera module on Bookworm goes through libcamera, not V4L2 capture nodes: use a USB
//!   (UVC) camera. On a laptop without camera use `camera.device = "sim"`.
//! - **`offers neither MJPEG nor YUYV`**: the node is not a capture node (many UVC
//!   cameras create a second, metadata node: try the other `/dev/videoN`).
//! - **Photos are dark or smeared**: the sharpest-frame pick helps with motion; light
//!   the keypad area, the camera's auto-exposure needs it.
//! - **`camera offline` on the screen**: the device stopped delivering frames (unplugged,
//!   USB power). The kiosk reopens it by itself with a growing pause, up to 10 s; alerts
//!   go out without a photo meanwhile.

mod convert;
mod ring;
mod service;
mod sharpness;
mod sim;
mod v4l2;

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use convert::{
    Grey, decode_jpeg, downscale_rgb, encode_jpeg, jpeg_size, looks_like_jpeg, rgb_to_yuyv,
    yuyv_to_rgb,
};
pub use ring::Ring;
pub use service::{Camera, CameraHandle, Preview};
pub use sharpness::{SCORE_WIDTH, laplacian_variance};
pub use sim::{SimCamera, sample_picture};

use super::Probe;

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

impl fmt::Display for CameraSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CameraSource::Device(path) => write!(f, "{}", path.display()),
            CameraSource::Sim => f.write_str("sim"),
            CameraSource::SimDir(dir) => write!(f, "sim:{}", dir.display()),
        }
    }
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

impl CameraSettings {
    /// The time between two frames at the configured rate.
    pub fn frame_interval(&self) -> Duration {
        Duration::from_secs(1) / self.fps.max(1)
    }
}

/// A frame's pixels, as the camera delivered them.
#[derive(Debug, Clone)]
pub enum Pixels {
    /// One complete JPEG (an MJPEG camera's frame, kept byte for byte).
    Jpeg(Arc<[u8]>),
    /// Packed YUYV 4:2:2, `width × height × 2` bytes.
    Yuyv(Arc<[u8]>),
}

/// One frame and the moment it was captured. Cloning shares the pixels.
#[derive(Debug, Clone)]
pub struct Frame {
    /// When the frame was taken off the device.
    pub at: Instant,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The pixels.
    pub pixels: Pixels,
}

impl Frame {
    /// The frame as a JPEG: an MJPEG frame as it is, a YUYV frame encoded at `quality`.
    pub fn to_jpeg(&self, quality: u8) -> Result<Arc<[u8]>, Error> {
        match &self.pixels {
            Pixels::Jpeg(jpeg) => Ok(Arc::clone(jpeg)),
            Pixels::Yuyv(yuyv) => {
                let rgb = yuyv_to_rgb(yuyv, self.width, self.height)?;
                Ok(encode_jpeg(&rgb, self.width, self.height, quality)?.into())
            }
        }
    }

    /// The frame as RGB, returning `(rgb, width, height)`.
    pub fn to_rgb(&self) -> Result<(Vec<u8>, u32, u32), Error> {
        match &self.pixels {
            Pixels::Jpeg(jpeg) => decode_jpeg(jpeg),
            Pixels::Yuyv(yuyv) => Ok((
                yuyv_to_rgb(yuyv, self.width, self.height)?,
                self.width,
                self.height,
            )),
        }
    }

    /// How sharp the frame is (see [`laplacian_variance`]), scored at [`SCORE_WIDTH`].
    pub fn sharpness(&self) -> Result<f64, Error> {
        let grey = match &self.pixels {
            Pixels::Yuyv(yuyv) => Grey::from_yuyv(yuyv, self.width, self.height, SCORE_WIDTH)?,
            Pixels::Jpeg(jpeg) => {
                let (rgb, width, height) = decode_jpeg(jpeg)?;
                Grey::from_rgb(&rgb, width, height, SCORE_WIDTH)
            }
        };
        Ok(laplacian_variance(&grey))
    }
}

/// A photo for an attempt or an enrollment.
#[derive(Debug, Clone)]
pub struct Photo {
    /// The JPEG.
    pub jpeg: Arc<[u8]>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// When its frame was captured.
    pub at: Instant,
    /// Its sharpness score, when it was picked from a burst.
    pub sharpness: Option<f64>,
}

/// Why a capture has no photo. Alerts go out without one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NoPhoto {
    /// The camera is offline.
    #[error("no photo: camera offline ({reason})")]
    Offline {
        /// Why, as [`Status::Offline`] says.
        reason: String,
    },
    /// The camera has not delivered its first frame yet.
    #[error("no photo: the camera is still starting")]
    Starting,
    /// No frame was captured close enough to the moment asked for.
    #[error("no photo: no frame within {} ms of the moment asked for", .tolerance.as_millis())]
    NoFrameNear {
        /// How close a frame had to be.
        tolerance: Duration,
    },
    /// The frame could not be turned into a JPEG.
    #[error("no photo: {0}")]
    Failed(String),
    /// The capture thread has stopped.
    #[error("no photo: the camera service has stopped")]
    Stopped,
}

/// What the camera is doing, for the status bar and `devices check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Opening the device or waiting for its first frame.
    Starting,
    /// Delivering frames.
    Ok {
        /// The negotiated format, e.g. `MJPEG 1280×720 at 15 fps`.
        format: String,
    },
    /// Not delivering frames; it is being reopened with backoff.
    Offline {
        /// Why, worded for the person at the kiosk.
        reason: String,
    },
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Starting => f.write_str("camera starting"),
            Status::Ok { format } => write!(f, "camera ok ({format})"),
            Status::Offline { reason } => write!(f, "camera offline ({reason})"),
        }
    }
}

/// An open camera that yields frames.
pub trait FrameSource: Send {
    /// The negotiated format, e.g. `MJPEG 1280×720 at 15 fps`.
    fn describe(&self) -> String;
    /// Blocks until the next frame, for at most a few frame intervals; an error means
    /// the camera must be closed and reopened.
    fn next_frame(&mut self) -> Result<Frame, Error>;
}

/// Camera errors, worded for the person at the kiosk (see the module's Troubleshooting).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No access to the device node.
    #[error("{path}: permission denied: add the user to group video (sudo usermod -aG video USER)")]
    PermissionDenied {
        /// The device.
        path: PathBuf,
    },
    /// The device node does not exist.
    #[error("{path}: no such device: is the camera plugged in? (ls /dev/video*)")]
    NotFound {
        /// The device.
        path: PathBuf,
    },
    /// The device went away while streaming.
    #[error("{path}: the camera was unplugged or stopped responding")]
    Unplugged {
        /// The device.
        path: PathBuf,
    },
    /// The device is not a capture device or offers no format this program reads.
    #[error("{path}: offers neither MJPEG nor YUYV capture (it offers: {offered})")]
    NoUsableFormat {
        /// The device.
        path: PathBuf,
        /// The formats it listed.
        offered: String,
    },
    /// Any other I/O error from the device.
    #[error("{path}: {context}: {source}")]
    Io {
        /// The device.
        path: PathBuf,
        /// What was being done.
        context: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// A frame that cannot be used (wrong size, broken JPEG).
    #[error("bad frame: {0}")]
    BadFrame(String),
    /// The simulated camera was told to go offline.
    #[error("simulated camera unplugged")]
    SimOffline,
    /// `sim:DIR` cannot be used.
    #[error("sim:{}: {reason}", .dir.display())]
    SimDir {
        /// The folder.
        dir: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The capture thread could not be started.
    #[error("cannot start the camera thread: {0}")]
    Thread(io::Error),
}

/// Opens the configured camera. `sim` shares the simulated camera's switches.
pub fn open(settings: &CameraSettings, sim: &SimCamera) -> Result<Box<dyn FrameSource>, Error> {
    match &settings.source {
        CameraSource::Device(path) => Ok(Box::new(v4l2::V4l2Source::open(path, settings)?)),
        CameraSource::Sim | CameraSource::SimDir(_) => sim.open(settings),
    }
}

/// Probes the configured camera for `devices check` without streaming: the formats and
/// sizes a device offers and which one will be used, or why it cannot be used.
pub fn probe(settings: &CameraSettings) -> Probe {
    match &settings.source {
        CameraSource::Device(path) => v4l2::probe(path, settings),
        CameraSource::Sim | CameraSource::SimDir(_) => {
            let sim = SimCamera::new();
            match sim.open(settings) {
                Ok(source) => Probe {
                    ok: true,
                    lines: vec![format!(
                        "camera: simulated ({}), {}",
                        settings.source,
                        source.describe()
                    )],
                },
                Err(e) => Probe {
                    ok: false,
                    lines: vec![format!("camera: {e}")],
                },
            }
        }
    }
}

/// The moment `a` is from `b`, whichever comes first.
fn distance(a: Instant, b: Instant) -> Duration {
    if a > b { a - b } else { b - a }
}
