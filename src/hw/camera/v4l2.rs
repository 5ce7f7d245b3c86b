//! The real camera: a V4L2 capture device through the `v4l` crate. MJPEG is preferred
//! and passed through byte for byte; YUYV is the fallback, kept raw in the ring and
//! encoded only for the frames that become photos. Memory-mapped streaming with a few
//! buffers and a timeout, so an unplugged camera is noticed instead of waited on.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use v4l::buffer::{Flags as BufferFlags, Type};
use v4l::capability::Flags as CapabilityFlags;
use v4l::io::mmap::Stream;
use v4l::io::traits::CaptureStream;
use v4l::video::Capture;
use v4l::video::capture::Parameters;
use v4l::{Device, Format, FourCC};

use super::convert::{looks_like_jpeg, yuyv_len};
use super::{CameraSettings, Error, Frame, FrameSource, Pixels};
use crate::hw::Probe;

const MJPEG: [u8; 4] = *b"MJPG";
const YUYV: [u8; 4] = *b"YUYV";
/// Driver buffers: enough to ride out a slow consumer for a few frames.
const BUFFERS: u32 = 4;
/// A frame not delivered within this long means the camera stalled or went away.
const FRAME_TIMEOUT: Duration = Duration::from_secs(2);

/// How the device's frames are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Mjpeg,
    Yuyv { stride: usize },
}

/// An open, streaming V4L2 camera.
pub struct V4l2Source {
    path: PathBuf,
    // Declared before the device so it is dropped (streaming stopped, buffers unmapped)
    // before the device is closed.
    stream: Stream<'static>,
    _device: Device,
    layout: Layout,
    width: u32,
    height: u32,
    fps: Option<u32>,
}

/// Maps an `io::Error` from the device at `path` to the error people understand.
fn device_error(path: &Path, context: &'static str, e: io::Error) -> Error {
    let path = path.to_owned();
    match (e.kind(), e.raw_os_error()) {
        (io::ErrorKind::PermissionDenied, _) => Error::PermissionDenied { path },
        (io::ErrorKind::NotFound, _) => Error::NotFound { path },
        // ENODEV (19): unplugged; EIO (5): a UVC device that went away mid-stream.
        (_, Some(19 | 5)) | (io::ErrorKind::TimedOut, _) => Error::Unplugged { path },
        _ => Error::Io {
            path,
            context,
            source: e,
        },
    }
}

fn fourcc_name(fourcc: FourCC) -> String {
    fourcc
        .str()
        .map_or_else(|_| format!("{:?}", fourcc.repr), str::to_owned)
}

fn open_device(path: &Path) -> Result<Device, Error> {
    let device = Device::with_path(path).map_err(|e| device_error(path, "open", e))?;
    let caps = device
        .query_caps()
        .map_err(|e| device_error(path, "query capabilities", e))?;
    if !caps.capabilities.contains(CapabilityFlags::VIDEO_CAPTURE) {
        return Err(Error::NoUsableFormat {
            path: path.to_owned(),
            offered: format!(
                "no video capture at all ({}, driver {})",
                caps.card, caps.driver
            ),
        });
    }
    Ok(device)
}

/// The formats a device offers, as FourCCs.
fn offered_formats(device: &Device, path: &Path) -> Result<Vec<FourCC>, Error> {
    Ok(device
        .enum_formats()
        .map_err(|e| device_error(path, "list formats", e))?
        .into_iter()
        .map(|d| d.fourcc)
        .collect())
}

