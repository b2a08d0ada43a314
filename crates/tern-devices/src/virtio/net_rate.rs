//! A network card's bandwidth limit (`--netdev ...,rate-kbps=N`): one token bucket per
//! direction, filled at the rate, holding at most a short burst. The card takes a
//! frame from the guest's transmit queue, or from the backend for the guest, only
//! while its bucket is not in debt; each frame then takes its length from the bucket,
//! which may go below zero by that one frame. Frames are held back, never dropped
//! here: the guest's transmit queue fills and its driver waits, and received frames
//! wait in the backend's bounded queue, as behind a slower link. The card comes back
//! to them at the machine's next device poll (every 10 ms at most).

use std::time::Instant;

/// The smallest burst a bucket holds, in bytes (a few full frames: below that a
/// low rate would admit frames in lockstep with the poll interval).
const MIN_BURST: f64 = 16.0 * 1024.0;
/// A bucket holds this many seconds' worth of the rate at most.
const BURST_SECONDS: f64 = 0.05;

/// One direction's token bucket.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Bytes per second.
    rate: f64,
    /// Most bytes it holds.
    burst: f64,
    /// Bytes it holds now (negative: in debt).
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket for `kbps` kilobits (1000 bits) per second.
    pub fn new(kbps: u64) -> TokenBucket {
        let rate = kbps as f64 * 1000.0 / 8.0;
        let burst = (rate * BURST_SECONDS).max(MIN_BURST);
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    /// Adds what the rate earned since the last look.
    fn refill(&mut self, now: Instant) {
        let earned = now.saturating_duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.burst);
        self.last = now;
    }

    /// Whether a frame may pass now (the bucket is not in debt).
    pub fn ready(&mut self) -> bool {
        self.refill(Instant::now());
        self.tokens > 0.0
    }

    /// Charges a frame of `bytes` that passed.
    pub fn take(&mut self, bytes: usize) {
        self.tokens -= bytes as f64;
    }
}

/// The limits of a card: transmit (guest to network) and receive.
#[derive(Debug, Clone)]
pub struct RateLimit {
    /// Guest to network.
    pub tx: TokenBucket,
    /// Network to guest.
    pub rx: TokenBucket,
}

impl RateLimit {
    /// `kbps` each way.
    pub fn new(kbps: u64) -> RateLimit {
        RateLimit {
            tx: TokenBucket::new(kbps),
            rx: TokenBucket::new(kbps),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_passes_its_rate_over_time() {
        // 8000 kbps = 1 MB/s; frames of 1000 bytes offered as fast as they pass.
        let mut b = TokenBucket::new(8000);
        let start = Instant::now();
        let mut sent = 0usize;
        while start.elapsed() < Duration::from_millis(300) {
            if b.ready() {
                b.take(1000);
                sent += 1000;
            } else {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let rate = (sent as f64 - b.burst) / secs;
        assert!(
            (0.8e6..1.2e6).contains(&rate),
            "{rate} bytes/s for a 1 MB/s bucket"
        );
    }

    #[test]
    fn a_bucket_in_debt_refuses_until_refilled() {
        let mut b = TokenBucket::new(80); // 10 kB/s, burst 16 KiB
        b.take(40_000);
        assert!(!b.ready());
        b.last -= Duration::from_secs(3);
        assert!(b.ready());
    }
}
