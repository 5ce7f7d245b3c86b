//! Benchmarks of the camera paths at 1280×720: a snapshot from the pre-roll (an MJPEG
//! frame passed through, and a YUYV frame encoded) against opening the sim camera and
//! capturing, a 5-frame sharpest-of burst, the YUYV → RGB → JPEG conversion alone, and
//! sharpness scoring. Figures go into the README.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use doorguard::config::Settings;
use doorguard::hw::camera::{
    Camera, CameraSettings, CameraSource, Frame, Pixels, SimCamera, Status, encode_jpeg, open,
    yuyv_to_rgb,
};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

fn settings(source: CameraSource) -> CameraSettings {
    CameraSettings {
        source,
        width: WIDTH,
        height: HEIGHT,
        ..Settings::defaults().camera
    }
}

/// A running camera with its pre-roll filled.
fn running(settings: &CameraSettings) -> Camera {
    let (camera, _sim) = Camera::start(settings, |_| {}).expect("camera starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !matches!(camera.handle().status(), Status::Ok { .. }) {
        assert!(Instant::now() < deadline, "camera did not start");
        thread::sleep(Duration::from_millis(10));
    }
    thread::sleep(Duration::from_millis(1500));
    camera
}

/// One synthetic 1280×720 YUYV frame, as the simulated camera draws it.
fn yuyv_frame() -> Frame {
    let camera = running(&settings(CameraSource::Sim));
    let handle = camera.handle();
    let photo = handle.snapshot(Instant::now()).expect("a photo");
    let (rgb, w, h) = doorguard::hw::camera::decode_jpeg(&photo.jpeg).expect("decode");
    Frame {
        at: Instant::now(),
        width: w,
        height: h,
        pixels: Pixels::Yuyv(
            doorguard::hw::camera::rgb_to_yuyv(&rgb, w, h)
                .expect("yuyv")
                .into(),
        ),
    }
}

fn camera(c: &mut Criterion) {
    let frame = yuyv_frame();
    let Pixels::Yuyv(yuyv) = &frame.pixels else {
        unreachable!()
    };
    let rgb = yuyv_to_rgb(yuyv, WIDTH, HEIGHT).expect("rgb");

    // An MJPEG camera: the frames of a folder of 1280×720 JPEGs.
    let dir = tempfile::tempdir().expect("temp dir");
    for i in 0..5 {
        let jpeg = encode_jpeg(&rgb, WIDTH, HEIGHT, 80 + i).expect("jpeg");
        std::fs::write(dir.path().join(format!("{i}.jpg")), jpeg).expect("write");
    }
    let mjpeg = running(&settings(CameraSource::SimDir(dir.path().to_owned())));
    let mjpeg = mjpeg.handle();
    c.bench_function(
        "snapshot from the pre-roll, MJPEG 1280x720 (pass-through)",
        |b| b.iter(|| mjpeg.snapshot(black_box(Instant::now() - Duration::from_millis(500)))),
    );
    c.bench_function("burst: best 3 of 5, MJPEG 1280x720 (decode + score)", |b| {
        b.iter(|| mjpeg.burst(black_box(Instant::now() - Duration::from_millis(500)), 5, 3))
    });

    let yuyv_camera = running(&settings(CameraSource::Sim));
    let synthetic = yuyv_camera.handle();
    c.bench_function("snapshot from the pre-roll, YUYV 1280x720 (encode)", |b| {
        b.iter(|| synthetic.snapshot(black_box(Instant::now() - Duration::from_millis(500))))
    });
    c.bench_function(
        "burst: best 3 of 5, YUYV 1280x720 (score + encode 3)",
        |b| {
            b.iter(|| synthetic.burst(black_box(Instant::now() - Duration::from_millis(500)), 5, 3))
        },
    );

    c.bench_function("YUYV -> RGB -> JPEG 1280x720, quality 85", |b| {
        b.iter(|| {
            let rgb = yuyv_to_rgb(black_box(yuyv), WIDTH, HEIGHT).expect("rgb");
            encode_jpeg(&rgb, WIDTH, HEIGHT, 85).expect("jpeg")
        })
    });
    c.bench_function("open the sim camera and capture one frame as JPEG", |b| {
        let settings = settings(CameraSource::Sim);
        let sim = SimCamera::new();
        b.iter(|| {
            let mut source = open(&settings, &sim).expect("open");
            let frame = source.next_frame().expect("a frame");
            frame.to_jpeg(settings.jpeg_quality).expect("jpeg")
        })
    });
    let five: Vec<Frame> = (0..5).map(|_| frame.clone()).collect();
    c.bench_function("sharpness scoring of a 5-frame YUYV 1280x720 burst", |b| {
        b.iter(|| {
            black_box(&five)
                .iter()
                .map(|f| f.sharpness().expect("score"))
                .fold(f64::MIN, f64::max)
        })
    });
    c.bench_function("sharpness of one YUYV 1280x720 frame", |b| {
        b.iter(|| black_box(&frame).sharpness().expect("score"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(4));
    targets = camera
}
criterion_main!(benches);
