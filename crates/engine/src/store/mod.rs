//! Per-account message history, conversation list, roster cache and settings, in SQLite.
//!
//! One [`Store`] wraps one database file. It is `Send + Sync` and every method takes `&self`, so
//! the session can share it behind an `Arc` and call it from `tokio::task::spawn_blocking`.
//! A file database has a writer and a reader connection, each behind its own mutex, so history
//! pages and searches do not wait behind a large insert batch (WAL mode lets the reader see the
//! last committed state while the writer works), plus a background thread with a third
//! connection that checkpoints the WAL (see `checkpoint.rs`). An in-memory database has one
//! connection.
//!
//! Schema and the reasons behind it: `migrations.rs`.

mod checkpoint;
mod conversations;
mod messages;
mod outbox;
mod migrations;
mod order;
mod roster;
mod rooms;
mod search;
mod settings;
mod retractions;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::types::{Message, MessageId};

pub use messages::MAX_PAGE;
pub use migrations::SCHEMA_VERSION;
pub use search::MAX_HITS;
pub use rooms::StoredRoom;

/// How long a connection waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Enough for every distinct statement the store prepares.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// Page cache per connection, in KiB. Inserts touch index pages all over the database (ids are
/// random), so the writer needs a cache well above SQLite's 2 MiB default to avoid re-reading.
const WRITER_CACHE_KIB: i64 = 64 * 1024;
const READER_CACHE_KIB: i64 = 32 * 1024;
const CHECKPOINTER_CACHE_KIB: i64 = 2 * 1024;

/// The writer itself checkpoints once the WAL holds this many pages (128 MiB). Normally the
/// background checkpointer gets there first; this bounds the WAL should it fall behind.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 32 * 1024;

/// Truncate the WAL back to this size after a checkpoint.
const JOURNAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("file system error: {0}")]
    Io(#[from] std::io::Error),
    /// The database was written by a newer Rapport; we refuse to touch it.
    #[error("database schema version {found} is newer than this program supports ({supported})")]
    TooNew { found: i64, supported: i64 },
    /// A message, conversation or other record the call refers to does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A value that cannot be converted to its stored form. (Stored data that cannot be decoded
    /// surfaces as `Sqlite(FromSqlConversionFailure)`.)
    #[error("invalid data: {0}")]
    Invalid(String),
}

/// What happened to one message handed to [`Store::insert_messages`].
#[derive(Debug, Clone, PartialEq)]
pub enum InsertOutcome {
    /// Newly stored.
    Inserted(Message),
    /// Already stored (same stanza-id, or same sender and origin-id); carries the stored id.
    Duplicate(MessageId),
}

pub struct Store {
    /// Background WAL checkpoints (file databases only). Declared first so it stops first.
    checkpointer: Option<checkpoint::Checkpointer>,
    writer: Mutex<Connection>,
    /// `None` for an in-memory database, which must share the writer's connection.
    reader: Option<Mutex<Connection>>,
    path: Option<PathBuf>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// Missing parent directories are created with mode 0700; the database file and its WAL
    /// companions get mode 0600.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        prepare_files(path)?;
        let writer = Connection::open(path)?;
        configure(&writer, WRITER_CACHE_KIB)?;
        migrations::run(&writer)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        writer.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        writer.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT_BYTES)?;
        // The WAL and shared-memory files now exist; make sure nobody else can read them.
        restrict_companions(path)?;

        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&reader, READER_CACHE_KIB)?;
        reader.pragma_update(None, "query_only", true)?;

        let checkpoint_conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&checkpoint_conn, CHECKPOINTER_CACHE_KIB)?;
        let checkpointer = checkpoint::Checkpointer::start(checkpoint_conn)?;

        Ok(Store {
            checkpointer: Some(checkpointer),
            writer: Mutex::new(writer),
            reader: Some(Mutex::new(reader)),
            path: Some(path.to_path_buf()),
        })
    }

    /// A private, empty database that lives as long as the `Store` (for tests and tools).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        configure(&conn, WRITER_CACHE_KIB)?;
        migrations::run(&conn)?;
        Ok(Store {
            checkpointer: None,
            writer: Mutex::new(conn),
            reader: None,
            path: None,
        })
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The connection that writes. A panic in another thread while holding it does not make the
    /// store unusable: any open transaction was rolled back when its guard unwound.
    fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Lets the background checkpointer know that `rows` rows were just committed.
    fn rows_written(&self, rows: u64) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.rows_written(rows);
        }
    }

    /// The connection for queries that do not write.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        match &self.reader {
            Some(reader) => reader
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            None => self.writer(),
        }
    }
}

/// Settings every connection needs, whatever its role.
fn configure(conn: &Connection, cache_kib: i64) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // Negative: KiB rather than pages.
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    // Sorts and statement journals stay in memory instead of temporary files.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(())
}

