//! Storing messages (with deduplication) and reading them back.

use std::collections::HashMap;

use rusqlite::types::Type;
use rusqlite::{
    params, Connection, OptionalExtension, Params, Row, Transaction, TransactionBehavior,
};

use super::conversations::{self, ConversationDelta};
use super::order::Newest;
use super::{InsertOutcome, Store, StoreError};
use crate::types::{DeliveryState, Direction, Message, MessageId, Millis, NewMessage};

/// Largest page [`Store::history`] returns.
pub const MAX_PAGE: u32 = 500;

/// The columns [`message_from_row`] expects, for a query that names `messages` as `m`.
pub(super) const MESSAGE_COLUMNS: &str = "m.id, m.conversation, m.direction, m.sender, m.body, \
     m.timestamp, m.origin_id, m.stanza_id, m.state, m.read, m.mentions_me, m.retracted";

impl Store {
    /// Stores a batch in one transaction, skipping messages already stored.
    ///
    /// A message is a duplicate when the conversation already holds one with the same stanza-id,
    /// or with the same origin-id from the same bare sender JID. When a duplicate carries a
    /// stanza-id the stored copy lacks, the stored copy gets it. Empty ids count as absent.
    /// Outgoing messages are stored as read; incoming ones raise the conversation's unread count.
    pub fn insert_messages(&self, msgs: &[NewMessage]) -> Result<Vec<InsertOutcome>, StoreError> {
        self.insert_batch(msgs, Arrival::New)
    }

    /// Stores older messages fetched from the server's archive (scrolling back, first sign-in):
    /// as read, at their own timestamps, without moving the conversation's last message back.
    pub fn insert_history(&self, msgs: &[NewMessage]) -> Result<Vec<InsertOutcome>, StoreError> {
        self.insert_batch(msgs, Arrival::History)
    }

    fn insert_batch(&self, msgs: &[NewMessage], arrival: Arrival) -> Result<Vec<InsertOutcome>, StoreError> {
        if msgs.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.writer();
        let tx = Transaction::new(&mut conn, TransactionBehavior::Immediate)?;
        let mut outcomes = Vec::with_capacity(msgs.len());
        let mut deltas: HashMap<&str, ConversationDelta> = HashMap::new();
        let mut newest: HashMap<&str, Newest> = HashMap::new();
        let mut rooms: HashMap<&str, bool> = HashMap::new();
        for new in msgs {
            let in_room = match rooms.entry(new.conversation.as_str()) {
                std::collections::hash_map::Entry::Occupied(entry) => *entry.get(),
                std::collections::hash_map::Entry::Vacant(entry) => *entry.insert(super::rooms::is_room(&tx, &new.conversation)?),
            };
            let conversation_newest = match newest.entry(new.conversation.as_str()) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => entry.insert(Newest::load(&tx, &new.conversation)?),
            };
            let outcome = insert_one(&tx, new, arrival, conversation_newest, in_room)?;
            if let InsertOutcome::Inserted(message) = &outcome {
                deltas
                    .entry(new.conversation.as_str())
                    .or_default()
                    .add(message);
            }
            outcomes.push(outcome);
        }
        for (jid, delta) in &deltas {
            conversations::apply_delta(&tx, jid, delta)?;
        }
        tx.commit()?;
        drop(conn);
        let inserted = outcomes
            .iter()
            .filter(|o| matches!(o, InsertOutcome::Inserted(_)))
            .count();
        self.rows_written(inserted as u64);
        Ok(outcomes)
    }

    /// A page of a conversation, newest first: the `limit` (at most [`MAX_PAGE`]) messages just
    /// older than `before` in (timestamp, id) order, or the newest ones when `before` is `None`.
    /// Fails with [`StoreError::NotFound`] when `before` is not a stored message.
    pub fn history(
        &self,
        conversation: &str,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let limit = limit.min(MAX_PAGE);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let conn = self.reader();
        match before {
            None => query_messages(
                &conn,
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.conversation = ?1 \
                     ORDER BY m.timestamp DESC, m.id DESC LIMIT ?2"
                ),
                params![conversation, limit],
            ),
            Some(before) => {
                let timestamp = timestamp_of(&conn, before)?;
                query_messages(
                    &conn,
                    &format!(
                        "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.conversation = ?1 \
                         AND (m.timestamp, m.id) < (?2, ?3) \
                         ORDER BY m.timestamp DESC, m.id DESC LIMIT ?4"
                    ),
                    params![conversation, timestamp, before, limit],
                )
            }
        }
    }

    /// One stored message.
    pub fn message(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        let conn = self.reader();
        Ok(select_message(&conn, id)?)
    }

    /// The newest message in `conversation` with this origin-id (from any sender).
    pub fn find_by_origin_id(
        &self,
        conversation: &str,
        origin_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m \
             WHERE m.conversation = ?1 AND m.origin_id = ?2 ORDER BY m.id DESC LIMIT 1"
        ))?;
        Ok(stmt
            .query_row(params![conversation, origin_id], |row| {
                message_from_row(row, 0)
            })
            .optional()?)
    }
}

