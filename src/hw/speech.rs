//! Speech: the lockout warning spoken by `espeak-ng` (or a WAV file played with
//! `aplay`), on the speaker's own thread, stopped at a timeout.
//!
//! Owns the speech programs: no other module runs `espeak-ng` or `aplay`. It must never
//! block its caller ([`Speaker::speak`] returns at once), never fail the kiosk (a
//! missing program is one `tracing::warn!`, then silence), and never leave a player
//! running past [`SpeechSettings::timeout`].
//!
//! The command line is `COMMAND -v VOICE -s SPEED TEXT` (with `-w FILE` before the text
//! when [`Output::WavFile`] asks for a file instead of the sound card), or
//! `aplay -q WAV` when [`SpeechSettings::wav`] is set. While one warning plays, one
//! more may wait; further requests are answered [`Outcome::Busy`] (a lockout speaks
//! once, so nothing is lost that matters).
//!
//! # Troubleshooting
//!
//! - **`speech: espeak-ng not found`** (`devices check`) or the warning `speech
//!   program not found`: `sudo apt install espeak-ng`, or set `speech.command` to the
//!   program's full path. The kiosk works without it.
//! - **Silence although espeak-ng runs**, and a warning `speech program complained
//!   (no sound card?)` with `Unknown PCM default` or `error: No such file or
//!   directory`: espeak-ng found no ALSA device (it still exits 0). `aplay -l` lists
//!   the cards; the service user needs group `audio`; on a Pi without HDMI audio
//!   select the headphone jack with `raspi-config`. Try `espeak-ng -v en "test"` as
//!   the service user.
//! - **`espeak-ng exited with exit status: 1`** and a message about the voice: the
//!   voice does not exist; `espeak-ng --voices` lists them (`en`, `en-us`, `de`, …).
//! - **The warning is cut off**: it took longer than `speech.timeout`; raise the
//!   timeout or the speed. A wrapper script as `speech.command` must `exec` the player,
//!   or only the script is killed at the timeout.

mod process;
mod wav;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

pub use wav::{NotWav, WavInfo, wav_info};

use crate::access::Speech;
use crate::hw::Probe;
use process::Ran;

/// The player of [`SpeechSettings::wav`].
pub const WAV_PLAYER: &str = "aplay";

/// Requests accepted at a time: one playing, one waiting.
const QUEUE: usize = 2;

/// How long `devices check` waits for `COMMAND --version`.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// `[speech]` settings, resolved from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechSettings {
    /// Speak the lockout warning at all (default true).
    pub enabled: bool,
    /// The program (default `espeak-ng`).
    pub command: String,
    /// espeak-ng voice (default `en`).
    pub voice: String,
    /// Words per minute (default 150).
    pub speed: u32,
    /// The warning (default "Access denied. You have been photographed and the owner has
    /// been notified.").
    pub text: String,
    /// A WAV file played with `aplay` instead of speaking, if set.
    pub wav: Option<PathBuf>,
    /// The player is killed after this long (default 15 s).
    pub timeout: Duration,
}

/// Where the sound goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// The sound card (the kiosk).
    SoundCard,
    /// A WAV file, overwritten each time (tests, a kiosk without a speaker): espeak-ng
    /// writes it with `-w`; a configured [`SpeechSettings::wav`] is copied to it.
    WavFile(PathBuf),
}

/// How one request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The program ran to its end successfully.
    Spoken,
    /// Speech is disabled in the configuration.
    Disabled,
    /// Another warning was already playing and one waiting: this one was dropped.
    Busy,
    /// The program does not exist (warned about once per speaker).
    Missing {
        /// The program looked for.
        program: String,
    },
    /// Still running at the timeout: killed.
    TimedOut {
        /// The timeout.
        after: Duration,
    },
    /// The program failed or could not be run.
    Failed {
        /// What went wrong, with the program's own message if it gave one.
        detail: String,
    },
    /// The speaker was dropped first.
    Stopped,
}

/// Speech errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The speaker's thread could not be started.
    #[error("cannot start the speech thread: {0}")]
    Thread(std::io::Error),
}

