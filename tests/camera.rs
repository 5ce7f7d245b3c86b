//! The camera through its public API: snapshots from the pre-roll, sharpest-frame
//! bursts, pixel conversions on real buffers, preview pacing, and the offline path with
//! the simulated camera; a real V4L2 device when this machine has one.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use doorguard::config::Settings;
use doorguard::hw::camera::{
    Camera, CameraHandle, CameraSettings, CameraSource, Frame, NoPhoto, Pixels, SimCamera, Status,
    decode_jpeg, encode_jpeg, rgb_to_yuyv, yuyv_to_rgb,
};
use image::{ImageBuffer, Rgb, RgbImage, imageops};

fn settings(source: CameraSource) -> CameraSettings {
    CameraSettings {
        source,
        width: 640,
        height: 360,
        fps: 15,
        ..Settings::defaults().camera
    }
}

fn gap(a: Instant, b: Instant) -> Duration {
    if a > b { a - b } else { b - a }
}

/// Starts a camera and waits (up to 5 s) until it delivers frames.
fn running(settings: &CameraSettings) -> (Camera, CameraHandle, SimCamera, mpsc::Receiver<Status>) {
    let (tx, statuses) = mpsc::channel();
    let (camera, sim) = Camera::start(settings, move |s| {
        let _ = tx.send(s.clone());
    })
    .expect("camera starts");
    let handle = camera.handle();
    wait_for(
        &handle,
        |s| matches!(s, Status::Ok { .. }),
        "the camera to deliver frames",
    );
    (camera, handle, sim, statuses)
}

fn wait_for(handle: &CameraHandle, what: impl Fn(&Status) -> bool, label: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !what(&handle.status()) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {label}; status: {}",
            handle.status()
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// A picture with detail everywhere: coloured checks, circles and a gradient.
fn known_picture(width: u32, height: u32) -> RgbImage {
    ImageBuffer::from_fn(width, height, |x, y| {
        let check = ((x / 8) + (y / 8)) % 2 == 0;
        let (cx, cy) = (x as i32 - width as i32 / 2, y as i32 - height as i32 / 2);
        let ring = (((cx * cx + cy * cy) as f64).sqrt() as u32 / 6).is_multiple_of(2);
        match (check, ring) {
            (true, true) => Rgb([230, 40, 40]),
            (true, false) => Rgb([20, 20, 20]),
            (false, true) => Rgb([240, 240, 240]),
            (false, false) => Rgb([(x * 255 / width) as u8, 120, (y * 255 / height) as u8]),
        }
    })
}

fn jpeg_of(picture: &RgbImage) -> Vec<u8> {
    encode_jpeg(picture.as_raw(), picture.width(), picture.height(), 92).expect("encode")
}

#[test]
fn a_snapshot_is_the_ring_frame_of_the_moment_asked_for() {
    let settings = settings(CameraSource::Sim);
    let (_camera, handle, _sim, _) = running(&settings);
    let interval = handle.frame_interval();
    thread::sleep(Duration::from_millis(1200));

    for _ in 0..5 {
        let attempt = Instant::now();
        let photo = handle.snapshot(attempt).expect("a photo");
        assert!(
            gap(photo.at, attempt) <= interval,
            "frame {:?} from the attempt, more than one interval ({interval:?})",
            gap(photo.at, attempt)
        );
        let (_, w, h) = decode_jpeg(&photo.jpeg).expect("the snapshot is a JPEG");
        assert_eq!((w, h), (640, 360));
        thread::sleep(Duration::from_millis(37));
    }

    // A moment a second ago is still in the pre-roll: only the ring can answer that.
    let earlier = Instant::now() - Duration::from_secs(1);
    let photo = handle.snapshot(earlier).expect("a photo from the pre-roll");
    assert!(
        gap(photo.at, earlier) <= interval,
        "{:?}",
        gap(photo.at, earlier)
    );

    // Beyond the pre-roll (2 s) there is nothing to give.
    let too_old = Instant::now() - Duration::from_secs(5);
    assert_eq!(
        handle.snapshot(too_old).unwrap_err(),
        NoPhoto::NoFrameNear {
            tolerance: interval
        }
    );
}

fn blurred_files(dir: &Path, sigmas: &[(&str, f32)]) -> Vec<(f32, Vec<u8>)> {
    let sharp = known_picture(320, 240);
    let mut written: Vec<(f32, Vec<u8>)> = sigmas
        .iter()
        .map(|(name, sigma)| {
            let picture = if *sigma == 0.0 {
                sharp.clone()
            } else {
                imageops::blur(&sharp, *sigma)
            };
            let jpeg = jpeg_of(&picture);
            std::fs::write(dir.join(name), &jpeg).expect("write picture");
            (*sigma, jpeg)
        })
        .collect();
    written.sort_by(|a, b| a.0.total_cmp(&b.0));
    written
}

#[test]
fn a_burst_ranks_frames_from_sharpest_to_most_blurred() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Five frames in a row, blurred to known degrees, in a shuffled order.
    let by_sigma = blurred_files(
        dir.path(),
        &[
            ("a.jpg", 2.0),
            ("b.jpg", 0.0),
            ("c.jpg", 4.0),
            ("d.jpg", 1.0),
            ("e.jpg", 3.0),
        ],
    );
    let settings = settings(CameraSource::SimDir(dir.path().to_owned()));
    let (_camera, handle, _sim, _) = running(&settings);
    thread::sleep(Duration::from_millis(700));

    let photos = handle.burst(Instant::now(), 5, 5).expect("a burst");
    assert_eq!(photos.len(), 5);
    for (rank, (photo, (sigma, jpeg))) in photos.iter().zip(&by_sigma).enumerate() {
        assert!(
            photo.jpeg[..] == jpeg[..],
            "rank {rank} should be the picture blurred by σ={sigma} (scores: {:?})",
            photos.iter().map(|p| p.sharpness).collect::<Vec<_>>()
        );
    }
    assert!(photos.windows(2).all(|w| w[0].sharpness > w[1].sharpness));

    // Asked for the best three, only those come back, still best first.
    let best = handle.burst(Instant::now(), 5, 3).expect("a burst");
    assert_eq!(best.len(), 3);
    assert!(best[0].jpeg[..] == by_sigma[0].1[..]);
}

