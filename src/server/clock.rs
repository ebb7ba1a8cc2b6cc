//! The server's clock: wall time in milliseconds since the Unix epoch, UTC.
//! Expiry and grace decisions read it, so tests move it forward instead of
//! sleeping; in production the offset stays 0.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        crate::db::service::now_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves this clock forward (tests: "a day later").
    pub fn advance(&self, by: Duration) {
        self.offset_ms.fetch_add(by.as_millis() as i64, Ordering::Relaxed);
    }

    /// Sets this clock this many milliseconds off the wall clock, either way
    /// (tests: an instance whose clock runs behind another's).
    pub fn set_offset_ms(&self, offset: i64) {
        self.offset_ms.store(offset, Ordering::Relaxed);
    }
}
