//! The outbox and delivery state of our own messages.
//!
//! A message we send is stored as `pending` before it goes on the wire; it stays pending (and
//! is sent again after a crash or a failed stream resumption) until the server acknowledged it.
//! Delivery state only moves forward (pending → sent → delivered → read), except for `failed`,
//! which the user may turn back into `pending` by retrying.

use rusqlite::{params, OptionalExtension};

use super::messages::{message_from_row, MESSAGE_COLUMNS};
use super::{Store, StoreError};
use crate::types::{DeliveryState, Message, MessageId};

/// How far back one displayed marker marks our earlier messages read.
const MAX_MARKED_AT_ONCE: u32 = 500;

fn rank(state: DeliveryState) -> u8 {
    match state {
        DeliveryState::None | DeliveryState::Failed => 0,
        DeliveryState::Pending => 1,
        DeliveryState::Sent => 2,
        DeliveryState::Delivered => 3,
        DeliveryState::Read => 4,
    }
}

/// Whether our message may go from `current` to `next`.
pub fn may_change(current: DeliveryState, next: DeliveryState) -> bool {
    match (current, next) {
        (DeliveryState::None, _) | (_, DeliveryState::None) => false,
        // An error reply can only concern a message the peer has not received.
        (DeliveryState::Pending | DeliveryState::Sent, DeliveryState::Failed) => true,
        (_, DeliveryState::Failed) => false,
        // Retrying.
        (DeliveryState::Failed, DeliveryState::Pending) => true,
        (DeliveryState::Failed, _) => false,
        (current, next) => rank(next) > rank(current),
    }
}