#[test]
fn mjpeg_frames_pass_through_byte_for_byte() {
    let dir = tempfile::tempdir().expect("temp dir");
    let jpeg = jpeg_of(&known_picture(320, 240));
    std::fs::write(dir.path().join("door.jpeg"), &jpeg).expect("write");
    let (_camera, handle, _sim, _) =
        running(&settings(CameraSource::SimDir(dir.path().to_owned())));
    let photo = handle.snapshot(Instant::now()).expect("a photo");
    assert!(
        photo.jpeg[..] == jpeg[..],
        "the camera's JPEG is kept as it came"
    );
    assert_eq!((photo.width, photo.height), (320, 240));
}

/// Mean and maximum per-channel difference.
fn difference(a: &[u8], b: &[u8]) -> (f64, u8) {
    assert_eq!(a.len(), b.len());
    let max = a
        .iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0);
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    (sum as f64 / a.len() as f64, max)
}

#[test]
fn yuyv_frames_convert_to_rgb_and_jpeg_within_tolerance() {
    // BT.601 limited-range reference values, independent of this crate's encoder:
    // white, black, red, green, blue as a webcam sends them.
    let reference: [([u8; 3], [u8; 3]); 5] = [
        ([235, 128, 128], [255, 255, 255]),
        ([16, 128, 128], [0, 0, 0]),
        ([81, 90, 240], [255, 0, 0]),
        ([145, 54, 34], [0, 255, 0]),
        ([41, 240, 110], [0, 0, 255]),
    ];
    for ([y, u, v], rgb) in reference {
        let got = yuyv_to_rgb(&[y, u, y, v], 2, 1).expect("convert");
        let (_, max) = difference(&got, &[rgb, rgb].concat());
        assert!(max <= 3, "YUV {y},{u},{v} gave {got:?}, expected {rgb:?}");
    }

    // A frame made from a known picture comes back close to it, through RGB and through
    // the JPEG a photo is made of. The picture is softened like a camera's: YUYV halves
    // the colour resolution, so hard colour edges one pixel wide cannot survive.
    let picture = imageops::blur(&known_picture(640, 360), 3.0);
    let yuyv = rgb_to_yuyv(picture.as_raw(), 640, 360).expect("to YUYV");
    let rgb = yuyv_to_rgb(&yuyv, 640, 360).expect("to RGB");
    let (mean, _) = difference(&rgb, picture.as_raw());
    assert!(mean < 3.0, "mean difference after YUYV and back: {mean:.2}");

    let frame = Frame {
        at: Instant::now(),
        width: 640,
        height: 360,
        pixels: Pixels::Yuyv(yuyv.clone().into()),
    };
    let (decoded, w, h) = decode_jpeg(&frame.to_jpeg(85).expect("to JPEG")).expect("decode");
    assert_eq!((w, h), (640, 360));
    let (mean, _) = difference(&decoded, picture.as_raw());
    assert!(
        mean < 6.0,
        "mean difference after YUYV, JPEG and back: {mean:.2}"
    );

    let err = yuyv_to_rgb(&yuyv[..1000], 640, 360)
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not match 640×360"), "{err}");
}

