//! The rebuild's rate limit: orders start at most one per pause, however many run at once, so
//! a job cannot starve the order service of table capacity.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(super) struct Pacer {
    /// Time between two orders' starts (zero: no limit).
    pause: Duration,
    /// When the next order may start.
    next_slot: Mutex<Instant>,
}

impl Pacer {
    /// At most `orders_per_second` (0: no limit).
    pub(super) fn new(orders_per_second: u32) -> Self {
        let pause = match orders_per_second {
            0 => Duration::ZERO,
            n => Duration::from_secs(1) / n,
        };
        Pacer { pause, next_slot: Mutex::new(Instant::now()) }
    }

    /// Waits for this order's slot; `false`, at once, when an order starting then and taking
    /// `margin` would end past `deadline`.
    pub(super) async fn wait(&self, deadline: Instant, margin: Duration) -> bool {
        let slot = {
            let mut next = self.next_slot.lock().expect("pacer lock");
            let slot = (*next).max(Instant::now());
            if slot + margin > deadline {
                return false;
            }
            *next = slot + self.pause;
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
        true
    }
}