/// How a batch of messages reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arrival {
    /// Live, from catch-up, or sent by us: newer than what the conversation holds.
    New,
    /// Older history from the archive.
    History,
}

/// Inserts one message or finds the stored copy it duplicates.
fn insert_one(tx: &Transaction<'_>, new: &NewMessage, arrival: Arrival, newest: &mut Newest, in_room: bool) -> Result<InsertOutcome, StoreError> {
    let origin_id = non_empty(new.origin_id.as_deref());
    let stanza_id = non_empty(new.stanza_id.as_deref());
    let remote_id = non_empty(new.remote_id.as_deref());
    // In a room everyone's bare JID is the room: ids are scoped to the occupant (room/nick).
    let sender_bare = if in_room { new.sender.as_str() } else { bare_jid(&new.sender) };
    let conversation_key = local_part(&new.conversation);
    let read = new.direction == Direction::Outgoing || arrival == Arrival::History;
    if let (None, Some(remote_id)) = (origin_id, remote_id) {
        // Without an origin-id, the same sender, stanza id and text is the same message (say, a
        // carbon copy stored before its archived copy with a stanza-id arrives).
        if let Some(id) = id_by_remote_id(tx, &new.conversation, sender_bare, remote_id, &new.body)? {
            if let Some(stanza_id) = stanza_id {
                fill_stanza_id(tx, id, stanza_id)?;
            }
            return Ok(InsertOutcome::Duplicate(id));
        }
    }
    let timestamp = match arrival {
        Arrival::New if !new.stamped_by_author => newest.place(new.direction, new.timestamp),
        _ => new.timestamp,
    };
    let changed = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO messages (conversation, direction, sender, sender_bare, body, \
             timestamp, origin_id, stanza_id, state, read, conversation_key, remote_id, markable, occupant_id, mentions_me) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?
        .execute(params![
            new.conversation,
            direction_str(new.direction),
            new.sender,
            sender_bare,
            new.body,
            timestamp,
            origin_id,
            stanza_id,
            new.state.as_str(),
            read,
            conversation_key,
            remote_id,
            new.markable,
            new.occupant_id,
            new.mentions_me,
        ])?;
    if changed == 1 {
        newest.record(new.direction, timestamp);
        let id = tx.last_insert_rowid();
        index_for_search(tx, id, &new.body, conversation_key)?;
        return Ok(InsertOutcome::Inserted(Message {
            id,
            conversation: new.conversation.clone(),
            direction: new.direction,
            sender: new.sender.clone(),
            body: new.body.clone(),
            timestamp,
            origin_id: origin_id.map(str::to_owned),
            stanza_id: stanza_id.map(str::to_owned),
            state: new.state,
            read,
            mentions_me: new.mentions_me,
            retracted: false,
        }));
    }
    let conversation = new.conversation.as_str();
    if let Some(stanza_id) = stanza_id {
        if let Some(id) = id_by_stanza_id(tx, conversation, stanza_id)? {
            return Ok(InsertOutcome::Duplicate(id));
        }
    }
    if let Some(origin_id) = origin_id {
        if let Some((id, stored_stanza_id)) =
            id_by_origin_id(tx, conversation, sender_bare, origin_id)?
        {
            if let (Some(stanza_id), None) = (stanza_id, stored_stanza_id) {
                fill_stanza_id(tx, id, stanza_id)?;
            }
            return Ok(InsertOutcome::Duplicate(id));
        }
    }
    // Only a uniqueness conflict makes the insert a no-op, so this is unreachable short of a bug.
    Err(StoreError::NotFound(format!(
        "message ignored as a duplicate in {conversation} but no stored copy matches"
    )))
}