#[test]
fn an_offline_camera_answers_no_photo_at_once_and_comes_back_by_itself() {
    let settings = settings(CameraSource::Sim);
    let (_camera, handle, sim, statuses) = running(&settings);

    sim.set_online(false);
    wait_for(
        &handle,
        |s| matches!(s, Status::Offline { .. }),
        "the camera to go offline",
    );
    let Status::Offline { reason } = handle.status() else {
        unreachable!()
    };
    assert!(reason.contains("unplugged"), "{reason}");

    let asked = Instant::now();
    let answer = handle.snapshot(Instant::now());
    let took = asked.elapsed();
    assert!(matches!(answer, Err(NoPhoto::Offline { .. })), "{answer:?}");
    assert!(
        took < Duration::from_millis(50),
        "a capture while offline took {took:?}"
    );
    let message = answer.unwrap_err().to_string();
    assert!(message.starts_with("no photo: camera offline"), "{message}");
    assert!(matches!(
        handle.burst(Instant::now(), 5, 1),
        Err(NoPhoto::Offline { .. })
    ));

    thread::sleep(Duration::from_millis(800));
    sim.set_online(true);
    wait_for(
        &handle,
        |s| matches!(s, Status::Ok { .. }),
        "the camera to come back",
    );
    handle
        .snapshot(Instant::now())
        .expect("photos again once it is back");

    let seen: Vec<Status> = statuses.try_iter().collect();
    let kinds: Vec<&str> = seen
        .iter()
        .map(|s| match s {
            Status::Starting => "starting",
            Status::Ok { .. } => "ok",
            Status::Offline { .. } => "offline",
        })
        .collect();
    assert_eq!(kinds, ["ok", "offline", "ok"], "{seen:?}");
}

#[test]
fn a_camera_that_never_opens_reports_why() {
    let settings = settings(CameraSource::SimDir(PathBuf::from("/nonexistent/faces")));
    let (camera, _sim) = Camera::start(&settings, |_| {}).expect("the thread starts");
    let handle = camera.handle();
    wait_for(
        &handle,
        |s| matches!(s, Status::Offline { .. }),
        "the camera to be reported offline",
    );
    let Err(NoPhoto::Offline { reason }) = handle.snapshot(Instant::now()) else {
        panic!("expected no photo");
    };
    assert!(
        reason.contains("sim:/nonexistent/faces: cannot read the folder"),
        "{reason}"
    );
}

#[test]
fn previews_are_downscaled_and_paced() {
    let mut settings = settings(CameraSource::Sim);
    settings.preview_fps = 5;
    settings.preview_width = 320;
    let (_camera, handle, _sim, _) = running(&settings);
    assert!(
        handle.preview().is_none(),
        "no preview work until someone watches"
    );

    handle.set_preview(true);
    let mut seen: Vec<(u64, Instant)> = Vec::new();
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        if let Some(p) = handle.preview() {
            assert_eq!((p.width, p.height, p.rgb.len()), (320, 180, 320 * 180 * 3));
            if seen.last().is_none_or(|(seq, _)| *seq != p.seq) {
                seen.push((p.seq, p.at));
            }
        }
        thread::sleep(Duration::from_millis(5));
    }
    assert!(seen.len() >= 4, "previews seen: {}", seen.len());
    for pair in seen.windows(2) {
        let spacing = pair[1].1 - pair[0].1;
        assert!(
            spacing >= Duration::from_millis(200),
            "previews {spacing:?} apart at 5 per second"
        );
    }
    handle.set_preview(false);
    assert!(handle.preview().is_none());
}

#[test]
fn a_real_v4l2_camera_is_used_when_there_is_one() {
    let devices: Vec<PathBuf> = std::fs::read_dir("/dev")
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    let Some(device) = devices
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("video"))
        })
        .min()
    else {
        eprintln!(
            "a_real_v4l2_camera_is_used_when_there_is_one: not run: this machine has no \
             /dev/video* device (no camera attached and no vivid/v4l2loopback module)"
        );
        return;
    };
    let settings = settings(CameraSource::Device(device.clone()));
    let probe = doorguard::hw::camera::probe(&settings);
    eprintln!("{}", probe.lines.join("\n"));
    let (camera, _sim) = Camera::start(&settings, |_| {}).expect("the thread starts");
    let handle = camera.handle();
    wait_for(
        &handle,
        |s| !matches!(s, Status::Starting),
        "the camera to open or fail",
    );
    match handle.status() {
        Status::Ok { format } => {
            let photo = handle
                .snapshot(Instant::now())
                .expect("a photo from the device");
            let (_, w, h) = decode_jpeg(&photo.jpeg).expect("a JPEG");
            eprintln!("{}: {format}, photo {w}×{h}", device.display());
            assert!(probe.ok);
        }
        Status::Offline { reason } => {
            eprintln!("{}: cannot be used: {reason}", device.display());
            assert!(reason.contains(&device.display().to_string()), "{reason}");
        }
        Status::Starting => unreachable!(),
    }
}
