//! A Slint platform without a display: one window rendered by the software renderer
//! into memory, so screens can be drawn to PNG on any machine (the headless demo, the
//! screenshot tests, a CI box). Timers and animations follow the wall clock.
//!
//! A process has one Slint platform: install this one before creating any window, and
//! do not mix it with a windowed backend.

use std::path::Path;
use std::rc::Rc;
use std::time::Instant;

use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{PhysicalSize, Rgb8Pixel};

/// Why a screen could not be drawn or saved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Slint already has a platform in this process.
    #[error("cannot install the headless display: {0}")]
    Platform(String),
    /// The PNG could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        source: image::ImageError,
    },
    /// The pixels did not make an image (a size of zero).
    #[error("cannot draw a {0}×{1} screen")]
    Size(u32, u32),
}

struct Headless {
    window: Rc<MinimalSoftwareWindow>,
    started: Instant,
}

impl Platform for Headless {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(self.window.clone())
    }

    fn duration_since_start(&self) -> std::time::Duration {
        self.started.elapsed()
    }
}

/// The headless display's one window.
#[derive(Clone)]
pub struct Display {
    window: Rc<MinimalSoftwareWindow>,
}

impl Display {
    /// Installs the headless platform for this process.
    pub fn install() -> Result<Display, Error> {
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        slint::platform::set_platform(Box::new(Headless {
            window: window.clone(),
            started: Instant::now(),
        }))
        .map_err(|e| Error::Platform(e.to_string()))?;
        Ok(Display { window })
    }

    /// Resizes the window to `width × height` physical pixels.
    pub fn resize(&self, width: u32, height: u32) {
        self.window.set_size(PhysicalSize::new(width, height));
    }

    /// Draws the window as it is now, at its current size.
    pub fn draw(&self) -> Result<image::RgbImage, Error> {
        slint::platform::update_timers_and_animations();
        let size = self.window.size();
        let (width, height) = (size.width, size.height);
        let mut pixels = vec![Rgb8Pixel::default(); width as usize * height as usize];
        self.window.request_redraw();
        self.window.draw_if_needed(|renderer| {
            renderer.render(&mut pixels, width as usize);
        });
        let bytes: Vec<u8> = pixels.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
        image::RgbImage::from_raw(width, height, bytes).ok_or(Error::Size(width, height))
    }

    /// Draws the window and saves it as a PNG.
    pub fn save_png(&self, path: &Path) -> Result<(), Error> {
        self.draw()?.save(path).map_err(|source| Error::Write {
            path: path.to_owned(),
            source,
        })
    }
}
