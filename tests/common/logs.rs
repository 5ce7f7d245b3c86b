//! Log lines captured in memory, for tests that check what the kiosk warned about
//! (and that no secret is among it).

use std::io::Write;
use std::sync::{Arc, Mutex};

/// A writer appending into a shared buffer.
pub struct SharedWriter(pub Arc<Mutex<Vec<u8>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A plain-text tracing subscriber that writes into `buffer`.
pub fn subscriber_into(
    buffer: &Arc<Mutex<Vec<u8>>>,
) -> impl tracing::Subscriber + Send + Sync + 'static {
    let writer = Arc::clone(buffer);
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || SharedWriter(writer.clone()))
        .finish()
}
