//! Background WAL checkpoints for file databases.
//!
//! Copying WAL pages back into the database (and the fsyncs around it) is a large share of the
//! cost of bulk inserts. A dedicated thread with its own connection runs passive checkpoints after
//! enough rows were written, so `insert_messages` mostly only appends to the WAL. The writer keeps
//! SQLite's automatic checkpoint as a safety net should the thread fall behind.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use rusqlite::Connection;

/// Rows written (roughly 3 WAL pages each for messages) before a checkpoint is worth its fsyncs.
const ROWS_PER_CHECKPOINT: u64 = 1000;
fn rows_per_checkpoint() -> u64 { std::env::var("TMPHACK_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(ROWS_PER_CHECKPOINT) }

#[derive(Default)]
struct State {
    rows_since_checkpoint: u64,
    stop: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(super) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread; `conn` must be a connection to the WAL-mode database.
    pub(super) fn start(conn: Connection) -> std::io::Result<Checkpointer> {
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new().name("rapport-store-checkpoint".into()).spawn({
            let shared = shared.clone();
            move || run(&conn, &shared)
        })?;
        Ok(Checkpointer { shared, thread: Some(thread) })
    }

    /// Tells the thread that `rows` more rows were committed.
    pub(super) fn rows_written(&self, rows: u64) {
        let mut state = self.shared.lock();
        state.rows_since_checkpoint += rows;
        if state.rows_since_checkpoint >= rows_per_checkpoint() {
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            // A panic in the thread has nothing left for us to clean up.
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, shared: &Shared) {
    loop {
        {
            let mut state = shared.lock();
            while state.rows_since_checkpoint < rows_per_checkpoint() && !state.stop {
                state = shared.wake.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            if state.stop {
                return;
            }
            state.rows_since_checkpoint = 0;
        }
        // PASSIVE never waits for the writer or for readers; whatever it cannot copy now is
        // copied next time (or by the writer's own automatic checkpoint).
        if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!("background WAL checkpoint failed: {err}");
        }
    }
}
