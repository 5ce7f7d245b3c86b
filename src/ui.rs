//! The touchscreen UI: the Slint screens compiled from `ui/` (one adapter global per
//! screen, a `Theme` global) and what Rust needs around them — a headless platform that
//! renders screens to PNG with Slint's software renderer, for the demo and the tests.
//!
//! Owns nothing but presentation: no access decision, no store or device call is made
//! from here; controllers set adapter properties and handle adapter callbacks.

pub mod admin;
pub mod door;
pub mod headless;
pub mod setup;

#[allow(clippy::all, missing_docs)]
mod generated {
    slint::include_modules!();
}

pub use generated::*;

/// Connects the door and admin screens to a kiosk core reached through `send` (the
/// core thread's sender, or an inline call in tests and the demo).
pub fn connect(
    app: &AppWindow,
    send: std::rc::Rc<dyn Fn(crate::kiosk::Request) -> bool>,
    delivery: admin::Delivery,
    camera: Option<crate::hw::camera::CameraHandle>,
    gpio: crate::hw::gpio::GpioHandle,
    scrambled: bool,
) -> (std::rc::Rc<door::Door>, std::rc::Rc<admin::Admin>) {
    let for_door = std::rc::Rc::clone(&send);
    let door = door::Door::connect(
        app,
        Box::new(move |request| for_door(request)),
        Box::new(move || {
            if let Err(e) = gpio.keypress() {
                tracing::debug!("keypress tick: {e}");
            }
        }),
        scrambled,
    );
    let runner = admin::Runner::new(app, Box::new(move |request| send(request)), delivery);
    let admin = admin::Admin::connect(app, runner, camera);
    (door, admin)
}

/// [`connect`] to a core that runs inline on the UI thread (the demo, the UI tests):
/// every request is carried out before the tap returns.
pub fn connect_inline(
    app: &AppWindow,
    core: std::rc::Rc<std::cell::RefCell<crate::kiosk::Core>>,
    camera: Option<crate::hw::camera::CameraHandle>,
    gpio: crate::hw::gpio::GpioHandle,
) -> (std::rc::Rc<door::Door>, std::rc::Rc<admin::Admin>) {
    use crate::kiosk::Request;
    let send = move |request| {
        match request {
            Request::Pin(digits, at) => {
                let view = core.borrow_mut().pin(&digits, at, chrono::Utc::now());
                door::show_now(view);
            }
            Request::Job(job) => job(&mut core.borrow_mut()),
            Request::Device(event) => {
                let view = core.borrow_mut().device(event, chrono::Utc::now());
                if let Some(view) = view {
                    door::show_now(view);
                }
            }
        }
        true
    };
    connect(
        app,
        std::rc::Rc::new(send),
        admin::Delivery::Inline,
        camera,
        gpio,
        false,
    )
}

/// A JPEG as a Slint image (a photo, a camera preview); `None` if it does not decode.
pub fn image_from_jpeg(jpeg: &[u8]) -> Option<slint::Image> {
    let (rgb, width, height) = crate::hw::camera::decode_jpeg(jpeg).ok()?;
    Some(image_from_rgb(&rgb, width, height))
}

/// Packed RGB pixels as a Slint image.
pub fn image_from_rgb(rgb: &[u8], width: u32, height: u32) -> slint::Image {
    let buffer = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::clone_from_slice(rgb, width, height);
    slint::Image::from_rgb8(buffer)
}
