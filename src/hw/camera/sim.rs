//! The simulated camera (`camera.device = "sim"` or `"sim:DIR"`), a product feature for
//! demos, laptops and tests: synthetic YUYV frames of a moving face-like shape with the
//! time and frame number drawn in, or the JPEG files of a folder cycled as MJPEG frames.
//! Paced like a real camera at the configured rate, and unpluggable through
//! [`SimCamera::set_online`] so the offline paths can be exercised.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::convert::{jpeg_size, looks_like_jpeg, rgb_to_yuyv};
use super::{CameraSettings, CameraSource, Error, Frame, FrameSource, Photo, Pixels};

/// JPEG files larger than this in a `sim:DIR` folder are skipped.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The switches of the simulated camera; clones share them.
#[derive(Debug, Clone)]
pub struct SimCamera {
    online: Arc<AtomicBool>,
}

impl Default for SimCamera {
    fn default() -> Self {
        SimCamera::new()
    }
}

impl SimCamera {
    /// A simulated camera, plugged in.
    pub fn new() -> SimCamera {
        SimCamera {
            online: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Plugs the simulated camera in or pulls it out: while out, frames stop and opening
    /// fails, as with a USB camera pulled from its socket.
    pub fn set_online(&self, online: bool) {
        self.online.store(online, Ordering::SeqCst);
    }

    /// Whether the simulated camera is plugged in.
    pub fn is_online(&self) -> bool {
        self.online.load(Ordering::SeqCst)
    }

    /// Opens the simulated camera described by `settings.source`.
    pub fn open(&self, settings: &CameraSettings) -> Result<Box<dyn FrameSource>, Error> {
        if !self.is_online() {
            return Err(Error::SimOffline);
        }
        let pictures = match &settings.source {
            CameraSource::SimDir(dir) => Pictures::Files {
                files: read_jpegs(dir)?,
                dir: dir.clone(),
            },
            _ => Pictures::Synthetic(Synthetic::new(settings.width & !1, settings.height)),
        };
        Ok(Box::new(SimSource {
            pictures,
            online: Arc::clone(&self.online),
            interval: settings.frame_interval(),
            fps: settings.fps,
            next_due: Instant::now(),
            started: Instant::now(),
            count: 0,
        }))
    }
}

/// The built-in sample picture: the synthetic scene's first frame as a JPEG, about
/// `width × height`. `doorguard alerts test` sends it when the camera is offline.
pub fn sample_picture(width: u32, height: u32, quality: u8) -> Result<Photo, Error> {
    let scene = Synthetic::new(width.max(2) & !1, height.max(2));
    let at = Instant::now();
    let frame = Frame {
        at,
        width: scene.width,
        height: scene.height,
        pixels: Pixels::Yuyv(scene.draw(Duration::ZERO, 0).into()),
    };
    Ok(Photo {
        jpeg: frame.to_jpeg(quality)?,
        width: frame.width,
        height: frame.height,
        at,
        sharpness: None,
    })
}

enum Pictures {
    Synthetic(Synthetic),
    Files { dir: PathBuf, files: Vec<Picture> },
}

struct SimSource {
    pictures: Pictures,
    online: Arc<AtomicBool>,
    interval: Duration,
    fps: u32,
    next_due: Instant,
    started: Instant,
    count: u64,
}

impl FrameSource for SimSource {
    fn describe(&self) -> String {
        match &self.pictures {
            Pictures::Synthetic(s) => {
                format!(
                    "YUYV {}×{} at {} fps, synthetic",
                    s.width, s.height, self.fps
                )
            }
            Pictures::Files { dir, files } => format!(
                "MJPEG at {} fps from {} JPEG file{} in {}",
                self.fps,
                files.len(),
                if files.len() == 1 { "" } else { "s" },
                dir.display()
            ),
        }
    }

    fn next_frame(&mut self) -> Result<Frame, Error> {
        let now = Instant::now();
        if self.next_due > now {
            thread::sleep(self.next_due - now);
        }
        if !self.online.load(Ordering::SeqCst) {
            return Err(Error::SimOffline);
        }
        let at = Instant::now();
        self.next_due = if at > self.next_due + self.interval {
            at + self.interval
        } else {
            self.next_due + self.interval
        };
        let n = self.count;
        self.count += 1;
        match &mut self.pictures {
            Pictures::Synthetic(s) => Ok(Frame {
                at,
                width: s.width,
                height: s.height,
                pixels: Pixels::Yuyv(s.draw(at - self.started, n).into()),
            }),
            Pictures::Files { files, .. } => {
                let picture = &files[(n % files.len() as u64) as usize];
                Ok(Frame {
                    at,
                    width: picture.width,
                    height: picture.height,
                    pixels: Pixels::Jpeg(Arc::clone(&picture.jpeg)),
                })
            }
        }
    }
}

/// One JPEG file of a `sim:DIR` folder.
struct Picture {
    jpeg: Arc<[u8]>,
    width: u32,
    height: u32,
}

fn read_jpegs(dir: &Path) -> Result<Vec<Picture>, Error> {
    let fail = |reason: String| Error::SimDir {
        dir: dir.to_owned(),
        reason,
    };
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| fail(format!("cannot read the folder: {e}")))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"))
        })
        .collect();
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let small_enough = fs::metadata(&path).is_ok_and(|m| m.len() <= MAX_FILE_BYTES);
        let Some(bytes) = small_enough.then(|| fs::read(&path).ok()).flatten() else {
            tracing::warn!(file = %path.display(), "sim camera: skipping an unreadable or oversized file");
            continue;
        };
        match jpeg_size(&bytes) {
            Ok((width, height)) if looks_like_jpeg(&bytes) => files.push(Picture {
                jpeg: Arc::from(bytes),
                width,
                height,
            }),
            _ => {
                tracing::warn!(file = %path.display(), "sim camera: skipping a file that is not a complete JPEG")
            }
        }
    }
    if files.is_empty() {
        return Err(fail(
            "no readable .jpg or .jpeg files in the folder".to_owned(),
        ));
    }
    Ok(files)
}

