//! How sharp a frame is: the variance of the Laplacian of a small grey image. A blurred
//! or motion-smeared frame has weak edges, so its Laplacian varies little. Pure.

use super::convert::Grey;

/// Frames are scored at this width at most: enough to tell a face from a smear, small
/// enough that scoring a burst costs little next to decoding it.
pub const SCORE_WIDTH: u32 = 320;

/// The variance of the 4-neighbour Laplacian over the image's interior; 0 for images
/// smaller than 3×3.
pub fn laplacian_variance(grey: &Grey) -> f64 {
    let (w, h) = (grey.width as usize, grey.height as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let p = &grey.pixels;
    let (mut sum, mut sum_sq) = (0f64, 0f64);
    for y in 1..h - 1 {
        let row = y * w;
        for x in 1..w - 1 {
            let i = row + x;
            let l = i32::from(p[i - w])
                + i32::from(p[i + w])
                + i32::from(p[i - 1])
                + i32::from(p[i + 1])
                - 4 * i32::from(p[i]);
            let l = f64::from(l);
            sum += l;
            sum_sq += l * l;
        }
    }
    let n = ((w - 2) * (h - 2)) as f64;
    let mean = sum / n;
    sum_sq / n - mean * mean
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(width: u32, height: u32, f: impl Fn(u32, u32) -> u8) -> Grey {
        Grey::downscaled(f, width, height, width)
    }

    #[test]
    fn a_flat_image_has_no_sharpness_and_edges_have_some() {
        assert_eq!(laplacian_variance(&grey(16, 16, |_, _| 90)), 0.0);
        let checker = grey(
            16,
            16,
            |x, y| if (x / 2 + y / 2) % 2 == 0 { 0 } else { 255 },
        );
        let soft = grey(16, 16, |x, _| (x * 16) as u8);
        assert!(laplacian_variance(&checker) > laplacian_variance(&soft));
        assert_eq!(laplacian_variance(&grey(2, 2, |_, _| 255)), 0.0);
    }
}