struct Job {
    text: String,
    reply: Sender<Outcome>,
}

/// Speaks on its own thread. Dropping it kills a running player and stops the thread.
#[derive(Debug)]
pub struct Speaker {
    settings: SpeechSettings,
    tx: Option<Sender<Job>>,
    stop: Arc<AtomicBool>,
    /// Requests accepted and not finished.
    pending: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Speaker {
    /// A speaker that plays on the sound card.
    pub fn start(settings: SpeechSettings) -> Result<Speaker, Error> {
        Speaker::with_output(settings, Output::SoundCard)
    }

    /// A speaker that plays to `output`.
    pub fn with_output(settings: SpeechSettings, output: Output) -> Result<Speaker, Error> {
        let (tx, rx) = mpsc::channel::<Job>();
        let stop = Arc::new(AtomicBool::new(false));
        let pending = Arc::new(AtomicUsize::new(0));
        let worker = Worker {
            settings: settings.clone(),
            output,
            stop: stop.clone(),
            pending: pending.clone(),
            warned_missing: false,
        };
        let thread = thread::Builder::new()
            .name("speech".to_owned())
            .spawn(move || worker.run(rx))
            .map_err(Error::Thread)?;
        Ok(Speaker {
            settings,
            tx: Some(tx),
            stop,
            pending,
            thread: Some(thread),
        })
    }

    /// Speaks `what` in the background and returns at once; the receiver gets the
    /// [`Outcome`] when it is known (ignore it if you like).
    pub fn speak(&self, what: Speech) -> Receiver<Outcome> {
        let text = match what {
            Speech::LockoutWarning => self.settings.text.clone(),
        };
        let (reply, outcome) = mpsc::channel();
        if !self.settings.enabled {
            let _ = reply.send(Outcome::Disabled);
            return outcome;
        }
        let Some(tx) = &self.tx else {
            let _ = reply.send(Outcome::Stopped);
            return outcome;
        };
        let accepted = self
            .pending
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < QUEUE).then_some(n + 1)
            })
            .is_ok();
        if !accepted {
            tracing::debug!("speech busy: warning dropped");
            let _ = reply.send(Outcome::Busy);
            return outcome;
        }
        if let Err(mpsc::SendError(job)) = tx.send(Job { text, reply }) {
            let _ = job.reply.send(Outcome::Stopped);
        }
        outcome
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        drop(self.tx.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the speech thread panicked");
        }
    }
}

struct Worker {
    settings: SpeechSettings,
    output: Output,
    stop: Arc<AtomicBool>,
    pending: Arc<AtomicUsize>,
    warned_missing: bool,
}

impl Worker {
    fn run(mut self, rx: Receiver<Job>) {
        for job in rx {
            let outcome = if self.stop.load(Ordering::SeqCst) {
                Outcome::Stopped
            } else {
                self.play(&job.text)
            };
            self.log(&outcome);
            self.pending.fetch_sub(1, Ordering::SeqCst);
            let _ = job.reply.send(outcome);
        }
    }

    fn log(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Missing { program } if !self.warned_missing => {
                self.warned_missing = true;
                tracing::warn!(
                    program,
                    "speech program not found: the warning is not spoken (install espeak-ng \
                     or set speech.command); not reported again"
                );
            }
            Outcome::TimedOut { after } => {
                tracing::warn!(?after, "speech still running at the timeout: killed");
            }
            Outcome::Failed { detail } => tracing::warn!(detail, "speech failed"),
            _ => {}
        }
    }

    fn play(&self, text: &str) -> Outcome {
        let s = &self.settings;
        if let (Some(wav), Output::WavFile(out)) = (&s.wav, &self.output) {
            return match std::fs::copy(wav, out) {
                Ok(_) => Outcome::Spoken,
                Err(e) => Outcome::Failed {
                    detail: format!("cannot copy {} to {}: {e}", wav.display(), out.display()),
                },
            };
        }
        let (program, mut command) = match &s.wav {
            Some(wav) => {
                let mut c = Command::new(WAV_PLAYER);
                c.arg("-q").arg(wav);
                (WAV_PLAYER.to_owned(), c)
            }
            None => {
                let mut c = Command::new(&s.command);
                c.arg("-v").arg(&s.voice).arg("-s").arg(s.speed.to_string());
                if let Output::WavFile(out) = &self.output {
                    c.arg("-w").arg(out);
                }
                c.arg(text);
                (s.command.clone(), c)
            }
        };
        run_outcome(&program, &mut command, s.timeout, &self.stop)
    }
}