/// Draws the synthetic frames: a wall, a face-like shape swaying in front of it, and a
/// caption with the local time and the frame number, straight into YUYV.
struct Synthetic {
    width: u32,
    height: u32,
    background: Vec<u8>,
}

const SKIN: [u8; 3] = [224, 172, 128];
const HAIR: [u8; 3] = [70, 48, 30];
const DARK: [u8; 3] = [40, 30, 30];
const BLACK: [u8; 3] = [0, 0, 0];
const WHITE: [u8; 3] = [255, 255, 255];

impl Synthetic {
    fn new(width: u32, height: u32) -> Synthetic {
        let (w, h) = (width.max(2), height.max(2));
        let mut rgb = Vec::with_capacity(w as usize * h as usize * 3);
        for y in 0..h {
            for x in 0..w {
                // A lit wall fading to a darker floor, with a door frame at the right.
                let shade = 200 - (120 * y / h) as u8;
                let frame = x > w * 4 / 5 && x < w * 4 / 5 + w / 60;
                let px = if frame {
                    [90, 70, 50]
                } else if y > h * 5 / 6 {
                    [shade / 2, shade / 2, shade / 3]
                } else {
                    [shade, shade, shade.saturating_add(20)]
                };
                rgb.extend_from_slice(&px);
            }
        }
        let background =
            rgb_to_yuyv(&rgb, w, h).unwrap_or_else(|_| vec![128; (w * h * 2) as usize]);
        Synthetic {
            width: w,
            height: h,
            background,
        }
    }

    fn draw(&self, since_start: Duration, frame_no: u64) -> Vec<u8> {
        let mut c = Canvas {
            width: self.width,
            height: self.height,
            data: self.background.clone(),
        };
        let (w, h) = (f64::from(self.width), f64::from(self.height));
        let t = since_start.as_secs_f64();
        let cx = w / 2.0 + w / 5.0 * (t * 0.8).sin();
        let cy = h / 2.0 + h / 20.0 * (t * 1.3).sin();
        let (rx, ry) = (h / 7.0, h / 5.0);
        c.ellipse(cx, cy - ry * 0.15, rx * 1.1, ry * 0.95, HAIR);
        c.ellipse(cx, cy, rx, ry * 0.9, SKIN);
        for side in [-1.0, 1.0] {
            c.ellipse(
                cx + side * rx * 0.4,
                cy - ry * 0.2,
                rx * 0.14,
                rx * 0.1,
                DARK,
            );
        }
        c.ellipse(cx, cy + ry * 0.45, rx * 0.35, ry * 0.07, DARK);
        c.ellipse(cx, cy + ry * 0.05, rx * 0.08, ry * 0.15, [200, 140, 110]);

        let time = chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f");
        c.caption(&format!("{time}  #{frame_no:06}  SIM"));
        c.data
    }
}

struct Canvas {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl Canvas {
    /// Fills a rectangle with a colour given as a YUYV pixel pair (see [`yuyv`]).
    fn fill(&mut self, x0: u32, y0: u32, x1: u32, y1: u32, pair: [u8; 4]) {
        let (x1, y1) = (x1.min(self.width), y1.min(self.height));
        for y in y0..y1 {
            let row = (y * self.width) as usize * 2;
            for x in x0..x1 {
                let i = row + x as usize * 2;
                self.data[i] = pair[0];
                let chroma = row + (x & !1) as usize * 2;
                self.data[chroma + 1] = pair[1];
                self.data[chroma + 3] = pair[3];
            }
        }
    }

    fn ellipse(&mut self, cx: f64, cy: f64, rx: f64, ry: f64, rgb: [u8; 3]) {
        let colour = yuyv(rgb);
        let top = (cy - ry).max(0.0) as u32;
        let bottom = ((cy + ry).max(0.0) as u32).min(self.height);
        for y in top..bottom {
            let dy = (f64::from(y) - cy) / ry;
            let half = rx * (1.0 - dy * dy).max(0.0).sqrt();
            let x0 = (cx - half).max(0.0) as u32;
            let x1 = (cx + half).max(0.0) as u32;
            self.fill(x0, y, x1, y + 1, colour);
        }
    }

    fn caption(&mut self, text: &str) {
        let scale = (self.height / 180).max(1);
        let (cell_w, cell_h) = (6 * scale, 9 * scale);
        let width = cell_w * text.chars().count() as u32 + 2 * scale;
        self.fill(0, 0, width, cell_h, yuyv(BLACK));
        let white = yuyv(WHITE);
        for (i, ch) in text.chars().enumerate() {
            let rows = glyph(ch);
            let left = scale + i as u32 * cell_w;
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..5u32 {
                    if bits & (0x10 >> col) != 0 {
                        let x = left + col * scale;
                        let y = scale + r as u32 * scale;
                        self.fill(x, y, x + scale, y + scale, white);
                    }
                }
            }
        }
    }
}

/// A colour as a YUYV pixel pair.
fn yuyv(rgb: [u8; 3]) -> [u8; 4] {
    match rgb_to_yuyv(&[rgb, rgb].concat(), 2, 1).as_deref() {
        Ok(&[y0, u, y1, v]) => [y0, u, y1, v],
        _ => [16, 128, 16, 128],
    }
}

/// A 5×7 bitmap of the characters the caption uses.
fn glyph(ch: char) -> [u8; 7] {
    match ch {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '#' => [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        _ => [0; 7],
    }
}
