//! Pixel conversions: packed YUYV (YUV 4:2:2, BT.601 limited range, what USB webcams
//! send) to and from RGB, JPEG encoding and decoding, and the small grey images the
//! sharpness score and the preview work on. Pure functions, no I/O.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageFormat, ImageReader};

use super::Error;

/// Fixed-point (×256) BT.601 limited-range coefficients.
const Y_SCALE: i32 = 298; // 1.164
const V_TO_R: i32 = 409; // 1.596
const U_TO_G: i32 = 100; // 0.392
const V_TO_G: i32 = 208; // 0.813
const U_TO_B: i32 = 516; // 2.017

fn clamp(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = Y_SCALE * (i32::from(y) - 16);
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    [
        clamp((c + V_TO_R * e + 128) >> 8),
        clamp((c - U_TO_G * d - V_TO_G * e + 128) >> 8),
        clamp((c + U_TO_B * d + 128) >> 8),
    ]
}

fn rgb_to_yuv(r: u8, g: u8, b: u8) -> [i32; 3] {
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    [
        16 + ((66 * r + 129 * g + 25 * b + 128) >> 8),
        128 + ((-38 * r - 74 * g + 112 * b + 128) >> 8),
        128 + ((112 * r - 94 * g - 18 * b + 128) >> 8),
    ]
}

/// The byte length of a packed YUYV frame (2 bytes per pixel; the width must be even).
pub fn yuyv_len(width: u32, height: u32) -> usize {
    width as usize * height as usize * 2
}

/// Converts a packed YUYV frame to RGB (3 bytes per pixel, rows top to bottom).
pub fn yuyv_to_rgb(yuyv: &[u8], width: u32, height: u32) -> Result<Vec<u8>, Error> {
    check_yuyv(yuyv, width, height)?;
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for quad in yuyv.chunks_exact(4) {
        let (y0, u, y1, v) = (quad[0], quad[1], quad[2], quad[3]);
        rgb.extend_from_slice(&yuv_to_rgb(y0, u, v));
        rgb.extend_from_slice(&yuv_to_rgb(y1, u, v));
    }
    Ok(rgb)
}

