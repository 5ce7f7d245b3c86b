//! [`Core`] on its own thread: requests in through a channel, views out through a
//! callback. The thread also ticks the core (lockouts ending, sessions timing out, a
//! state changed at the shell) at least once a second.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use chrono::Utc;

use super::{Core, View};
use crate::access::Event;

/// Work for the core thread, run with the core in hand.
pub type Job = Box<dyn FnOnce(&mut Core) + Send>;

/// A request to the core thread.
pub enum Request {
    /// A PIN submitted at an instant.
    Pin(zeroize::Zeroizing<String>, Instant),
    /// Any other work (the admin panel's).
    Job(Job),
    /// A door, tamper or exit-button event from the GPIO inputs.
    Device(Event),
}

/// [`Core`] on its own thread: requests in, views out through `on_view`.
pub struct CoreThread {
    tx: Sender<Request>,
    thread: Option<JoinHandle<()>>,
}

impl CoreThread {
    /// Starts the thread; `on_view` is called from it with every view to show.
    pub fn start(
        core: Core,
        on_view: impl FnMut(View) + Send + 'static,
    ) -> Result<CoreThread, std::io::Error> {
        let (tx, rx) = mpsc::channel();
        CoreThread::start_with(core, (tx, rx), on_view)
    }

    /// [`CoreThread::start`] on a channel made earlier, so that devices started before
    /// the core (the GPIO, first of all) can already hold a sender.
    pub fn start_with(
        mut core: Core,
        (tx, rx): (Sender<Request>, Receiver<Request>),
        mut on_view: impl FnMut(View) + Send + 'static,
    ) -> Result<CoreThread, std::io::Error> {
        let thread = thread::Builder::new().name("kiosk".into()).spawn(move || {
            loop {
                let wait = core
                    .next_deadline()
                    .and_then(|d| (d - Utc::now()).to_std().ok())
                    .unwrap_or(Duration::from_secs(1))
                    .min(Duration::from_secs(1));
                match rx.recv_timeout(wait) {
                    Ok(Request::Pin(digits, at)) => on_view(core.pin(&digits, at, Utc::now())),
                    Ok(Request::Job(job)) => job(&mut core),
                    Ok(Request::Device(event)) => {
                        if let Some(view) = core.device(event, Utc::now()) {
                            on_view(view);
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                if let Some(view) = core.tick(Utc::now()) {
                    on_view(view);
                }
            }
        })?;
        Ok(CoreThread {
            tx,
            thread: Some(thread),
        })
    }

    /// Sends a request; false when the thread has stopped.
    pub fn send(&self, request: Request) -> bool {
        self.tx.send(request).is_ok()
    }
}

impl Drop for CoreThread {
    fn drop(&mut self) {
        let (tx, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.tx, tx));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
