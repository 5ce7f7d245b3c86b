//! Speech: real audio from espeak-ng into a WAV file, the command line it gets, a
//! missing program (one warning, no failure), a hanging program killed at the timeout,
//! and a caller that is never blocked.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use doorguard::access::Speech;
use doorguard::config::Settings;
use doorguard::hw::speech::{self, Outcome, Output, Speaker, SpeechSettings, wav_info};

mod common;

use common::logs::subscriber_into;

fn defaults() -> SpeechSettings {
    Settings::defaults().speech
}

/// Waits for the outcome; the bound only keeps a broken test from hanging.
fn outcome(rx: &Receiver<Outcome>) -> Outcome {
    rx.recv_timeout(Duration::from_secs(60))
        .expect("an outcome within a minute")
}

fn has_program(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// An executable shell script in `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Everything logged in this test binary, for the "warned once" check.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        tracing::subscriber::set_global_default(subscriber_into(&buffer))
            .expect("first subscriber");
        buffer
    })
    .clone()
}

#[test]
fn espeak_ng_speaks_the_warning_into_a_wav_file_with_real_audio() {
    if !has_program("espeak-ng") {
        eprintln!("skipped: espeak-ng is not installed (apt install espeak-ng)");
        let probe = speech::probe(&defaults());
        assert!(!probe.ok);
        assert!(probe.lines[0].contains("espeak-ng not found"), "{probe:?}");
        return;
    }
    let probe = speech::probe(&defaults());
    assert!(probe.ok, "{probe:?}");
    assert!(probe.lines[0].contains("found"), "{probe:?}");
    eprintln!("{}", probe.lines.join("\n"));

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("warning.wav");
    let speaker = Speaker::with_output(defaults(), Output::WavFile(out.clone())).unwrap();
    assert_eq!(
        outcome(&speaker.speak(Speech::LockoutWarning)),
        Outcome::Spoken
    );

    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(&bytes[8..12], b"WAVE");
    let info = wav_info(&bytes).unwrap();
    eprintln!("{info:?}: {:?}", info.duration());
    assert_eq!(info.format, 1, "PCM");
    assert!(info.duration() > Duration::from_millis(500), "{info:?}");
    // Real audio, not silence: some 16-bit samples far from zero.
    let loud = bytes[bytes.len() - info.data_bytes as usize..]
        .chunks_exact(2)
        .filter(|s| i16::from_le_bytes([s[0], s[1]]).unsigned_abs() > 1000)
        .count();
    assert!(loud > 1000, "only {loud} loud samples");
}

#[test]
fn the_command_gets_voice_speed_file_and_text() {
    let dir = tempfile::tempdir().unwrap();
    let args = dir.path().join("args");
    let fake = script(
        dir.path(),
        "fake-espeak",
        &format!("for a in \"$@\"; do echo \"$a\"; done > {}", args.display()),
    );
    let mut s = defaults();
    s.command = fake.display().to_string();
    s.voice = "de".to_owned();
    s.speed = 175;
    s.text = "Zugang verweigert.".to_owned();
    let out = dir.path().join("out.wav");
    let speaker = Speaker::with_output(s.clone(), Output::WavFile(out.clone())).unwrap();
    assert_eq!(
        outcome(&speaker.speak(Speech::LockoutWarning)),
        Outcome::Spoken
    );
    let written = std::fs::read_to_string(&args).unwrap();
    let expected = [
        "-v",
        "de",
        "-s",
        "175",
        "-w",
        &out.display().to_string(),
        &s.text,
    ]
    .join("\n")
        + "\n";
    assert_eq!(written, expected);

    let speaker = Speaker::start(s.clone()).unwrap();
    assert_eq!(
        outcome(&speaker.speak(Speech::LockoutWarning)),
        Outcome::Spoken
    );
    let written = std::fs::read_to_string(&args).unwrap();
    assert_eq!(
        written, "-v\nde\n-s\n175\nZugang verweigert.\n",
        "the sound card"
    );
}

#[test]
fn a_missing_program_is_one_warning_and_no_failure() {
    let logs = logs();
    let mut s = defaults();
    s.command = "doorguard-test-no-such-speech-program".to_owned();
    let speaker = Speaker::start(s.clone()).unwrap();
    for _ in 0..3 {
        assert_eq!(
            outcome(&speaker.speak(Speech::LockoutWarning)),
            Outcome::Missing {
                program: s.command.clone()
            }
        );
    }
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("doorguard-test-no-such-speech-program"))
        .collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(warnings[0].contains("WARN"), "{}", warnings[0]);
    assert!(
        warnings[0].contains("speech program not found"),
        "{}",
        warnings[0]
    );

    let probe = speech::probe(&s);
    assert!(!probe.ok);
    assert_eq!(probe.lines.len(), 1);
    assert!(
        probe.lines[0].starts_with("speech: doorguard-test-no-such-speech-program not found"),
        "{probe:?}"
    );
}

