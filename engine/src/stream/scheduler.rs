//! Fair sharing of one loaded model between many live streams: at most N decodes run at once,
//! and a free slot always goes to the stream that has waited longest, so a slow stream cannot
//! starve the others. Synchronous (Mutex/Condvar): usable from `spawn_blocking` and plain threads.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{LiveStream, StreamEvent};
use crate::recognize::available_threads;
use crate::Result;

/// Shares decode slots between streams, first come first served, and reports streams that
/// fall behind. Cloning gives another handle to the same scheduler.
#[derive(Debug, Clone)]
pub struct DecodeScheduler {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    turn_changed: Condvar,
}

#[derive(Debug)]
struct State {
    max_concurrent: usize,
    lag_threshold_s: f64,
    running: usize,
    /// Tickets of the callers waiting for a slot, oldest first.
    waiting: VecDeque<u64>,
    next_ticket: u64,
    granted: u64,
    backpressure_reports: u64,
    max_lag_s: f64,
}

/// A snapshot of the scheduler's counters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SchedulerStats {
    pub max_concurrent: usize,
    /// Decodes running now.
    pub running: usize,
    /// Callers waiting for a slot now.
    pub waiting: usize,
    /// Slots granted so far.
    pub granted: u64,
    /// Backpressure events emitted so far.
    pub backpressure_reports: u64,
    /// The most undecoded audio any stream had when it got a slot, in seconds.
    pub max_lag_s: f64,
}

/// A held decode slot; dropping it frees the slot for the next waiter.
#[derive(Debug)]
pub struct DecodePermit {
    shared: Arc<Shared>,
    waited: Duration,
}

impl DecodePermit {
    /// How long the holder waited for the slot.
    pub fn waited(&self) -> Duration {
        self.waited
    }
}

impl Drop for DecodePermit {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.running = state.running.saturating_sub(1);
        drop(state);
        self.shared.turn_changed.notify_all();
    }
}

impl Shared {
    /// The state is plain counters that stay consistent even if a holder panicked, so a
    /// poisoned lock is taken over rather than turned into an error for every other stream.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl DecodeScheduler {
    /// Undecoded audio, in seconds, beyond which a stream gets a [`StreamEvent::Backpressure`].
    pub const DEFAULT_LAG_THRESHOLD_S: f64 = 3.0;

    /// A scheduler allowing `max_concurrent` decodes at once (at least 1).
    pub fn new(max_concurrent: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    max_concurrent: max_concurrent.max(1),
                    lag_threshold_s: Self::DEFAULT_LAG_THRESHOLD_S,
                    running: 0,
                    waiting: VecDeque::new(),
                    next_ticket: 0,
                    granted: 0,
                    backpressure_reports: 0,
                    max_lag_s: 0.0,
                }),
                turn_changed: Condvar::new(),
            }),
        }
    }

    /// As many concurrent decodes as this machine's cores hold when each decode uses
    /// `threads_per_decode` threads (the recognizer's thread count; 0 means all cores).
    pub fn for_threads_per_decode(threads_per_decode: usize) -> Self {
        let cores = available_threads();
        let per_decode = if threads_per_decode == 0 {
            cores
        } else {
            threads_per_decode
        };
        Self::new(cores / per_decode.max(1))
    }

    /// Sets the undecoded-audio threshold for backpressure reports.
    pub fn set_lag_threshold(&self, seconds: f64) {
        self.shared.lock().lag_threshold_s = seconds.max(0.0);
    }

    pub fn max_concurrent(&self) -> usize {
        self.shared.lock().max_concurrent
    }

    pub fn stats(&self) -> SchedulerStats {
        let state = self.shared.lock();
        SchedulerStats {
            max_concurrent: state.max_concurrent,
            running: state.running,
            waiting: state.waiting.len(),
            granted: state.granted,
            backpressure_reports: state.backpressure_reports,
            max_lag_s: state.max_lag_s,
        }
    }

    /// Blocks until a decode slot is free and every earlier caller has had theirs.
    pub fn acquire(&self) -> DecodePermit {
        let asked = Instant::now();
        let mut state = self.shared.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push_back(ticket);
        while !(state.running < state.max_concurrent && state.waiting.front() == Some(&ticket)) {
            state = self
                .shared
                .turn_changed
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        state.waiting.pop_front();
        state.running += 1;
        state.granted += 1;
        let more_slots = state.running < state.max_concurrent && !state.waiting.is_empty();
        drop(state);
        if more_slots {
            // The next waiter may be able to start too.
            self.shared.turn_changed.notify_all();
        }
        DecodePermit {
            shared: Arc::clone(&self.shared),
            waited: asked.elapsed(),
        }
    }

    /// Runs [`LiveStream::decode_step`] in turn, preceded by a backpressure report when the
    /// stream has more undecoded audio than the threshold.
    pub fn decode_step(&self, stream: &mut LiveStream) -> Result<Vec<StreamEvent>> {
        self.run(stream, LiveStream::decode_step)
    }

    /// Runs [`LiveStream::finish`] in turn.
    pub fn finish(&self, stream: &mut LiveStream) -> Result<Vec<StreamEvent>> {
        self.run(stream, LiveStream::finish)
    }

    fn run(
        &self,
        stream: &mut LiveStream,
        step: fn(&mut LiveStream) -> Result<Vec<StreamEvent>>,
    ) -> Result<Vec<StreamEvent>> {
        let permit = self.acquire();
        let behind_s = stream.undecoded_seconds();
        let report = {
            let mut state = self.shared.lock();
            state.max_lag_s = state.max_lag_s.max(behind_s);
            let report = behind_s > state.lag_threshold_s;
            if report {
                state.backpressure_reports += 1;
            }
            report
        };
        if report {
            tracing::debug!(
                behind_s,
                waited_s = permit.waited().as_secs_f64(),
                "stream behind real time"
            );
        }
        let mut events = Vec::new();
        if report {
            events.push(StreamEvent::Backpressure { behind_s });
        }
        events.extend(step(stream)?);
        drop(permit);
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_granted_in_arrival_order() {
        let scheduler = DecodeScheduler::new(1);
        let first = scheduler.acquire();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for id in 0..4 {
            let queued = scheduler.clone();
            let order = Arc::clone(&order);
            handles.push(std::thread::spawn(move || {
                let _permit = queued.acquire();
                order.lock().expect("order").push(id);
            }));
            // Each thread queues before the next one starts.
            while scheduler.stats().waiting < id + 1 {
                std::thread::yield_now();
            }
        }
        assert_eq!(scheduler.stats().running, 1);
        drop(first);
        for h in handles {
            h.join().expect("thread");
        }
        assert_eq!(*order.lock().expect("order"), vec![0, 1, 2, 3]);
        let stats = scheduler.stats();
        assert_eq!((stats.running, stats.waiting, stats.granted), (0, 0, 5));
    }

    #[test]
    fn several_slots_run_together() {
        let scheduler = DecodeScheduler::new(2);
        let a = scheduler.acquire();
        let b = scheduler.acquire();
        assert_eq!(scheduler.stats().running, 2);
        drop(a);
        let _c = scheduler.acquire();
        drop(b);
        assert_eq!(scheduler.stats().running, 1);
        assert!(DecodeScheduler::for_threads_per_decode(usize::MAX).max_concurrent() >= 1);
    }
}
