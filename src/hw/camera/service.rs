//! The capture thread: opens the camera, keeps the pre-roll ring filled, makes preview
//! frames while someone watches, reports status changes, and reopens a failed camera
//! with a growing pause. [`CameraHandle`] answers snapshots and bursts from the ring.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::convert::downscale_rgb;
use super::{
    CameraSettings, Error, Frame, FrameSource, NoPhoto, Photo, Ring, SimCamera, Status, distance,
    open,
};

/// The first pause before reopening a failed camera; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest pause between two attempts to reopen the camera.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// A downscaled RGB frame for the live preview.
#[derive(Debug, Clone)]
pub struct Preview {
    /// Pixels, 3 bytes each, rows top to bottom.
    pub rgb: Arc<[u8]>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// When its frame was captured.
    pub at: Instant,
    /// Counts up with every new preview frame, so a viewer can skip repeats.
    pub seq: u64,
}

struct State {
    ring: Ring,
    status: Status,
    preview: Option<Preview>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled on every new frame, status change and stop.
    changed: Condvar,
    stop: AtomicBool,
    preview_wanted: AtomicBool,
    settings: CameraSettings,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever a panicking holder did: every write is a
        // single assignment or push.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The camera's capture thread. Dropping it stops the thread and closes the camera.
pub struct Camera {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// What the rest of the kiosk holds: snapshots, bursts, preview and status. Cheap to
/// clone; answers [`NoPhoto::Stopped`] once the [`Camera`] is dropped.
#[derive(Clone)]
pub struct CameraHandle {
    shared: Arc<Shared>,
}

type Opener = Box<dyn FnMut() -> Result<Box<dyn FrameSource>, Error> + Send>;

impl Camera {
    /// Starts capturing from the configured camera. `on_status` is called from the
    /// capture thread on every status change. The returned [`SimCamera`] is the
    /// simulated camera's switch (it does nothing for a real device).
    pub fn start(
        settings: &CameraSettings,
        on_status: impl FnMut(&Status) + Send + 'static,
    ) -> Result<(Camera, SimCamera), Error> {
        let sim = SimCamera::new();
        let (for_thread, owned) = (sim.clone(), settings.clone());
        let opener: Opener = Box::new(move || open(&owned, &for_thread));
        Ok((Camera::with_opener(settings, opener, on_status)?, sim))
    }

    /// Starts capturing from whatever `opener` opens; it is called again to reopen.
    pub fn with_opener(
        settings: &CameraSettings,
        opener: Opener,
        on_status: impl FnMut(&Status) + Send + 'static,
    ) -> Result<Camera, Error> {
        let max_frames =
            (settings.pre_roll.as_secs_f64() * f64::from(settings.fps) * 2.0).ceil() as usize + 2;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                ring: Ring::new(settings.pre_roll, max_frames),
                status: Status::Starting,
                preview: None,
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            preview_wanted: AtomicBool::new(false),
            settings: settings.clone(),
        });
        let worker = Worker {
            shared: Arc::clone(&shared),
            opener,
            on_status: Box::new(on_status),
            last_preview: None,
            preview_seq: 0,
        };
        let thread = thread::Builder::new()
            .name("camera".into())
            .spawn(move || worker.run())
            .map_err(Error::Thread)?;
        Ok(Camera {
            shared,
            thread: Some(thread),
        })
    }

    /// Starts the configured camera, waits at most `wait` for it to deliver, and
    /// returns the sharpest of a burst taken then; stops the camera again. For
    /// one-off photos outside the kiosk (`doorguard alerts test`).
    pub fn photo_now(settings: &CameraSettings, wait: Duration) -> Result<Photo, NoPhoto> {
        let (camera, _sim) = Camera::start(settings, |_| {}).map_err(|e| NoPhoto::Offline {
            reason: e.to_string(),
        })?;
        let handle = camera.handle();
        handle.wait_until_ready(wait);
        let mut photos = handle.burst(Instant::now(), settings.burst as usize, 1)?;
        photos.pop().ok_or(NoPhoto::NoFrameNear {
            tolerance: handle.frame_interval(),
        })
    }

