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
#[path = "messages_tests.rs"]
mod tests;
