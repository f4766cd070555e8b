//! The event bridge: engine events go to the window in batches (at most one every 50 ms), so
//! a burst of thousands of log lines costs the window a few dozen messages, and every event
//! is kept for the window to replay after a reload.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agriflux_core::pipeline::{EventSink, RunEvent, StepId};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Runtime};
use tokio::time::MissedTickBehavior;
use ts_rs::TS;

/// The name of the one event the window listens to.
pub const EVENT_NAME: &str = "run-events";

/// How often queued events are sent.
const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

/// Log lines kept per step (at least) for a reloaded window; older ones are dropped.
const KEPT_LOG_LINES_PER_STEP: usize = 2_000;

/// A batch of consecutive events of one run, as sent to the window.
#[derive(Clone, Debug, Serialize, TS)]
pub struct EventBatch {
    /// The run the events belong to.
    pub run_id: String,
    /// Sequence number of the first event (0 is `run_started`).
    pub first_seq: usize,
    /// The events, in order.
    pub events: Vec<RunEvent>,
}

/// Everything the window needs to rebuild a run's view.
#[derive(Clone, Debug, Default, Serialize, TS)]
pub struct LiveRun {
    /// The run's id (empty until the engine has started it).
    pub run_id: String,
    /// Whether the run is still going.
    pub running: bool,
    /// Sequence number of the next event.
    pub next_seq: usize,
    /// The events kept, in order (log lines trimmed per step).
    pub events: Vec<RunEvent>,
}

#[derive(Default)]
struct Journal {
    live: LiveRun,
    logs_per_step: HashMap<StepId, usize>,
    queued: Vec<RunEvent>,
    queued_first_seq: usize,
}

/// One run's events: kept for replay and queued for the window.
pub struct RunJournal<R: Runtime> {
    app: AppHandle<R>,
    state: Mutex<Journal>,
}

impl<R: Runtime> RunJournal<R> {
    /// A journal for a new run that sends to `app`'s windows; a timer task flushes it until
    /// the run has ended and everything was sent.
    pub fn start(app: AppHandle<R>) -> Arc<Self> {
        let journal = Arc::new(Self {
            app,
            state: Mutex::new(Journal {
                live: LiveRun {
                    running: true,
                    ..LiveRun::default()
                },
                ..Journal::default()
            }),
        });
        let flusher = Arc::clone(&journal);
        // A timer task on the runtime Tauri already runs, not a thread of its own.
        tauri::async_runtime::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_INTERVAL);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            // The first tick is immediate; the first batch goes out one interval in.
            tick.tick().await;
            loop {
                tick.tick().await;
                if flusher.flush() {
                    break;
                }
            }
        });
        journal
    }

    /// Sends the queued events; returns true once the run has ended and nothing is left.
    fn flush(&self) -> bool {
        let (batch, finished) = {
            let mut state = self.lock();
            let events = std::mem::take(&mut state.queued);
            let batch = EventBatch {
                run_id: state.live.run_id.clone(),
                first_seq: state.queued_first_seq,
                events,
            };
            state.queued_first_seq = state.live.next_seq;
            (batch, !state.live.running)
        };
        if !batch.events.is_empty()
            && let Err(e) = self.app.emit(EVENT_NAME, &batch)
        {
            tracing::warn!("cannot send events to the window: {e}");
        }
        finished
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Journal> {
        // A panic while holding the lock cannot leave the journal inconsistent (each update
        // is a push), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the run ended (after its last event); the flusher sends the rest and stops.
    pub fn finish(&self) {
        self.lock().live.running = false;
    }

    /// A copy of what the window needs to catch up.
    pub fn snapshot(&self) -> LiveRun {
        self.lock().live.clone()
    }

    /// The run's id, once the engine has announced it.
    pub fn run_id(&self) -> Option<String> {
        let state = self.lock();
        (!state.live.run_id.is_empty()).then(|| state.live.run_id.clone())
    }
}

impl<R: Runtime> EventSink for RunJournal<R> {
    fn emit(&self, event: &RunEvent) {
        let mut state = self.lock();
        if let RunEvent::RunStarted { run_id, .. } = event {
            state.live.run_id = run_id.clone();
        }
        state.live.events.push(event.clone());
        if let RunEvent::StepLog { step, .. } = event {
            let step = step.clone();
            let count = state.logs_per_step.entry(step.clone()).or_default();
            *count += 1;
            // Keep the newest lines: drop the oldest half once twice the limit is reached,
            // so trimming costs little per line.
            if *count >= 2 * KEPT_LOG_LINES_PER_STEP {
                *count = KEPT_LOG_LINES_PER_STEP;
                let mut to_drop = KEPT_LOG_LINES_PER_STEP;
                state.live.events.retain(|e| match e {
                    RunEvent::StepLog { step: s, .. } if *s == step && to_drop > 0 => {
                        to_drop -= 1;
                        false
                    }
                    _ => true,
                });
            }
        }
        state.live.next_seq += 1;
        state.queued.push(event.clone());
    }
}