/// Creates missing parent directories (0700) and the database file (0600) before SQLite opens it,
/// so the file never exists with wider permissions.
fn prepare_files(path: &Path) -> Result<(), StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            create_private_dir(parent)?;
        }
    }
    create_private_file(path)?;
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // The umask may have narrowed the mode further than asked, never widened it; set it exactly.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    // Also tightens a file that already existed with wider permissions.
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> std::io::Result<()> {
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(drop)
}

/// Sets mode 0600 on `<db>-wal` and `<db>-shm` if they exist. SQLite creates them with the
/// database file's mode already; this guards against files left behind by something else.
#[cfg(unix)]
fn restrict_companions(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match fs::set_permissions(&name, fs::Permissions::from_mode(0o600)) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict_companions(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
pub(crate) mod test_util {
    use crate::types::{DeliveryState, Direction, NewMessage};

    pub fn incoming(conversation: &str, body: &str, timestamp: i64) -> NewMessage {
        NewMessage {
            conversation: conversation.to_owned(),
            direction: Direction::Incoming,
            sender: format!("{conversation}/phone"),
            body: body.to_owned(),
            timestamp,
            origin_id: None,
            stanza_id: None,
            state: DeliveryState::None,
            stamped_by_author: false,
            remote_id: None,
            markable: false,
            occupant_id: None,
            mentions_me: false,
        }
    }

    pub fn outgoing(conversation: &str, body: &str, timestamp: i64) -> NewMessage {
        NewMessage {
            direction: Direction::Outgoing,
            sender: "me@example.org/desktop".to_owned(),
            state: DeliveryState::Pending,
            ..incoming(conversation, body, timestamp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::incoming;
    use super::*;

    #[test]
    fn store_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Store>();
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn open_creates_private_directories_and_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("accounts").join("me@example.org");
        let db = dir.join("history.sqlite3");
        let store = Store::open(&db).unwrap();
        store
            .insert_messages(&[incoming("a@example.org", "hi", 1)])
            .unwrap();

        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("accounts")), 0o700);
        assert_eq!(mode(&db), 0o600);
        let wal = PathBuf::from(format!("{}-wal", db.display()));
        let shm = PathBuf::from(format!("{}-shm", db.display()));
        assert!(wal.exists() && shm.exists(), "WAL mode must be on");
        assert_eq!(mode(&wal), 0o600);
        assert_eq!(mode(&shm), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn open_tightens_an_existing_world_readable_file() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("history.sqlite3");
        fs::write(&db, b"").unwrap();
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).unwrap();
        Store::open(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
    }

    #[test]
    fn open_sets_wal_and_normal_sync_and_foreign_keys() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("h.db")).unwrap();
        let conn = store.writer();
        let journal: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        let fk: i64 = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(journal.to_lowercase(), "wal");
        assert_eq!(sync, 1, "NORMAL");
        assert_eq!(fk, 1);
        drop(conn);
        let reader = store.reader();
        let fk: i64 = reader
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn reader_connection_refuses_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("h.db")).unwrap();
        let result = store
            .reader()
            .execute("INSERT INTO settings (key, value) VALUES ('a', 'b')", []);
        assert!(result.is_err());
    }

    #[test]
    fn data_survives_reopen() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("h.db");
        {
            let store = Store::open(&db).unwrap();
            store
                .insert_messages(&[incoming("a@example.org", "persisted", 5)])
                .unwrap();
        }
        let store = Store::open(&db).unwrap();
        let page = store.history("a@example.org", None, 10).unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].body, "persisted");
        assert_eq!(store.path(), Some(db.as_path()));
    }

    #[test]
    fn reads_see_writes_from_the_writer_immediately() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("h.db")).unwrap();
        // Prime the reader before the write so a stale snapshot would show.
        assert!(store.history("a@example.org", None, 10).unwrap().is_empty());
        store
            .insert_messages(&[incoming("a@example.org", "fresh", 1)])
            .unwrap();
        assert_eq!(store.history("a@example.org", None, 10).unwrap().len(), 1);
    }

    #[test]
    fn store_works_across_threads() {
        let tmp = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Store::open(&tmp.path().join("h.db")).unwrap());
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let conv = format!("c{t}@example.org");
                        store.insert_messages(&[incoming(&conv, "x", i)]).unwrap();
                        store.history(&conv, None, 5).unwrap();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(store.conversations().unwrap().len(), 4);
        assert_eq!(
            store.history("c0@example.org", None, 500).unwrap().len(),
            50
        );
    }

    #[test]
    fn open_fails_cleanly_on_a_non_database_file() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("junk.db");
        fs::write(&db, vec![b'x'; 4096]).unwrap();
        assert!(matches!(Store::open(&db), Err(StoreError::Sqlite(_))));
    }
}