/// Adds a new row to the full-text index, with the same values the row holds.
fn index_for_search(
    tx: &Transaction<'_>,
    id: MessageId,
    body: &str,
    conversation_key: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO messages_fts (rowid, body, conversation_key) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![id, body, conversation_key])?;
    Ok(())
}

fn id_by_stanza_id(
    tx: &Transaction<'_>,
    conversation: &str,
    stanza_id: &str,
) -> rusqlite::Result<Option<MessageId>> {
    tx.prepare_cached("SELECT id FROM messages WHERE conversation = ?1 AND stanza_id = ?2")?
        .query_row(params![conversation, stanza_id], |row| row.get(0))
        .optional()
}

fn id_by_origin_id(
    tx: &Transaction<'_>,
    conversation: &str,
    sender_bare: &str,
    origin_id: &str,
) -> rusqlite::Result<Option<(MessageId, Option<String>)>> {
    tx.prepare_cached(
        "SELECT id, stanza_id FROM messages \
         WHERE conversation = ?1 AND origin_id = ?2 AND sender_bare = ?3",
    )?
    .query_row(params![conversation, origin_id, sender_bare], |row| {
        Ok((row.get(0)?, row.get(1)?))
    })
    .optional()
}

fn id_by_remote_id(
    tx: &Transaction<'_>,
    conversation: &str,
    sender_bare: &str,
    remote_id: &str,
    body: &str,
) -> rusqlite::Result<Option<MessageId>> {
    tx.prepare_cached(
        "SELECT id FROM messages WHERE conversation = ?1 AND remote_id = ?2 AND origin_id IS NULL \
         AND sender_bare = ?3 AND body = ?4",
    )?
    .query_row(params![conversation, remote_id, sender_bare, body], |row| row.get(0))
    .optional()
}

/// Gives a stored message the server's stanza-id, unless another message already has it.
fn fill_stanza_id(tx: &Transaction<'_>, id: MessageId, stanza_id: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE OR IGNORE messages SET stanza_id = ?2 WHERE id = ?1")?
        .execute(params![id, stanza_id])?;
    Ok(())
}

fn query_messages(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> Result<Vec<Message>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |row| message_from_row(row, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn timestamp_of(conn: &Connection, id: MessageId) -> Result<Millis, StoreError> {
    conn.prepare_cached("SELECT timestamp FROM messages WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("message {id}")))
}

fn select_message(conn: &Connection, id: MessageId) -> rusqlite::Result<Option<Message>> {
    conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id = ?1"
    ))?
    .query_row([id], |row| message_from_row(row, 0))
    .optional()
}

/// Decodes the [`MESSAGE_COLUMNS`] starting at column `first`.
pub(super) fn message_from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<Message> {
    let direction: String = row.get(first + 2)?;
    let direction = parse_direction(&direction).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            first + 2,
            Type::Text,
            format!("unknown message direction {direction:?}").into(),
        )
    })?;
    let state: String = row.get(first + 8)?;
    Ok(Message {
        id: row.get(first)?,
        conversation: row.get(first + 1)?,
        direction,
        sender: row.get(first + 3)?,
        body: row.get(first + 4)?,
        timestamp: row.get(first + 5)?,
        origin_id: row.get(first + 6)?,
        stanza_id: row.get(first + 7)?,
        state: DeliveryState::parse(&state),
        read: row.get(first + 9)?,
        mentions_me: row.get(first + 10)?,
        retracted: row.get(first + 11)?,
    })
}

fn direction_str(direction: Direction) -> &'static str {
    match direction {
        Direction::Incoming => "incoming",
        Direction::Outgoing => "outgoing",
    }
}

fn parse_direction(text: &str) -> Option<Direction> {
    match text {
        "incoming" => Some(Direction::Incoming),
        "outgoing" => Some(Direction::Outgoing),
        _ => None,
    }
}