#[test]
fn a_hanging_program_is_killed_at_the_timeout_without_blocking_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let hang = script(
        dir.path(),
        "hang",
        &format!("echo $$ >> {}\nexec sleep 30", pid_file.display()),
    );
    let mut s = defaults();
    s.command = hang.display().to_string();
    s.timeout = Duration::from_millis(300);
    let speaker = Speaker::start(s).unwrap();

    let asked = Instant::now();
    let first = speaker.speak(Speech::LockoutWarning);
    let second = speaker.speak(Speech::LockoutWarning);
    let third = speaker.speak(Speech::LockoutWarning);
    // The point of this bound: speaking never waits for the program.
    assert!(asked.elapsed() < Duration::from_secs(1));
    assert_eq!(outcome(&third), Outcome::Busy, "one plays, one waits");

    let timed_out = Outcome::TimedOut {
        after: Duration::from_millis(300),
    };
    assert_eq!(outcome(&first), timed_out);
    assert_eq!(outcome(&second), timed_out);
    let pids = std::fs::read_to_string(&pid_file).unwrap();
    assert_eq!(pids.lines().count(), 2);
    for pid in pids.lines() {
        let proc = PathBuf::from(format!("/proc/{pid}"));
        assert!(
            !proc.exists(),
            "the killed program {pid} is gone (and reaped)"
        );
    }
}

#[test]
fn dropping_the_speaker_stops_a_running_program() {
    let dir = tempfile::tempdir().unwrap();
    let hang = script(dir.path(), "hang", "exec sleep 30");
    let mut s = defaults();
    s.command = hang.display().to_string();
    let speaker = Speaker::start(s).unwrap(); // timeout 15 s
    let running = speaker.speak(Speech::LockoutWarning);
    std::thread::sleep(Duration::from_millis(100));
    let dropped = Instant::now();
    drop(speaker);
    // The point of this bound: shutting down does not wait for the timeout.
    assert!(dropped.elapsed() < Duration::from_secs(5));
    assert_eq!(outcome(&running), Outcome::Stopped);
}

#[test]
fn disabled_speech_says_so_and_a_configured_wav_is_used() {
    let mut s = defaults();
    s.enabled = false;
    let speaker = Speaker::start(s.clone()).unwrap();
    assert_eq!(
        outcome(&speaker.speak(Speech::LockoutWarning)),
        Outcome::Disabled
    );
    assert!(speech::probe(&s).ok);

    // A WAV file of one second of a 440 Hz tone, "played" to a file.
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    let rate = 8000u32;
    let samples: Vec<u8> = (0..rate)
        .flat_map(|i| {
            let t = f64::from(i) / f64::from(rate);
            let v = (t * 440.0 * std::f64::consts::TAU).sin() * 10_000.0;
            (v as i16).to_le_bytes()
        })
        .collect();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + samples.len() as u32).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    for field in [16u32, 1 | (1 << 16), rate, rate * 2, 2 | (16 << 16)] {
        bytes.extend_from_slice(&field.to_le_bytes());
    }
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&samples);
    std::fs::write(&wav, &bytes).unwrap();

    let mut s = defaults();
    s.wav = Some(wav.clone());
    let out = dir.path().join("played.wav");
    let speaker = Speaker::with_output(s.clone(), Output::WavFile(out.clone())).unwrap();
    assert_eq!(
        outcome(&speaker.speak(Speech::LockoutWarning)),
        Outcome::Spoken
    );
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    let probe = speech::probe(&s);
    let text = probe.lines.join("\n");
    assert!(
        text.contains("is 1.0 s of audio, 8000 Hz, 1 channel"),
        "{text}"
    );
}

#[test]
fn a_complaint_on_stderr_with_success_is_logged() {
    // What espeak-ng does without a sound card: ALSA errors, exit status 0.
    let logs = logs();
    let dir = tempfile::tempdir().unwrap();
    let fake = script(
        dir.path(),
        "fake-espeak-no-card",
        "echo 'ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM default' >&2\n\
         echo 'error: No such file or directory' >&2",
    );
    let mut s = defaults();
    s.command = fake.display().to_string();
    let speaker = Speaker::start(s).unwrap();
    assert_eq!(
        outcome(&speaker.speak(Speech::LockoutWarning)),
        Outcome::Spoken
    );
    drop(speaker);
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        text.lines().any(|l| l.contains("WARN")
            && l.contains("no sound card?")
            && l.contains("fake-espeak-no-card")
            && l.contains("error: No such file or directory")),
        "{text}"
    );
}
