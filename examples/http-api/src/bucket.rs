//! The client-side rate limit: a token bucket that spaces the requests to the API.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Hands out one token per request, at most `rate` a second: each caller reserves the next
/// free slot and waits for it, so concurrent calls queue fairly instead of all failing.
#[derive(Debug)]
pub struct Bucket {
    /// The time between two tokens.
    interval: Duration,
    /// When the next token is free.
    next: Mutex<Instant>,
}

impl Bucket {
    /// At most `rate` requests a second (a rate that is not a positive number means one).
    pub fn per_second(rate: f64) -> Bucket {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        Bucket {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for a token.
    pub async fn take(&self) {
        let at = {
            let mut next = self
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}