    /// A handle for snapshots, bursts, preview and status.
    pub fn handle(&self) -> CameraHandle {
        CameraHandle {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            // A panic in the capture thread has already been reported by the hook.
            let _ = thread.join();
        }
    }
}

struct Worker {
    shared: Arc<Shared>,
    opener: Opener,
    on_status: Box<dyn FnMut(&Status) + Send>,
    last_preview: Option<Instant>,
    preview_seq: u64,
}

impl Worker {
    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    fn run(mut self) {
        let mut backoff = FIRST_BACKOFF;
        while !self.stopping() {
            let reason = match (self.opener)() {
                Ok(source) => {
                    let (delivered, error) = self.stream(source);
                    if delivered {
                        backoff = FIRST_BACKOFF;
                    }
                    error
                }
                Err(e) => Some(e),
            };
            let Some(error) = reason else { break };
            self.set_status(Status::Offline {
                reason: error.to_string(),
            });
            self.pause(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Reads frames until an error or a stop; says whether any frame came, and the error.
    fn stream(&mut self, mut source: Box<dyn FrameSource>) -> (bool, Option<Error>) {
        let mut delivered = false;
        while !self.stopping() {
            let frame = match source.next_frame() {
                Ok(frame) => frame,
                Err(e) => return (delivered, Some(e)),
            };
            if !delivered {
                delivered = true;
                tracing::info!("camera: {}", source.describe());
                self.set_status(Status::Ok {
                    format: source.describe(),
                });
            }
            let preview = self.preview_of(&frame);
            let mut state = self.shared.lock();
            state.ring.push(frame);
            if preview.is_some() {
                state.preview = preview;
            }
            drop(state);
            self.shared.changed.notify_all();
        }
        (delivered, None)
    }

    fn preview_of(&mut self, frame: &Frame) -> Option<Preview> {
        let settings = &self.shared.settings;
        if !self.shared.preview_wanted.load(Ordering::Relaxed) {
            return None;
        }
        let every = Duration::from_secs(1) / settings.preview_fps.clamp(1, 15);
        if self
            .last_preview
            .is_some_and(|last| frame.at.saturating_duration_since(last) < every)
        {
            return None;
        }
        let (rgb, width, height) = match frame.to_rgb() {
            Ok(rgb) => rgb,
            Err(e) => {
                tracing::debug!("camera preview: {e}");
                return None;
            }
        };
        let (rgb, width, height) = downscale_rgb(&rgb, width, height, settings.preview_width);
        self.last_preview = Some(frame.at);
        self.preview_seq += 1;
        Some(Preview {
            rgb: rgb.into(),
            width,
            height,
            at: frame.at,
            seq: self.preview_seq,
        })
    }

    fn set_status(&mut self, status: Status) {
        let mut state = self.shared.lock();
        if state.status == status {
            return;
        }
        state.status = status.clone();
        drop(state);
        self.shared.changed.notify_all();
        match &status {
            Status::Offline { reason } => tracing::warn!("camera offline: {reason}"),
            _ => tracing::info!("{status}"),
        }
        (self.on_status)(&status);
    }

    /// Sleeps for `pause`, or less if told to stop.
    fn pause(&self, pause: Duration) {
        let deadline = Instant::now() + pause;
        let mut state = self.shared.lock();
        while !self.stopping() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = match self.shared.changed.wait_timeout(state, deadline - now) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

impl CameraHandle {
    /// The camera's status now.
    pub fn status(&self) -> Status {
        self.shared.lock().status.clone()
    }

    /// [`CameraHandle::burst`] at `at`, or — when the machine was too busy to capture a
    /// frame that close — at the next frames (up to three more tries). A late photo is
    /// better than none for an alert or an enrollment.
    pub fn burst_or_next(&self, at: Instant, n: usize, keep: usize) -> Result<Vec<Photo>, NoPhoto> {
        let mut photos = self.burst(at, n, keep);
        for _ in 0..3 {
            if !matches!(photos, Err(NoPhoto::NoFrameNear { .. })) {
                break;
            }
            photos = self.burst(Instant::now(), n, keep);
        }
        photos
    }

    /// Waits at most `timeout` for the camera to deliver; true once it does.
    pub fn wait_until_ready(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            match self.status() {
                Status::Ok { .. } => return true,
                _ if Instant::now() >= deadline => return false,
                _ => thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// The time between two frames at the configured rate: how close to the moment asked
    /// for a snapshot's frame is.
    pub fn frame_interval(&self) -> Duration {
        self.shared.settings.frame_interval()
    }

    /// The frame captured closest to `at` (within one frame interval), as a JPEG.
    ///
    /// Waits at most until one frame interval after `at` for a frame that has not
    /// arrived yet; answers at once when the camera is offline.
    pub fn snapshot(&self, at: Instant) -> Result<Photo, NoPhoto> {
        let frame = self.wait_for_frame(at)?;
        let jpeg = frame
            .to_jpeg(self.shared.settings.jpeg_quality)
            .map_err(|e| NoPhoto::Failed(e.to_string()))?;
        Ok(Photo {
            jpeg,
            width: frame.width,
            height: frame.height,
            at: frame.at,
            sharpness: None,
        })
    }

    /// Scores the `n` frames nearest `at` for sharpness and returns the best `keep` of
    /// them as JPEGs, sharpest first (only those are encoded). Frames that cannot be
    /// decoded are left out.
    pub fn burst(&self, at: Instant, n: usize, keep: usize) -> Result<Vec<Photo>, NoPhoto> {
        self.wait_for_frame(at)?;
        let frames: Vec<Frame> = self
            .shared
            .lock()
            .ring
            .around(at, n)
            .into_iter()
            .cloned()
            .collect();
        let mut scored: Vec<(f64, Frame)> = frames
            .into_iter()
            .filter_map(|f| match f.sharpness() {
                Ok(score) => Some((score, f)),
                Err(e) => {
                    tracing::debug!("camera burst: {e}");
                    None
                }
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.truncate(keep);
        let quality = self.shared.settings.jpeg_quality;
        let photos: Vec<Photo> = scored
            .into_iter()
            .filter_map(|(score, frame)| {
                Some(Photo {
                    jpeg: frame.to_jpeg(quality).ok()?,
                    width: frame.width,
                    height: frame.height,
                    at: frame.at,
                    sharpness: Some(score),
                })
            })
            .collect();
        if photos.is_empty() {
            return Err(NoPhoto::Failed(
                "no frame of the burst could be decoded".into(),
            ));
        }
        Ok(photos)
    }

    /// Waits for the frame nearest `at` within one frame interval.
    fn wait_for_frame(&self, at: Instant) -> Result<Frame, NoPhoto> {
        let tolerance = self.frame_interval();
        // A frame that has not arrived yet may still come this close to `at`; allow
        // one more interval for the device's own delay.
        let deadline = at + tolerance * 2;
        let mut state = self.shared.lock();
        loop {
            if let Some(frame) = state
                .ring
                .nearest(at)
                .filter(|f| distance(f.at, at) <= tolerance)
            {
                let newest_after = state.ring.newest().is_some_and(|n| n.at >= at);
                // The nearest so far is final once a frame at or after `at` is in.
                if newest_after || Instant::now() >= deadline {
                    return Ok(frame.clone());
                }
            }
            if self.shared.stop.load(Ordering::SeqCst) {
                return Err(NoPhoto::Stopped);
            }
            match &state.status {
                Status::Offline { reason } => {
                    return Err(NoPhoto::Offline {
                        reason: reason.clone(),
                    });
                }
                Status::Starting if state.ring.is_empty() => return Err(NoPhoto::Starting),
                _ => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return match state.ring.nearest(at) {
                    Some(f) if distance(f.at, at) <= tolerance => Ok(f.clone()),
                    _ => Err(NoPhoto::NoFrameNear { tolerance }),
                };
            }
            state = match self.shared.changed.wait_timeout(state, deadline - now) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Asks the capture thread to make preview frames (for the enrollment screen) or to
    /// stop making them (they cost a decode and a downscale each).
    pub fn set_preview(&self, wanted: bool) {
        self.shared.preview_wanted.store(wanted, Ordering::Relaxed);
        if !wanted {
            self.shared.lock().preview = None;
        }
    }

    /// The latest preview frame, if previews are wanted and one has been made.
    pub fn preview(&self) -> Option<Preview> {
        self.shared.lock().preview.clone()
    }
}