impl Store {
    /// Our messages the server has not acknowledged yet, oldest first.
    pub fn outbox(&self) -> Result<Vec<Message>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m \
             WHERE m.state = 'pending' AND m.direction = 'outgoing' ORDER BY m.id"
        ))?;
        let rows = stmt.query_map([], |row| message_from_row(row, 0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The next `limit` pending own messages after `after` (a message id), oldest first.
    pub fn outbox_after(&self, after: MessageId, limit: usize) -> Result<Vec<Message>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m \
             WHERE m.state = 'pending' AND m.direction = 'outgoing' AND m.id > ?1 ORDER BY m.id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![after, limit as i64], |row| message_from_row(row, 0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Moves our message to `state` if that is a step forward (see [`may_change`]); returns the
    /// updated message, or `None` when nothing changed.
    pub fn advance_state(&self, id: MessageId, state: DeliveryState) -> Result<Option<Message>, StoreError> {
        let conn = self.writer();
        let current: Option<String> = conn
            .prepare_cached("SELECT state FROM messages WHERE id = ?1 AND direction = 'outgoing'")?
            .query_row([id], |row| row.get(0))
            .optional()?;
        let Some(current) = current else { return Ok(None) };
        if !may_change(DeliveryState::parse(&current), state) {
            return Ok(None);
        }
        conn.prepare_cached("UPDATE messages SET state = ?2 WHERE id = ?1")?.execute(params![id, state.as_str()])?;
        drop(conn);
        self.message(id)
    }

    /// Puts our message the server acknowledged but may not have delivered (around a restart of
    /// the server) back into the outbox. Returns it if it was `sent`: no receipt or marker says
    /// it arrived.
    pub fn requeue_unconfirmed(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        let changed = self
            .writer()
            .prepare_cached(
                "UPDATE messages SET state = 'pending' \
                 WHERE id = ?1 AND direction = 'outgoing' AND state = 'sent'",
            )?
            .execute([id])?;
        if changed == 0 {
            return Ok(None);
        }
        self.message(id)
    }

    /// A receipt or chat marker from the contact of `conversation` for our message whose
    /// origin-id (which we also use as the stanza id) is `reference`. A displayed marker also
    /// covers our earlier messages (XEP-0333 §4). Returns the messages whose state changed.
    pub fn acknowledge(
        &self,
        conversation: &str,
        reference: &str,
        state: DeliveryState,
    ) -> Result<Vec<Message>, StoreError> {
        let Some(target) = self.own_message_by_origin_id(conversation, reference)? else {
            return Ok(Vec::new());
        };
        let candidates = if state == DeliveryState::Read {
            let conn = self.reader();
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM messages WHERE conversation = ?1 AND direction = 'outgoing' \
                 AND (timestamp, id) <= (?2, ?3) AND state IN ('pending', 'sent', 'delivered') \
                 ORDER BY timestamp DESC, id DESC LIMIT ?4",
            )?;
            let rows = stmt.query_map(params![conversation, target.timestamp, target.id, MAX_MARKED_AT_ONCE], |row| row.get(0))?;
            rows.collect::<Result<Vec<MessageId>, _>>()?
        } else {
            vec![target.id]
        };
        let mut changed = Vec::new();
        for id in candidates {
            if let Some(message) = self.advance_state(id, state)? {
                changed.push(message);
            }
        }
        Ok(changed)
    }

    fn own_message_by_origin_id(&self, conversation: &str, origin_id: &str) -> Result<Option<Message>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m \
             WHERE m.conversation = ?1 AND m.origin_id = ?2 AND m.direction = 'outgoing' ORDER BY m.id DESC LIMIT 1"
        ))?;
        Ok(stmt.query_row(params![conversation, origin_id], |row| message_from_row(row, 0)).optional()?)
    }

    /// Deletes our own message that never reached the server (pending or failed). Returns the
    /// deleted message; `None` when there is no such message.
    pub fn delete_unsent(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        let Some(message) = self.message(id)? else { return Ok(None) };
        let unsent = matches!(message.state, DeliveryState::Pending | DeliveryState::Failed);
        if message.direction != crate::types::Direction::Outgoing || !unsent {
            return Ok(None);
        }
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        tx.prepare_cached("DELETE FROM messages WHERE id = ?1")?.execute([id])?;
        // The foreign key cleared the conversation's last message if it was this one.
        tx.prepare_cached(
            "UPDATE conversations SET last_message_id = ( \
               SELECT id FROM messages WHERE conversation = ?1 ORDER BY timestamp DESC, id DESC LIMIT 1) \
             WHERE jid = ?1 AND last_message_id IS NULL",
        )?
        .execute([&message.conversation])?;
        tx.commit()?;
        Ok(Some(message))
    }

    /// The `id` of the newest incoming message in `conversation` that asked for chat markers.
    pub fn newest_markable(&self, conversation: &str) -> Result<Option<String>, StoreError> {
        let conn = self.reader();
        let newest: Option<(Option<String>, bool)> = conn
            .prepare_cached(
                "SELECT remote_id, markable FROM messages WHERE conversation = ?1 AND direction = 'incoming' \
                 ORDER BY timestamp DESC, id DESC LIMIT 1",
            )?
            .query_row([conversation], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        Ok(newest.and_then(|(id, markable)| id.filter(|_| markable)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_util::{incoming, outgoing};
    use crate::store::InsertOutcome;

    const BOB: &str = "bob@example.org";

    fn insert(store: &Store, message: crate::types::NewMessage) -> Message {
        match store.insert_messages(&[message]).unwrap().remove(0) {
            InsertOutcome::Inserted(message) => message,
            other => panic!("{other:?}"),
        }
    }

    fn with_origin(mut message: crate::types::NewMessage, origin: &str) -> crate::types::NewMessage {
        message.origin_id = Some(origin.into());
        message
    }

    #[test]
    fn the_outbox_holds_pending_own_messages_in_order() {
        let store = Store::open_in_memory().unwrap();
        let first = insert(&store, outgoing(BOB, "one", 1_000));
        insert(&store, incoming(BOB, "reply", 1_500));
        let second = insert(&store, outgoing(BOB, "two", 2_000));
        assert_eq!(store.outbox().unwrap().iter().map(|m| m.id).collect::<Vec<_>>(), [first.id, second.id]);
        assert_eq!(store.outbox_after(first.id, 10).unwrap().iter().map(|m| m.id).collect::<Vec<_>>(), [second.id]);
        assert_eq!(store.outbox_after(0, 1).unwrap().iter().map(|m| m.id).collect::<Vec<_>>(), [first.id]);
        store.advance_state(first.id, DeliveryState::Sent).unwrap().unwrap();
        assert_eq!(store.outbox().unwrap().iter().map(|m| m.id).collect::<Vec<_>>(), [second.id]);
    }

    #[test]
    fn state_only_moves_forward() {
        let store = Store::open_in_memory().unwrap();
        let id = insert(&store, outgoing(BOB, "x", 1_000)).id;
        assert!(store.advance_state(id, DeliveryState::Read).unwrap().is_some());
        assert!(store.advance_state(id, DeliveryState::Delivered).unwrap().is_none());
        assert!(store.advance_state(id, DeliveryState::Sent).unwrap().is_none());
        assert!(store.advance_state(id, DeliveryState::Failed).unwrap().is_none());
        assert_eq!(store.message(id).unwrap().unwrap().state, DeliveryState::Read);
        let failed = insert(&store, outgoing(BOB, "y", 2_000)).id;
        assert!(store.advance_state(failed, DeliveryState::Failed).unwrap().is_some());
        assert!(store.advance_state(failed, DeliveryState::Sent).unwrap().is_none());
        assert!(store.advance_state(failed, DeliveryState::Pending).unwrap().is_some());
    }

    #[test]
    fn only_a_message_sent_without_receipt_is_requeued() {
        let store = Store::open_in_memory().unwrap();
        let unconfirmed = insert(&store, outgoing(BOB, "maybe lost", 1_000)).id;
        let delivered = insert(&store, outgoing(BOB, "arrived", 2_000)).id;
        assert!(store.requeue_unconfirmed(unconfirmed).unwrap().is_none(), "still pending");
        for id in [unconfirmed, delivered] {
            store.advance_state(id, DeliveryState::Sent).unwrap();
        }
        store.advance_state(delivered, DeliveryState::Delivered).unwrap();
        assert_eq!(store.requeue_unconfirmed(unconfirmed).unwrap().unwrap().state, DeliveryState::Pending);
        assert!(store.requeue_unconfirmed(delivered).unwrap().is_none());
    }

    #[test]
    fn incoming_messages_have_no_delivery_state_to_change() {
        let store = Store::open_in_memory().unwrap();
        let id = insert(&store, incoming(BOB, "x", 1_000)).id;
        assert!(store.advance_state(id, DeliveryState::Read).unwrap().is_none());
    }

    #[test]
    fn a_displayed_marker_reads_earlier_messages_too_but_a_receipt_only_its_own() {
        let store = Store::open_in_memory().unwrap();
        let a = insert(&store, with_origin(outgoing(BOB, "a", 1_000), "o-a"));
        let b = insert(&store, with_origin(outgoing(BOB, "b", 2_000), "o-b"));
        let c = insert(&store, with_origin(outgoing(BOB, "c", 3_000), "o-c"));
        let delivered = store.acknowledge(BOB, "o-a", DeliveryState::Delivered).unwrap();
        assert_eq!(delivered.iter().map(|m| m.id).collect::<Vec<_>>(), [a.id]);
        let read = store.acknowledge(BOB, "o-b", DeliveryState::Read).unwrap();
        let mut ids: Vec<_> = read.iter().map(|m| m.id).collect();
        ids.sort();
        assert_eq!(ids, [a.id, b.id]);
        assert_eq!(store.message(c.id).unwrap().unwrap().state, DeliveryState::Pending);
    }

    #[test]
    fn acknowledgements_from_another_conversation_or_for_incoming_messages_change_nothing() {
        let store = Store::open_in_memory().unwrap();
        let ours = insert(&store, with_origin(outgoing(BOB, "a", 1_000), "o-a"));
        insert(&store, with_origin(incoming(BOB, "theirs", 2_000), "o-theirs"));
        assert!(store.acknowledge("eve@example.org", "o-a", DeliveryState::Read).unwrap().is_empty());
        assert!(store.acknowledge(BOB, "o-theirs", DeliveryState::Read).unwrap().is_empty());
        assert_eq!(store.message(ours.id).unwrap().unwrap().state, DeliveryState::Pending);
    }

    #[test]
    fn only_unsent_own_messages_can_be_deleted_and_the_conversation_follows() {
        let store = Store::open_in_memory().unwrap();
        let kept = insert(&store, outgoing(BOB, "kept", 10_000));
        store.advance_state(kept.id, DeliveryState::Sent).unwrap();
        let failed = insert(&store, outgoing(BOB, "failed", 20_000));
        store.advance_state(failed.id, DeliveryState::Failed).unwrap();
        let theirs = insert(&store, incoming(BOB, "theirs", 5_000));
        assert!(store.delete_unsent(kept.id).unwrap().is_none());
        assert!(store.delete_unsent(theirs.id).unwrap().is_none());
        assert_eq!(store.delete_unsent(failed.id).unwrap().unwrap().id, failed.id);
        assert!(store.message(failed.id).unwrap().is_none());
        let row = store.conversation(BOB).unwrap().unwrap();
        assert_eq!(row.last_message.unwrap().id, kept.id);
        assert!(store.search("failed", None, 10).unwrap().is_empty());
    }

    #[test]
    fn only_a_markable_newest_incoming_message_is_marked() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.newest_markable(BOB).unwrap(), None);
        let mut message = incoming(BOB, "x", 1_000);
        message.remote_id = Some("r1".into());
        insert(&store, message.clone());
        assert_eq!(store.newest_markable(BOB).unwrap(), None);
        message.remote_id = Some("r2".into());
        message.markable = true;
        message.timestamp = 5_000;
        insert(&store, message);
        assert_eq!(store.newest_markable(BOB).unwrap().as_deref(), Some("r2"));
    }
}