/// The JID up to the first '/', i.e. without the resource.
fn bare_jid(jid: &str) -> &str {
    jid.split_once('/').map_or(jid, |(bare, _resource)| bare)
}

/// The JID up to the first '@' (the whole JID if it has none): the part of a conversation's JID
/// that the full-text index holds.
pub(super) fn local_part(jid: &str) -> &str {
    jid.split_once('@').map_or(jid, |(local, _domain)| local)
}

fn non_empty(id: Option<&str>) -> Option<&str> {
    id.filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_util::{incoming, outgoing};

    const ALICE: &str = "alice@example.org";

    fn inserted(outcome: &InsertOutcome) -> &Message {
        match outcome {
            InsertOutcome::Inserted(message) => message,
            InsertOutcome::Duplicate(id) => panic!("expected an insert, got duplicate of {id}"),
        }
    }

    fn with_ids(mut msg: NewMessage, origin: Option<&str>, stanza: Option<&str>) -> NewMessage {
        msg.origin_id = origin.map(str::to_owned);
        msg.stanza_id = stanza.map(str::to_owned);
        msg
    }

    fn count(store: &Store) -> i64 {
        store
            .reader()
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn inserted_message_round_trips() {
        let store = Store::open_in_memory().unwrap();
        let new = with_ids(
            incoming(ALICE, "héllo\u{1}\u{202e} 👋", 1_700_000_000_000),
            Some("o1"),
            Some("s1"),
        );
        let outcomes = store.insert_messages(std::slice::from_ref(&new)).unwrap();
        let message = inserted(&outcomes[0]).clone();
        assert_eq!(message.body, new.body);
        assert_eq!(message.sender, "alice@example.org/phone");
        assert_eq!(message.origin_id.as_deref(), Some("o1"));
        assert_eq!(message.stanza_id.as_deref(), Some("s1"));
        assert_eq!(message.direction, Direction::Incoming);
        assert!(!message.read);
        assert_eq!(store.message(message.id).unwrap(), Some(message));
        assert_eq!(store.message(9999).unwrap(), None);
    }

    #[test]
    fn outgoing_messages_are_stored_read_with_their_state() {
        let store = Store::open_in_memory().unwrap();
        let outcomes = store.insert_messages(&[outgoing(ALICE, "hi", 1)]).unwrap();
        let message = inserted(&outcomes[0]);
        assert!(message.read);
        assert_eq!(message.state, DeliveryState::Pending);
        assert_eq!(
            store.message(message.id).unwrap().unwrap().direction,
            Direction::Outgoing
        );
    }

    #[test]
    fn empty_batch_is_a_no_op() {
        let store = Store::open_in_memory().unwrap();
        assert!(store.insert_messages(&[]).unwrap().is_empty());
        assert!(store.conversations().unwrap().is_empty());
    }

    #[test]
    fn dedupes_by_stanza_id() {
        let store = Store::open_in_memory().unwrap();
        let first = store
            .insert_messages(&[with_ids(incoming(ALICE, "a", 1), None, Some("s1"))])
            .unwrap();
        let id = inserted(&first[0]).id;
        let again = store
            .insert_messages(&[
                with_ids(incoming(ALICE, "a (again)", 2), Some("other"), Some("s1")),
                with_ids(
                    incoming("bob@example.org", "same id elsewhere", 2),
                    None,
                    Some("s1"),
                ),
            ])
            .unwrap();
        assert_eq!(again[0], InsertOutcome::Duplicate(id));
        assert!(
            matches!(again[1], InsertOutcome::Inserted(_)),
            "stanza-ids are per conversation"
        );
        assert_eq!(count(&store), 2);
    }

    #[test]
    fn dedupes_by_origin_id_and_bare_sender() {
        let store = Store::open_in_memory().unwrap();
        let mut from_phone = with_ids(incoming(ALICE, "a", 1), Some("o1"), None);
        from_phone.sender = "alice@example.org/phone".into();
        let mut from_laptop = from_phone.clone();
        from_laptop.sender = "alice@example.org/laptop".into();
        let mut from_bare = from_phone.clone();
        from_bare.sender = "alice@example.org".into();

        let first = store.insert_messages(&[from_phone]).unwrap();
        let id = inserted(&first[0]).id;
        let again = store.insert_messages(&[from_laptop, from_bare]).unwrap();
        assert_eq!(
            again,
            vec![InsertOutcome::Duplicate(id), InsertOutcome::Duplicate(id)]
        );
        assert_eq!(count(&store), 1);
    }

    #[test]
    fn same_origin_id_from_different_senders_is_not_a_duplicate() {
        let store = Store::open_in_memory().unwrap();
        let room = "room@conference.example.org";
        let mut a = with_ids(incoming(room, "from a", 1), Some("o1"), None);
        a.sender = "room@conference.example.org/alice".into();
        let mut b = a.clone();
        b.sender = "bob@example.org/x".into();
        let mut mine = with_ids(outgoing(room, "mine", 1), Some("o1"), None);
        mine.sender = "me@example.org/desktop".into();
        let outcomes = store.insert_messages(&[a, b, mine]).unwrap();
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, InsertOutcome::Inserted(_))),
            "{outcomes:?}"
        );
        assert_eq!(count(&store), 3);
    }

    #[test]
    fn duplicates_within_one_batch_are_detected() {
        let store = Store::open_in_memory().unwrap();
        let msg = with_ids(incoming(ALICE, "a", 1), Some("o1"), Some("s1"));
        let outcomes = store.insert_messages(&[msg.clone(), msg]).unwrap();
        let id = inserted(&outcomes[0]).id;
        assert_eq!(outcomes[1], InsertOutcome::Duplicate(id));
        assert_eq!(store.conversation(ALICE).unwrap().unwrap().unread, 1);
    }

    #[test]
    fn duplicate_fills_in_missing_stanza_id() {
        let store = Store::open_in_memory().unwrap();
        let sent = with_ids(outgoing(ALICE, "hi", 1), Some("o1"), None);
        let id = inserted(&store.insert_messages(std::slice::from_ref(&sent)).unwrap()[0]).id;
        // The same message comes back from the archive, now with the server's stanza-id.
        let from_archive = with_ids(sent, Some("o1"), Some("s-archive"));
        assert_eq!(
            store.insert_messages(&[from_archive]).unwrap(),
            vec![InsertOutcome::Duplicate(id)]
        );
        let stored = store.message(id).unwrap().unwrap();
        assert_eq!(stored.stanza_id.as_deref(), Some("s-archive"));
        // A later copy with a different stanza-id does not overwrite it.
        let other = with_ids(outgoing(ALICE, "hi", 1), Some("o1"), Some("s-other"));
        assert_eq!(
            store.insert_messages(&[other]).unwrap(),
            vec![InsertOutcome::Duplicate(id)]
        );
        assert_eq!(
            store.message(id).unwrap().unwrap().stanza_id.as_deref(),
            Some("s-archive")
        );
    }

    #[test]
    fn messages_without_ids_are_never_duplicates() {
        let store = Store::open_in_memory().unwrap();
        let msg = incoming(ALICE, "same", 1);
        let empty_ids = with_ids(msg.clone(), Some(""), Some(""));
        let outcomes = store
            .insert_messages(&[msg.clone(), msg, empty_ids.clone(), empty_ids])
            .unwrap();
        assert!(outcomes
            .iter()
            .all(|o| matches!(o, InsertOutcome::Inserted(_))));
        assert_eq!(
            inserted(&outcomes[3]).origin_id,
            None,
            "empty ids are stored as absent"
        );
        assert_eq!(count(&store), 4);
    }

    #[test]
    fn failed_batch_leaves_nothing_behind() {
        let store = Store::open_in_memory().unwrap();
        store
            .writer()
            .execute_batch(
                "CREATE TRIGGER reject BEFORE INSERT ON messages WHEN new.body = 'boom' \
             BEGIN SELECT RAISE(ABORT, 'rejected'); END;",
            )
            .unwrap();
        let result =
            store.insert_messages(&[incoming(ALICE, "fine", 1), incoming(ALICE, "boom", 2)]);
        assert!(matches!(result, Err(StoreError::Sqlite(_))));
        assert_eq!(count(&store), 0);
        assert!(store.conversations().unwrap().is_empty());
    }

    #[test]
    fn history_is_newest_first_and_capped() {
        let store = Store::open_in_memory().unwrap();
        let batch: Vec<_> = (0..600)
            .map(|i| incoming(ALICE, &format!("m{i}"), 1000 + i))
            .collect();
        store.insert_messages(&batch).unwrap();
        store
            .insert_messages(&[incoming("bob@example.org", "other", 5000)])
            .unwrap();
        let page = store.history(ALICE, None, 10).unwrap();
        let bodies: Vec<_> = page.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(
            bodies,
            ["m599", "m598", "m597", "m596", "m595", "m594", "m593", "m592", "m591", "m590"]
        );
        assert_eq!(
            store.history(ALICE, None, 10_000).unwrap().len(),
            MAX_PAGE as usize
        );
        assert!(store.history(ALICE, None, 0).unwrap().is_empty());
        assert!(store
            .history("nobody@example.org", None, 10)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn history_orders_by_timestamp_not_insertion() {
        let store = Store::open_in_memory().unwrap();
        store
            .insert_messages(&[incoming(ALICE, "new", 300_000), incoming(ALICE, "old", 100_000)])
            .unwrap();
        store
            .insert_history(&[incoming(ALICE, "middle (late from archive)", 200_000)])
            .unwrap();
        let bodies: Vec<_> = store
            .history(ALICE, None, 10)
            .unwrap()
            .into_iter()
            .map(|m| m.body)
            .collect();
        assert_eq!(bodies, ["new", "middle (late from archive)", "old"]);
    }

    #[test]
    fn paging_across_equal_timestamps_returns_every_message_once() {
        let store = Store::open_in_memory().unwrap();
        // 3 timestamps, 7 messages each, interleaved over two batches; page size 4 splits groups.
        let mut batch = Vec::new();
        for round in 0..7 {
            for ts in [10, 20, 30] {
                batch.push(incoming(ALICE, &format!("{ts}-{round}"), ts));
            }
        }
        store.insert_messages(&batch[..10]).unwrap();
        store.insert_messages(&batch[10..]).unwrap();

        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = store.history(ALICE, before, 4).unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 4);
            before = page.last().map(|m| m.id);
            seen.extend(page);
        }
        assert_eq!(seen.len(), 21);
        let mut ids: Vec<_> = seen.iter().map(|m| m.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 21, "no message may appear twice");
        assert!(seen
            .windows(2)
            .all(|w| (w[0].timestamp, w[0].id) > (w[1].timestamp, w[1].id)));
    }

    #[test]
    fn history_before_unknown_message_is_not_found() {
        let store = Store::open_in_memory().unwrap();
        assert!(matches!(
            store.history(ALICE, Some(42), 10),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn history_uses_the_conversation_time_index() {
        let store = Store::open_in_memory().unwrap();
        let conn = store.reader();
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM messages m WHERE m.conversation = ?1 \
                 AND (m.timestamp, m.id) < (?2, ?3) ORDER BY m.timestamp DESC, m.id DESC LIMIT 5",
                params!["a", 1, 1],
                |row| row.get(3),
            )
            .unwrap();
        assert!(
            plan.contains("messages_by_time") && plan.contains("timestamp"),
            "{plan}"
        );
    }

    #[test]
    fn advance_state_updates_and_returns_the_message() {
        let store = Store::open_in_memory().unwrap();
        let id = inserted(&store.insert_messages(&[outgoing(ALICE, "hi", 1)]).unwrap()[0]).id;
        let updated = store
            .advance_state(id, DeliveryState::Delivered)
            .unwrap()
            .unwrap();
        assert_eq!(updated.state, DeliveryState::Delivered);
        assert_eq!(
            store.message(id).unwrap().unwrap().state,
            DeliveryState::Delivered
        );
        assert_eq!(
            store.advance_state(id + 100, DeliveryState::Sent).unwrap(),
            None
        );
    }

    #[test]
    fn without_origin_id_the_same_sender_id_and_text_is_one_message() {
        let store = Store::open_in_memory().unwrap();
        let mut carbon = incoming(ALICE, "hello", 1_000);
        carbon.remote_id = Some("m1".into());
        let stored = inserted(&store.insert_messages(&[carbon.clone()]).unwrap()[0]).id;
        let mut archived = carbon.clone();
        archived.stanza_id = Some("s-1".into());
        assert_eq!(store.insert_messages(&[archived]).unwrap()[0], InsertOutcome::Duplicate(stored));
        assert_eq!(store.message(stored).unwrap().unwrap().stanza_id.as_deref(), Some("s-1"));
        // Same id, other text: another message (ids are only unique per sender, if at all).
        let mut other = carbon;
        other.body = "something else".into();
        assert!(matches!(store.insert_messages(&[other]).unwrap()[0], InsertOutcome::Inserted(_)));
    }

    #[test]
    fn a_new_message_stamped_just_before_the_newest_keeps_its_arrival_order() {
        let store = Store::open_in_memory().unwrap();
        // Live at .800, then a message the server stamped to the second (.000) that came after.
        store.insert_messages(&[incoming(ALICE, "first", 1_767_225_600_800)]).unwrap();
        let late = inserted(&store.insert_messages(&[incoming(ALICE, "second", 1_767_225_600_000)]).unwrap()[0]).clone();
        assert_eq!(late.timestamp, 1_767_225_600_800);
        // Much older: a message that waited on the server while we were offline keeps its time.
        let offline = inserted(&store.insert_messages(&[incoming(ALICE, "from yesterday", 1_767_139_200_000)]).unwrap()[0]).clone();
        assert_eq!(offline.timestamp, 1_767_139_200_000);
        let bodies: Vec<_> = store.history(ALICE, None, 10).unwrap().into_iter().map(|m| m.body).collect();
        assert_eq!(bodies, ["second", "first", "from yesterday"]);
    }

    #[test]
    fn find_by_origin_id_is_scoped_to_the_conversation() {
        let store = Store::open_in_memory().unwrap();
        store
            .insert_messages(&[
                with_ids(outgoing(ALICE, "to alice", 1), Some("o1"), None),
                with_ids(outgoing("bob@example.org", "to bob", 2), Some("o1"), None),
            ])
            .unwrap();
        assert_eq!(
            store.find_by_origin_id(ALICE, "o1").unwrap().unwrap().body,
            "to alice"
        );
        assert_eq!(
            store
                .find_by_origin_id("bob@example.org", "o1")
                .unwrap()
                .unwrap()
                .body,
            "to bob"
        );
        assert_eq!(store.find_by_origin_id(ALICE, "o2").unwrap(), None);
        assert_eq!(
            store.find_by_origin_id("carol@example.org", "o1").unwrap(),
            None
        );
    }

    #[test]
    fn large_and_odd_bodies_are_stored_verbatim() {
        let store = Store::open_in_memory().unwrap();
        let big = "ä\u{7}\t\r\n'\"; DROP TABLE messages; --".repeat(4_000);
        let odd_jid = "weird'\"%_\\@example.org/res/with/slashes";
        let mut msg = incoming(odd_jid, &big, i64::MIN);
        msg.sender = odd_jid.to_owned();
        let with_nul = incoming(odd_jid, "before\u{0}after", 0);
        let mut future = incoming(odd_jid, "", i64::MAX);
        future.origin_id = Some("o".repeat(10_000));
        let outcomes = store.insert_messages(&[msg, with_nul, future]).unwrap();
        let id = inserted(&outcomes[0]).id;
        assert_eq!(store.message(id).unwrap().unwrap().body, big);
        let page = store.history(odd_jid, None, 10).unwrap();
        assert_eq!(page.len(), 3);
        assert_eq!(page[0].timestamp, i64::MAX);
        assert_eq!(page[1].body, "before\u{0}after");
        assert_eq!(page[2].timestamp, i64::MIN);
        let hits = store.search("after", Some(odd_jid), 10).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(store.search("drop table", None, 10).unwrap().len(), 1);
    }

    #[test]
    fn bare_jid_strips_the_resource() {
        assert_eq!(bare_jid("a@b/c/d"), "a@b");
        assert_eq!(bare_jid("a@b"), "a@b");
        assert_eq!(bare_jid("/x"), "");
    }

    #[test]
    fn local_part_stops_at_the_first_at_sign() {
        assert_eq!(local_part("a@b@c/d"), "a");
        assert_eq!(local_part("example.org"), "example.org");
        assert_eq!(local_part("@x"), "");
    }
}
