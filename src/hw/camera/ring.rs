//! The pre-roll: the last couple of seconds of frames, oldest first, so a snapshot is a
//! copy of what the camera saw at the moment of an attempt, not a camera open after it.
//! Pure: frames carry their own timestamps and nothing here reads a clock.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{Frame, distance};

/// Frames of the last `span`, at most `max_frames` of them.
#[derive(Debug)]
pub struct Ring {
    frames: VecDeque<Frame>,
    span: Duration,
    max_frames: usize,
}

impl Ring {
    /// An empty ring keeping `span` of video, and never more than `max_frames` frames
    /// (a bound on memory should a camera deliver far more frames than asked).
    pub fn new(span: Duration, max_frames: usize) -> Ring {
        Ring {
            frames: VecDeque::with_capacity(max_frames.min(256)),
            span,
            max_frames: max_frames.max(1),
        }
    }

    /// Adds the newest frame and drops those older than the span before it.
    pub fn push(&mut self, frame: Frame) {
        let newest = frame.at;
        self.frames.push_back(frame);
        while self.frames.len() > self.max_frames
            || self
                .frames
                .front()
                .is_some_and(|f| newest.saturating_duration_since(f.at) > self.span)
        {
            self.frames.pop_front();
        }
    }

    /// The frame closest in time to `at`, before or after it.
    pub fn nearest(&self, at: Instant) -> Option<&Frame> {
        self.frames.iter().min_by_key(|f| distance(f.at, at))
    }

    /// Up to `n` frames closest in time to `at`, closest first.
    pub fn around(&self, at: Instant, n: usize) -> Vec<&Frame> {
        let mut frames: Vec<&Frame> = self.frames.iter().collect();
        frames.sort_by_key(|f| distance(f.at, at));
        frames.truncate(n);
        frames
    }

    /// The most recent frame.
    pub fn newest(&self) -> Option<&Frame> {
        self.frames.back()
    }

    /// How many frames are kept.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether no frame is kept.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::Pixels;
    use super::*;

    fn frame(at: Instant) -> Frame {
        Frame {
            at,
            width: 2,
            height: 1,
            pixels: Pixels::Yuyv(Arc::from(&[0u8; 4][..])),
        }
    }

    #[test]
    fn keeps_only_the_span_and_finds_the_nearest_frame() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut ring = Ring::new(ms(200), 100);
        for i in 0..10 {
            ring.push(frame(t0 + ms(i * 50)));
        }
        assert_eq!(ring.len(), 5, "frames at 250..450 ms remain");
        assert_eq!(ring.nearest(t0 + ms(330)).unwrap().at, t0 + ms(350));
        assert_eq!(
            ring.nearest(t0).unwrap().at,
            t0 + ms(250),
            "older than the ring"
        );
        let around: Vec<Duration> = ring
            .around(t0 + ms(400), 3)
            .iter()
            .map(|f| f.at - t0)
            .collect();
        assert_eq!(around[0], ms(400));
        assert!(around[1..].contains(&ms(350)) && around[1..].contains(&ms(450)));
    }

    #[test]
    fn the_frame_count_is_bounded() {
        let t0 = Instant::now();
        let mut ring = Ring::new(Duration::from_secs(10), 3);
        for i in 0..10 {
            ring.push(frame(t0 + Duration::from_millis(i)));
        }
        assert_eq!(ring.len(), 3);
        assert_eq!(ring.newest().unwrap().at, t0 + Duration::from_millis(9));
    }
}