/// Converts RGB to packed YUYV, averaging the chroma of each pixel pair. The simulated
/// camera produces its frames this way, so they take the same path as a YUYV webcam's.
pub fn rgb_to_yuyv(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, Error> {
    if !width.is_multiple_of(2) || rgb.len() != width as usize * height as usize * 3 {
        return Err(Error::BadFrame(format!(
            "RGB frame of {} bytes does not match {width}×{height} with an even width",
            rgb.len()
        )));
    }
    let mut yuyv = Vec::with_capacity(yuyv_len(width, height));
    for pair in rgb.chunks_exact(6) {
        let a = rgb_to_yuv(pair[0], pair[1], pair[2]);
        let b = rgb_to_yuv(pair[3], pair[4], pair[5]);
        yuyv.extend_from_slice(&[
            clamp(a[0]),
            clamp((a[1] + b[1]) / 2),
            clamp(b[0]),
            clamp((a[2] + b[2]) / 2),
        ]);
    }
    Ok(yuyv)
}

fn check_yuyv(yuyv: &[u8], width: u32, height: u32) -> Result<(), Error> {
    if !width.is_multiple_of(2) || yuyv.len() != yuyv_len(width, height) {
        return Err(Error::BadFrame(format!(
            "YUYV frame of {} bytes does not match {width}×{height} (expected {})",
            yuyv.len(),
            yuyv_len(width, height)
        )));
    }
    Ok(())
}

/// Encodes RGB as a baseline JPEG at `quality` (1–100).
pub fn encode_jpeg(rgb: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(rgb.len() / 8);
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode(rgb, width, height, ExtendedColorType::Rgb8)
        .map_err(|e| Error::BadFrame(format!("JPEG encoding failed: {e}")))?;
    Ok(out)
}

/// Decodes a JPEG to RGB, returning `(rgb, width, height)`.
pub fn decode_jpeg(jpeg: &[u8]) -> Result<(Vec<u8>, u32, u32), Error> {
    let image = ImageReader::with_format(Cursor::new(jpeg), ImageFormat::Jpeg)
        .decode()
        .map_err(|e| Error::BadFrame(format!("not a decodable JPEG: {e}")))?
        .into_rgb8();
    let (width, height) = image.dimensions();
    Ok((image.into_raw(), width, height))
}

/// Reads a JPEG's size from its header without decoding the image.
pub fn jpeg_size(jpeg: &[u8]) -> Result<(u32, u32), Error> {
    ImageReader::with_format(Cursor::new(jpeg), ImageFormat::Jpeg)
        .into_dimensions()
        .map_err(|e| Error::BadFrame(format!("not a JPEG: {e}")))
}

/// Whether the bytes look like one complete JPEG (SOI at the start, EOI at the end,
/// allowing the zero padding some cameras append).
pub fn looks_like_jpeg(data: &[u8]) -> bool {
    let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    data.starts_with(&[0xFF, 0xD8]) && end >= 4 && data[..end].ends_with(&[0xFF, 0xD9])
}

/// A small grey image: the sharpness score and the preview scaling work on these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grey {
    /// Pixels, one byte each, rows top to bottom.
    pub pixels: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// The integer factor that brings `width` down to at most `max_width`.
fn factor(width: u32, max_width: u32) -> u32 {
    width.div_ceil(max_width.max(1)).max(1)
}

impl Grey {
    /// Box-averages the image whose pixel `(x, y)` is `luma(x, y)` down to at most
    /// `max_width` pixels wide by an integer factor.
    pub fn downscaled(
        luma: impl Fn(u32, u32) -> u8,
        width: u32,
        height: u32,
        max_width: u32,
    ) -> Grey {
        let f = factor(width, max_width);
        let (w, h) = (width / f, height / f);
        let mut pixels = Vec::with_capacity(w as usize * h as usize);
        for by in 0..h {
            for bx in 0..w {
                let mut sum = 0u32;
                for y in by * f..(by + 1) * f {
                    for x in bx * f..(bx + 1) * f {
                        sum += u32::from(luma(x, y));
                    }
                }
                pixels.push((sum / (f * f)) as u8);
            }
        }
        Grey {
            pixels,
            width: w,
            height: h,
        }
    }

    /// The luma of a YUYV frame, downscaled (the Y bytes are used as they are).
    pub fn from_yuyv(yuyv: &[u8], width: u32, height: u32, max_width: u32) -> Result<Grey, Error> {
        check_yuyv(yuyv, width, height)?;
        let row = width as usize * 2;
        Ok(Grey::downscaled(
            |x, y| yuyv[y as usize * row + x as usize * 2],
            width,
            height,
            max_width,
        ))
    }

    /// The luma of an RGB image, downscaled (BT.601 weights).
    pub fn from_rgb(rgb: &[u8], width: u32, height: u32, max_width: u32) -> Grey {
        let row = width as usize * 3;
        Grey::downscaled(
            |x, y| {
                let i = y as usize * row + x as usize * 3;
                let l = 77 * u32::from(rgb[i])
                    + 150 * u32::from(rgb[i + 1])
                    + 29 * u32::from(rgb[i + 2]);
                (l >> 8) as u8
            },
            width,
            height,
            max_width,
        )
    }
}

/// Box-averages an RGB image down to at most `max_width` pixels wide by an integer
/// factor, returning `(rgb, width, height)`. Used for the preview.
pub fn downscale_rgb(rgb: &[u8], width: u32, height: u32, max_width: u32) -> (Vec<u8>, u32, u32) {
    let f = factor(width, max_width);
    let (w, h) = (width / f, height / f);
    let row = width as usize * 3;
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for by in 0..h {
        for bx in 0..w {
            let mut sum = [0u32; 3];
            for y in by * f..(by + 1) * f {
                let start = y as usize * row + (bx * f) as usize * 3;
                for px in rgb[start..start + f as usize * 3].chunks_exact(3) {
                    sum[0] += u32::from(px[0]);
                    sum[1] += u32::from(px[1]);
                    sum[2] += u32::from(px[2]);
                }
            }
            let n = f * f;
            out.extend(sum.iter().map(|s| (s / n) as u8));
        }
    }
    (out, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primaries_survive_a_round_trip_through_yuyv() {
        for colour in [
            [0u8, 0, 0],
            [255, 255, 255],
            [200, 30, 40],
            [20, 180, 60],
            [30, 40, 220],
        ] {
            let rgb: Vec<u8> = colour.iter().chain(colour.iter()).copied().collect();
            let back = yuyv_to_rgb(&rgb_to_yuyv(&rgb, 2, 1).unwrap(), 2, 1).unwrap();
            for (a, b) in rgb.iter().zip(&back) {
                assert!(a.abs_diff(*b) <= 3, "{colour:?} came back as {back:?}");
            }
        }
    }

    #[test]
    fn frames_of_the_wrong_size_are_refused() {
        let err = yuyv_to_rgb(&[0; 10], 4, 2).unwrap_err().to_string();
        assert!(
            err.contains("10 bytes") && err.contains("expected 16"),
            "{err}"
        );
        assert!(
            rgb_to_yuyv(&[0; 9], 3, 1).is_err(),
            "odd widths have no YUYV form"
        );
    }

    #[test]
    fn jpeg_framing_is_recognised_with_padding() {
        assert!(looks_like_jpeg(&[0xFF, 0xD8, 1, 2, 0xFF, 0xD9, 0, 0]));
        assert!(
            !looks_like_jpeg(&[0xFF, 0xD8, 1, 2, 3, 4]),
            "truncated frame"
        );
        assert!(!looks_like_jpeg(&[0; 64]), "empty buffer");
    }

    #[test]
    fn downscaling_averages_blocks() {
        let grey = Grey::downscaled(|x, _| if x % 2 == 0 { 0 } else { 200 }, 8, 4, 4);
        assert_eq!((grey.width, grey.height), (4, 2));
        assert!(grey.pixels.iter().all(|&p| p == 100), "{:?}", grey.pixels);
    }
}