impl V4l2Source {
    /// Opens the device, negotiates MJPEG (else YUYV) at the configured size and rate,
    /// and starts streaming.
    pub fn open(path: &Path, settings: &CameraSettings) -> Result<V4l2Source, Error> {
        let device = open_device(path)?;
        let offered = offered_formats(&device, path)?;
        let mut chosen = None;
        for wanted in [MJPEG, YUYV] {
            if !offered.contains(&FourCC::new(&wanted)) {
                continue;
            }
            let asked = Format::new(settings.width, settings.height, FourCC::new(&wanted));
            let got = device
                .set_format(&asked)
                .map_err(|e| device_error(path, "set the format", e))?;
            if got.fourcc == FourCC::new(&wanted) {
                chosen = Some(got);
                break;
            }
        }
        let Some(format) = chosen else {
            return Err(Error::NoUsableFormat {
                path: path.to_owned(),
                offered: offered
                    .iter()
                    .map(|f| fourcc_name(*f))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        if (format.width, format.height) != (settings.width, settings.height) {
            tracing::warn!(
                device = %path.display(),
                "camera gave {}×{} instead of the configured {}×{}",
                format.width, format.height, settings.width, settings.height
            );
        }
        let fps = device
            .set_params(&Parameters::with_fps(settings.fps))
            .ok()
            .and_then(|p| {
                (p.interval.numerator > 0).then(|| p.interval.denominator / p.interval.numerator)
            });
        let layout = if format.fourcc == FourCC::new(&MJPEG) {
            Layout::Mjpeg
        } else {
            Layout::Yuyv {
                stride: (format.stride as usize).max(format.width as usize * 2),
            }
        };
        let mut stream = Stream::with_buffers(&device, Type::VideoCapture, BUFFERS)
            .map_err(|e| device_error(path, "allocate capture buffers", e))?;
        stream.set_timeout(FRAME_TIMEOUT);
        Ok(V4l2Source {
            path: path.to_owned(),
            stream,
            _device: device,
            layout,
            width: format.width,
            height: format.height,
            fps,
        })
    }
}

impl FrameSource for V4l2Source {
    fn describe(&self) -> String {
        let format = match self.layout {
            Layout::Mjpeg => "MJPEG",
            Layout::Yuyv { .. } => "YUYV",
        };
        let rate = self
            .fps
            .map_or_else(String::new, |fps| format!(" at {fps} fps"));
        format!(
            "{format} {}×{}{rate} from {}",
            self.width,
            self.height,
            self.path.display()
        )
    }

    fn next_frame(&mut self) -> Result<Frame, Error> {
        let (width, height, layout) = (self.width, self.height, self.layout);
        // A few corrupt buffers in a row happen (USB bandwidth); more means trouble.
        for _ in 0..8 {
            let (buffer, meta) = self
                .stream
                .next()
                .map_err(|e| device_error(&self.path, "capture a frame", e))?;
            let at = Instant::now();
            let used = (meta.bytesused as usize).min(buffer.len());
            if meta.flags.contains(BufferFlags::ERROR) {
                continue;
            }
            let data = &buffer[..used];
            let pixels = match layout {
                Layout::Mjpeg if looks_like_jpeg(data) => Pixels::Jpeg(Arc::from(data)),
                Layout::Mjpeg => continue,
                Layout::Yuyv { stride } => match pack_yuyv(data, width, height, stride) {
                    Some(packed) => Pixels::Yuyv(packed.into()),
                    None => continue,
                },
            };
            return Ok(Frame {
                at,
                width,
                height,
                pixels,
            });
        }
        Err(Error::BadFrame(format!(
            "{}: eight broken frames in a row",
            self.path.display()
        )))
    }
}

/// Copies a YUYV frame whose rows are `stride` bytes apart into a packed buffer; `None`
/// if the buffer is short.
fn pack_yuyv(data: &[u8], width: u32, height: u32, stride: usize) -> Option<Vec<u8>> {
    let row = width as usize * 2;
    if stride == row {
        return (data.len() >= yuyv_len(width, height))
            .then(|| data[..yuyv_len(width, height)].to_vec());
    }
    let mut packed = Vec::with_capacity(yuyv_len(width, height));
    for y in 0..height as usize {
        packed.extend_from_slice(data.get(y * stride..y * stride + row)?);
    }
    Some(packed)
}

/// Probes a V4L2 device for `devices check`: its name, the formats and sizes it offers,
/// and which format doorguard will use, without streaming.
pub fn probe(path: &Path, settings: &CameraSettings) -> Probe {
    let fail = |e: Error| Probe {
        ok: false,
        lines: vec![format!("camera: {e}")],
    };
    let device = match open_device(path) {
        Ok(device) => device,
        Err(e) => return fail(e),
    };
    let formats = match offered_formats(&device, path) {
        Ok(formats) => formats,
        Err(e) => return fail(e),
    };
    let mut lines = Vec::new();
    if let Ok(caps) = device.query_caps() {
        lines.push(format!(
            "camera: {} ({}, driver {})",
            path.display(),
            caps.card,
            caps.driver
        ));
    }
    for fourcc in &formats {
        let sizes = device
            .enum_framesizes(*fourcc)
            .map(|sizes| {
                sizes
                    .iter()
                    .map(|s| s.size.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|e| format!("sizes unknown ({e})"));
        lines.push(format!("  {}: {sizes}", fourcc_name(*fourcc)));
    }
    let usable = [MJPEG, YUYV]
        .into_iter()
        .find(|f| formats.contains(&FourCC::new(f)));
    match usable {
        Some(f) => {
            lines.push(format!(
                "  will capture {} at {}×{}, {} fps",
                fourcc_name(FourCC::new(&f)),
                settings.width,
                settings.height,
                settings.fps
            ));
            Probe { ok: true, lines }
        }
        None => {
            let offered = formats
                .iter()
                .map(|f| fourcc_name(*f))
                .collect::<Vec<_>>()
                .join(", ");
            lines.push(format!(
                "  offers neither MJPEG nor YUYV (it offers: {offered})"
            ));
            Probe { ok: false, lines }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_yuyv_rows_are_packed() {
        // 2×2 frame, rows padded from 4 to 6 bytes.
        let data = [1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 0, 0];
        assert_eq!(
            pack_yuyv(&data, 2, 2, 6),
            Some(vec![1, 2, 3, 4, 5, 6, 7, 8])
        );
        assert_eq!(pack_yuyv(&data[..8], 2, 2, 6), None, "short buffer");
        assert_eq!(pack_yuyv(&data[..8], 2, 2, 4), Some(data[..8].to_vec()));
    }

    #[test]
    fn a_missing_device_is_named_with_its_cause() {
        let err = device_error(
            Path::new("/dev/video9"),
            "open",
            io::Error::from(io::ErrorKind::NotFound),
        );
        assert!(
            err.to_string().contains("/dev/video9: no such device"),
            "{err}"
        );
        let err = device_error(
            Path::new("/dev/video0"),
            "open",
            io::Error::from_raw_os_error(13),
        );
        assert!(
            err.to_string().contains("add the user to group video"),
            "{err}"
        );
    }
}
