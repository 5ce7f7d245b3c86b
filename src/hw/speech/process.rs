//! Running an external program with a deadline: spawn, wait, kill at the timeout or
//! on request, and collect what it printed.
//!
//! Owns the child processes of speech. It must never wait on a child without a bound:
//! the wait polls, and output is read on helper threads that are only waited for
//! briefly (a grandchild that keeps a pipe open cannot hold it up).

use std::io::{self, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

/// How often a running child is checked.
const POLL: Duration = Duration::from_millis(10);
/// At most this much of each output stream is kept.
const KEEP: usize = 64 * 1024;
/// How long the output is waited for once the child has ended.
const DRAIN: Duration = Duration::from_millis(500);

/// How a run ended.
#[derive(Debug)]
pub(super) enum Ran {
    /// The program exited by itself.
    Exited {
        status: ExitStatus,
        stdout: String,
        stderr: String,
    },
    /// Killed at the timeout.
    TimedOut,
    /// Killed because `stop` was set.
    Stopped,
}

/// Runs `command` (stdin closed, output captured), killing it after `timeout` or as
/// soon as `stop` is set. Errors are those of spawning (e.g. `NotFound`).
pub(super) fn run(command: &mut Command, timeout: Duration, stop: &AtomicBool) -> io::Result<Ran> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Ran::Exited {
                status,
                stdout: collect(stdout),
                stderr: collect(stderr),
            });
        }
        if stop.load(Ordering::SeqCst) {
            kill(&mut child);
            return Ok(Ran::Stopped);
        }
        if started.elapsed() >= timeout {
            kill(&mut child);
            return Ok(Ran::TimedOut);
        }
        thread::sleep(POLL);
    }
}

/// Kills and reaps the child. Only the child itself: a wrapper script should `exec`
/// the player so that the player is the child.
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Reads a stream to its end on a helper thread, keeping the first [`KEEP`] bytes.
fn drain(mut stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let spawned = thread::Builder::new()
        .name("speech-output".to_owned())
        .spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let room = KEEP.saturating_sub(kept.len());
                        kept.extend_from_slice(&buf[..n.min(room)]);
                    }
                }
            }
            let _ = tx.send(String::from_utf8_lossy(&kept).into_owned());
        });
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "cannot read the speech program's output");
    }
    rx
}

fn collect(output: Option<Receiver<String>>) -> String {
    output
        .and_then(|rx| rx.recv_timeout(DRAIN).ok())
        .unwrap_or_default()
}
