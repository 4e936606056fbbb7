//! Numbered schema migrations. `PRAGMA user_version` holds how many have been applied.
//!
//! Never edit a migration that has shipped: append a new one instead.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Migration `i` (0-based) brings the schema from version `i` to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: messages with full-text index, conversation list, roster cache, settings.
    r#"
    CREATE TABLE messages (
        id           INTEGER PRIMARY KEY,
        conversation TEXT    NOT NULL,
        direction    TEXT    NOT NULL,
        sender       TEXT    NOT NULL,
        -- sender up to the first '/', the scope of an origin-id
        sender_bare  TEXT    NOT NULL,
        body         TEXT    NOT NULL,
        timestamp    INTEGER NOT NULL,
        origin_id    TEXT,
        stanza_id    TEXT,
        state        TEXT    NOT NULL,
        read         INTEGER NOT NULL DEFAULT 0,
        -- what the full-text index knows of the conversation: the JID's local part
        conversation_key TEXT    NOT NULL
    );
    CREATE INDEX messages_by_time ON messages (conversation, timestamp, id);
    CREATE UNIQUE INDEX messages_stanza_id ON messages (conversation, stanza_id)
        WHERE stanza_id IS NOT NULL;
    CREATE UNIQUE INDEX messages_origin_id ON messages (conversation, origin_id, sender_bare)
        WHERE origin_id IS NOT NULL;

    -- The conversation's local part is indexed too, so that a search within one conversation
    -- intersects posting lists instead of filtering every match of the words. (The domain
    -- would only add tokens shared by most conversations.) Prefix indexes keep short prefixes,
    -- which match many different words, from merging all their posting lists on every search.
    CREATE VIRTUAL TABLE messages_fts USING fts5 (
        body,
        conversation_key,
        content = 'messages',
        content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2',
        prefix = '1 2 3'
    );
    -- No AFTER INSERT trigger: `insert_messages` indexes each new row itself. A trigger would
    -- make every insert keep a statement journal (a copy of each page it touches), which
    -- roughly doubles the cost of the hot insert path.
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body, conversation_key)
            VALUES ('delete', old.id, old.body, old.conversation_key);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, conversation_key ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body, conversation_key)
            VALUES ('delete', old.id, old.body, old.conversation_key);
        INSERT INTO messages_fts (rowid, body, conversation_key)
            VALUES (new.id, new.body, new.conversation_key);
    END;

    CREATE TABLE conversations (
        jid             TEXT    PRIMARY KEY,
        last_message_id INTEGER REFERENCES messages (id) ON DELETE SET NULL,
        last_activity   INTEGER NOT NULL,
        unread          INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE INDEX conversations_by_activity ON conversations (last_activity);

    CREATE TABLE roster_items (
        jid          TEXT    PRIMARY KEY,
        name         TEXT,
        groups       TEXT    NOT NULL DEFAULT '[]',  -- JSON array of strings
        subscription TEXT    NOT NULL,
        pending_out  INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE roster_meta (
        id      INTEGER PRIMARY KEY CHECK (id = 0),
        version TEXT
    );

    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 2: what receipts and chat markers refer to; the outbox (our messages not yet acknowledged).
    r#"
    ALTER TABLE messages ADD COLUMN remote_id TEXT;
    ALTER TABLE messages ADD COLUMN markable INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX messages_outbox ON messages (id) WHERE state = 'pending';
    -- Where new messages go in each conversation's order (see store/order.rs).
    ALTER TABLE conversations ADD COLUMN newest_incoming INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE conversations ADD COLUMN newest_outgoing INTEGER NOT NULL DEFAULT 0;
    UPDATE conversations SET
        newest_incoming = COALESCE((SELECT max(timestamp) FROM messages m
            WHERE m.conversation = conversations.jid AND m.direction = 'incoming'), 0),
        newest_outgoing = COALESCE((SELECT max(timestamp) FROM messages m
            WHERE m.conversation = conversations.jid AND m.direction = 'outgoing'), 0);
    -- Dedupe of messages without origin-id (see `insert_one`).
    CREATE INDEX messages_remote_id ON messages (conversation, remote_id)
        WHERE remote_id IS NOT NULL AND origin_id IS NULL;
    "#,
    // 3: group chats (XEP-0045). A room's messages are in `messages` with conversation = the
    // room's bare JID and sender = room@service/nick; in a room, an origin-id is scoped to the
    // full sender (everyone's `sender_bare` would be the room), so `sender_bare` holds the
    // occupant's full room JID there. `occupant_id`: the XEP-0421 id the room's presence gave
    // the sender's nick when the message arrived (NULL: the nick was not in the room).
    r#"
    ALTER TABLE conversations ADD COLUMN kind TEXT NOT NULL DEFAULT 'chat';
    ALTER TABLE messages ADD COLUMN occupant_id TEXT;
    -- Rooms we are in (or were removed from and may rejoin): rejoined after every new session.
    -- No room password here (passwords live only in memory or the OS keyring).
    CREATE TABLE rooms (
        jid           TEXT PRIMARY KEY,
        nick          TEXT NOT NULL,
        name          TEXT,
        subject       TEXT,
        -- archive id of the newest room message stored with everything before it
        mam_last_id   TEXT,
        -- the room's archive has nothing older than what we stored
        mam_start_reached INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    "#,
    // 4: room messages that mention us (XEP-0372 reference or our nick as a word), computed
    // once on arrival so history and the conversation list show it without re-parsing; and
    // room messages a moderator removed (XEP-0425): their body is emptied, this flag says why.
    r#"
    ALTER TABLE messages ADD COLUMN mentions_me INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN retracted INTEGER NOT NULL DEFAULT 0;
    "#,
];

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Applies every pending migration, each in its own transaction together with its version bump.
/// Refuses a database whose version is newer than [`SCHEMA_VERSION`].
pub(super) fn run(conn: &Connection) -> Result<(), StoreError> {
    run_list(conn, MIGRATIONS)
}

fn run_list(conn: &Connection, migrations: &[&str]) -> Result<(), StoreError> {
    let supported = migrations.len() as i64;
    check_not_too_new(user_version(conn)?, supported)?;
    loop {
        // IMMEDIATE takes the write lock up front, so two processes opening the same file
        // cannot both apply the same migration; re-read the version under the lock.
        let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        let version = user_version(&tx)?;
        check_not_too_new(version, supported)?;
        let Some(sql) = usize::try_from(version)
            .ok()
            .and_then(|v| migrations.get(v))
        else {
            return Ok(()); // up to date; dropping `tx` rolls back the empty transaction
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}

fn user_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

fn check_not_too_new(found: i64, supported: i64) -> Result<(), StoreError> {
    if found > supported {
        return Err(StoreError::TooNew { found, supported });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn table_names(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        let names = stmt.query_map([], |r| r.get(0)).unwrap();
        names.collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn fresh_database_gets_current_version_and_tables() {
        let conn = Connection::open_in_memory().unwrap();
        run(&conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        let tables = table_names(&conn);
        for table in [
            "messages",
            "messages_fts",
            "conversations",
            "roster_items",
            "settings",
        ] {
            assert!(
                tables.iter().any(|t| t == table),
                "missing {table}: {tables:?}"
            );
        }
    }

    #[test]
    fn rerunning_is_idempotent() {
        let conn = Connection::open_in_memory().unwrap();
        run(&conn).unwrap();
        conn.execute("INSERT INTO settings (key, value) VALUES ('k', 'v')", [])
            .unwrap();
        run(&conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        let value: String = conn
            .query_row("SELECT value FROM settings WHERE key = 'k'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(value, "v");
    }

    #[test]
    fn reopening_a_file_keeps_data_and_version() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("h.db");
        Store::open(&db).unwrap().set_setting("k", "v").unwrap();
        let store = Store::open(&db).unwrap();
        assert_eq!(store.get_setting("k").unwrap().as_deref(), Some("v"));
        assert_eq!(user_version(&store.writer()).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn migrations_apply_in_order_and_only_once() {
        let conn = Connection::open_in_memory().unwrap();
        let first = ["CREATE TABLE a (x INTEGER)"];
        run_list(&conn, &first).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 1);
        // A second run with one more migration applies only the new one (re-running the first
        // would fail because table `a` exists).
        let both = [
            "CREATE TABLE a (x INTEGER)",
            "ALTER TABLE a ADD COLUMN y TEXT",
        ];
        run_list(&conn, &both).unwrap();
        run_list(&conn, &both).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 2);
        conn.execute("INSERT INTO a (x, y) VALUES (1, 'y')", [])
            .unwrap();
    }

    #[test]
    fn failed_migration_rolls_back_entirely() {
        let conn = Connection::open_in_memory().unwrap();
        let broken = ["CREATE TABLE a (x INTEGER); CREATE TABLE broken ("];
        assert!(matches!(
            run_list(&conn, &broken),
            Err(StoreError::Sqlite(_))
        ));
        assert_eq!(user_version(&conn).unwrap(), 0);
        assert!(table_names(&conn).is_empty());
    }

    #[test]
    fn a_version_2_history_gets_rooms_and_keeps_its_conversations_as_chats() {
        let conn = Connection::open_in_memory().unwrap();
        run_list(&conn, &MIGRATIONS[..2]).unwrap();
        conn.execute("INSERT INTO conversations (jid, last_activity) VALUES ('bob@example.org', 5)", []).unwrap();
        run(&conn).unwrap();
        let kind: String = conn.query_row("SELECT kind FROM conversations WHERE jid = 'bob@example.org'", [], |r| r.get(0)).unwrap();
        assert_eq!(kind, "chat");
        assert!(table_names(&conn).iter().any(|t| t == "rooms"));
    }

    #[test]
    fn newer_database_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("h.db");
        {
            let conn = Connection::open(&db).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
                .unwrap();
        }
        match Store::open(&db) {
            Err(StoreError::TooNew { found, supported }) => {
                assert_eq!(found, SCHEMA_VERSION + 1);
                assert_eq!(supported, SCHEMA_VERSION);
            }
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("a newer database must be refused"),
        }
        // And it was left untouched.
        let conn = Connection::open(&db).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION + 1);
        assert!(table_names(&conn).is_empty());
    }
}
