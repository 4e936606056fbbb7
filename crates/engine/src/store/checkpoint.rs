//! Background WAL checkpoints for file databases.
//!
//! Copying WAL pages back into the database (and the fsyncs around it) is a large share of the
//! cost of bulk inserts. A dedicated thread with its own connection runs passive checkpoints after
//! enough rows were written, so `insert_messages` mostly only appends to the WAL. The writer keeps
//! SQLite's automatic checkpoint as a safety net should the thread fall behind.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use rusqlite::Connection;

/// Rows written before a checkpoint is worth its two fsyncs. A message costs about three WAL
/// pages (its dedupe index entries land on random pages), so this is some 48 MiB of WAL.
const ROWS_PER_CHECKPOINT: u64 = 4000;

#[derive(Default)]
struct State {
    rows_since_checkpoint: u64,
    checkpoints_done: u64,
    stop: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
        let thread = std::thread::Builder::new()
            .name("rapport-store-checkpoint".into())
            .spawn({
                let shared = shared.clone();
                move || run(&conn, &shared)
            })?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    /// Tells the thread that `rows` more rows were committed.
    pub(super) fn rows_written(&self, rows: u64) {
        let mut state = self.shared.lock();
        state.rows_since_checkpoint += rows;
        if state.rows_since_checkpoint >= ROWS_PER_CHECKPOINT {
            self.shared.wake.notify_one();
        }
    }
}

#[cfg(test)]
impl Checkpointer {
    pub(super) fn checkpoints_done(&self) -> u64 {
        self.shared.lock().checkpoints_done
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
            while state.rows_since_checkpoint < ROWS_PER_CHECKPOINT && !state.stop {
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
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
        shared.lock().checkpoints_done += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_util::incoming;
    use crate::store::Store;
    use std::time::{Duration, Instant};

    #[test]
    fn checkpoints_in_the_background_after_enough_rows() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("h.db")).unwrap();
        let checkpointer = store.checkpointer.as_ref().unwrap();
        let batch: Vec<_> = (0..500).map(|i| incoming("a@x", "some words", i)).collect();
        store.insert_messages(&batch).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            checkpointer.checkpoints_done(),
            0,
            "a small write does not checkpoint"
        );

        for _ in 0..(ROWS_PER_CHECKPOINT / 500) {
            store.insert_messages(&batch).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while checkpointer.checkpoints_done() == 0 {
            assert!(Instant::now() < deadline, "no background checkpoint");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(store.history("a@x", None, 500).unwrap().len(), 500);
    }

    #[test]
    fn in_memory_store_has_no_checkpointer() {
        assert!(Store::open_in_memory().unwrap().checkpointer.is_none());
    }
}