fn run_outcome(
    program: &str,
    command: &mut Command,
    timeout: Duration,
    stop: &AtomicBool,
) -> Outcome {
    match process::run(command, timeout, stop) {
        Ok(Ran::Exited { status, stderr, .. }) if status.success() => {
            // espeak-ng exits 0 even when ALSA has no device ("Unknown PCM default");
            // its complaint is the only sign the warning was not heard.
            if let Some(last) = stderr.lines().rev().map(str::trim).find(|l| !l.is_empty()) {
                tracing::warn!(
                    program,
                    message = last,
                    "speech program complained (no sound card?)"
                );
            }
            Outcome::Spoken
        }
        Ok(Ran::Exited { status, stderr, .. }) => {
            let message = stderr.lines().next().unwrap_or("").trim();
            Outcome::Failed {
                detail: if message.is_empty() {
                    format!("{program} exited with {status}")
                } else {
                    format!("{program} exited with {status}: {message}")
                },
            }
        }
        Ok(Ran::TimedOut) => Outcome::TimedOut { after: timeout },
        Ok(Ran::Stopped) => Outcome::Stopped,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Outcome::Missing {
            program: program.to_owned(),
        },
        Err(e) => Outcome::Failed {
            detail: format!("cannot run {program}: {e}"),
        },
    }
}

/// Probes speech for `devices check`: espeak-ng found (with its version) or not, or
/// the WAV file and `aplay`. Runs `COMMAND --version`; plays nothing.
pub fn probe(settings: &SpeechSettings) -> Probe {
    if !settings.enabled {
        return Probe {
            ok: true,
            lines: vec!["speech: disabled (speech.enabled = false)".to_owned()],
        };
    }
    static NEVER: AtomicBool = AtomicBool::new(false);
    let (program, fix) = match &settings.wav {
        Some(_) => (WAV_PLAYER, "sudo apt install alsa-utils"),
        None => (
            settings.command.as_str(),
            "sudo apt install espeak-ng, or set speech.command",
        ),
    };
    let mut command = Command::new(program);
    command.arg("--version");
    let mut probe = match process::run(&mut command, PROBE_TIMEOUT, &NEVER) {
        Ok(Ran::Exited {
            status,
            stdout,
            stderr,
        }) if status.success() => {
            let version = stdout
                .lines()
                .chain(stderr.lines())
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("version unknown")
                .to_owned();
            Probe {
                ok: true,
                lines: vec![format!("speech: {program} found: {version}")],
            }
        }
        Ok(Ran::Exited { status, .. }) => Probe {
            ok: false,
            lines: vec![format!(
                "speech: `{program} --version` exited with {status}"
            )],
        },
        Ok(Ran::TimedOut | Ran::Stopped) => Probe {
            ok: false,
            lines: vec![format!("speech: `{program} --version` did not answer")],
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Probe {
            ok: false,
            lines: vec![format!(
                "speech: {program} not found ({fix}); the warning will not be spoken"
            )],
        },
        Err(e) => Probe {
            ok: false,
            lines: vec![format!("speech: cannot run {program}: {e}")],
        },
    };
    if let Some(path) = &settings.wav {
        match std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|b| wav_info(&b).map_err(|e| e.to_string()))
        {
            Ok(info) => probe.lines.push(format!(
                "speech: {} is {:.1} s of audio, {} Hz, {} channel(s)",
                path.display(),
                info.duration().as_secs_f64(),
                info.sample_rate,
                info.channels
            )),
            Err(e) => {
                probe.ok = false;
                probe.lines.push(format!("speech: {}: {e}", path.display()));
            }
        }
    }
    probe
}
