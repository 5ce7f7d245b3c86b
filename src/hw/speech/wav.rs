//! Reading the header of a RIFF/WAVE file: format and length of the audio.
//!
//! Owns nothing but parsing; it must not read files itself nor trust the sizes in the
//! header beyond the bytes actually given (a file written by a program that was
//! killed may still hold placeholder sizes).

use std::time::Duration;

/// The format and length of a WAV file's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavInfo {
    /// 1 for PCM.
    pub format: u16,
    /// Number of channels.
    pub channels: u16,
    /// Samples per second.
    pub sample_rate: u32,
    /// Bits per sample.
    pub bits_per_sample: u16,
    /// Bytes of audio in the `data` chunk that are present.
    pub data_bytes: u64,
}

impl WavInfo {
    /// How long the audio lasts.
    pub fn duration(&self) -> Duration {
        let bytes_per_second = u64::from(self.sample_rate)
            * u64::from(self.channels)
            * u64::from(self.bits_per_sample).div_ceil(8);
        if bytes_per_second == 0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(self.data_bytes as f64 / bytes_per_second as f64)
    }
}

/// Why bytes are not a usable WAV file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a WAV file: {0}")]
pub struct NotWav(pub &'static str);

/// Parses the header of a RIFF/WAVE file held in `bytes`.
pub fn wav_info(bytes: &[u8]) -> Result<WavInfo, NotWav> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(NotWav("no RIFF/WAVE header"));
    }
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    let mut rest = &bytes[12..];
    while rest.len() >= 8 {
        let id = &rest[0..4];
        let size = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let body = &rest[8..];
        let present = size.min(body.len());
        if id == b"fmt " {
            if present < 16 {
                return Err(NotWav("short fmt chunk"));
            }
            let u16_at = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
            let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
            fmt = Some((u16_at(0), u16_at(2), rate, u16_at(14)));
        } else if id == b"data" {
            let (format, channels, sample_rate, bits_per_sample) =
                fmt.ok_or(NotWav("data before fmt"))?;
            return Ok(WavInfo {
                format,
                channels,
                sample_rate,
                bits_per_sample,
                data_bytes: present as u64,
            });
        }
        // Chunks are padded to an even length.
        let skip = present.saturating_add(present % 2).min(body.len());
        rest = &body[skip..];
    }
    Err(NotWav("no data chunk"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(rate: u32, samples: usize, data_size_field: Option<u32>) -> Vec<u8> {
        let data = samples * 2;
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF");
        v.extend_from_slice(&(36 + data as u32).to_le_bytes());
        v.extend_from_slice(b"WAVEfmt ");
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * 2).to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&16u16.to_le_bytes());
        v.extend_from_slice(b"LIST");
        v.extend_from_slice(&3u32.to_le_bytes());
        v.extend_from_slice(b"abc\0"); // odd size, padded
        v.extend_from_slice(b"data");
        v.extend_from_slice(&data_size_field.unwrap_or(data as u32).to_le_bytes());
        v.resize(v.len() + data, 0);
        v
    }

    #[test]
    fn reads_format_and_duration() {
        let info = wav_info(&wav(22050, 22050, None)).unwrap();
        assert_eq!(
            (info.format, info.channels, info.sample_rate),
            (1, 1, 22050)
        );
        assert_eq!(info.duration(), Duration::from_secs(1));
    }

    #[test]
    fn placeholder_sizes_count_only_the_bytes_present() {
        let info = wav_info(&wav(22050, 11025, Some(0x7fff_ffff))).unwrap();
        assert_eq!(info.duration(), Duration::from_millis(500));
    }

    #[test]
    fn rejects_other_files() {
        assert_eq!(wav_info(b"hello"), Err(NotWav("no RIFF/WAVE header")));
        let mut truncated = wav(8000, 10, None);
        truncated.truncate(30);
        assert!(wav_info(&truncated).is_err());
    }
}
