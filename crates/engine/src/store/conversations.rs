//! The conversation list: one row per conversation, kept current by [`Store::insert_messages`]
//! so listing never scans messages.

use rusqlite::{params, OptionalExtension, Row, Transaction};

use super::messages::{message_from_row, MESSAGE_COLUMNS};
use super::{Store, StoreError};
use crate::types::{Conversation, Direction, Message, MessageId, Millis};

/// What one insert batch changes in one conversation.
#[derive(Debug, Default)]
pub(super) struct ConversationDelta {
    /// The newest inserted message by (timestamp, id).
    newest: Option<(Millis, MessageId)>,
    newest_incoming: Millis,
    newest_outgoing: Millis,
    new_unread: i64,
}

impl ConversationDelta {
    pub(super) fn add(&mut self, message: &Message) {
        let key = (message.timestamp, message.id);
        if self.newest.is_none_or(|newest| key > newest) {
            self.newest = Some(key);
        }
        match message.direction {
            Direction::Incoming => self.newest_incoming = self.newest_incoming.max(message.timestamp),
            Direction::Outgoing => self.newest_outgoing = self.newest_outgoing.max(message.timestamp),
        }
        if message.direction == Direction::Incoming && !message.read {
            self.new_unread += 1;
        }
    }
}

/// Folds a batch's delta into the conversation row, creating it if needed. The last message only
/// moves forward: archive backfill of older messages leaves it alone.
pub(super) fn apply_delta(
    tx: &Transaction<'_>,
    jid: &str,
    delta: &ConversationDelta,
) -> Result<(), StoreError> {
    let Some((timestamp, id)) = delta.newest else {
        return Ok(());
    };
    tx.prepare_cached(
        "INSERT INTO conversations (jid, last_message_id, last_activity, unread, newest_incoming, newest_outgoing) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (jid) DO UPDATE SET \
           last_message_id = CASE \
             WHEN last_message_id IS NULL \
               OR (excluded.last_activity, excluded.last_message_id) > (last_activity, last_message_id) \
             THEN excluded.last_message_id ELSE last_message_id END, \
           last_activity = max(last_activity, excluded.last_activity), \
           unread = unread + excluded.unread, \
           newest_incoming = max(newest_incoming, excluded.newest_incoming), \
           newest_outgoing = max(newest_outgoing, excluded.newest_outgoing)",
    )?
    .execute(params![jid, id, timestamp, delta.new_unread, delta.newest_incoming, delta.newest_outgoing])?;
    Ok(())
}

const CONVERSATION_QUERY: &str = "SELECT c.jid, c.unread, c.last_activity";

impl Store {
    /// Every conversation, most recently active first.
    pub fn conversations(&self) -> Result<Vec<Conversation>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "{CONVERSATION_QUERY}, {MESSAGE_COLUMNS}, c.kind FROM conversations c \
             LEFT JOIN messages m ON m.id = c.last_message_id \
             ORDER BY c.last_activity DESC, c.jid"
        ))?;
        let rows = stmt.query_map([], conversation_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One conversation, `None` if nothing was ever stored for `jid`.
    pub fn conversation(&self, jid: &str) -> Result<Option<Conversation>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "{CONVERSATION_QUERY}, {MESSAGE_COLUMNS}, c.kind FROM conversations c \
             LEFT JOIN messages m ON m.id = c.last_message_id WHERE c.jid = ?1"
        ))?;
        Ok(stmt.query_row([jid], conversation_from_row).optional()?)
    }

    /// Marks every incoming message of the conversation read and clears its unread count.
    /// Returns how many messages changed.
    /// The time of the newest stored message of any conversation.
    pub fn newest_activity(&self) -> Result<Option<Millis>, StoreError> {
        let conn = self.reader();
        let newest = conn.prepare_cached("SELECT max(last_activity) FROM conversations")?.query_row([], |row| row.get(0))?;
        Ok(newest)
    }

    pub fn mark_read(&self, conversation: &str) -> Result<u32, StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let unread: i64 = tx
            .prepare_cached("SELECT unread FROM conversations WHERE jid = ?1")?
            .query_row([conversation], |row| row.get(0))
            .optional()?
            .unwrap_or(0);
        if unread <= 0 {
            return Ok(0);
        }
        // The unread count says how many messages to find, so the walk from the newest message
        // stops as soon as it has found them all (unread messages are usually the newest) and
        // no index of unread messages has to be maintained on the insert path.
        let changed = tx
            .prepare_cached(
                "UPDATE messages SET read = 1 WHERE id IN ( \
                   SELECT id FROM messages WHERE conversation = ?1 AND read = 0 \
                   ORDER BY timestamp DESC, id DESC LIMIT ?2)",
            )?
            .execute(params![conversation, unread])?;
        tx.prepare_cached("UPDATE conversations SET unread = 0 WHERE jid = ?1")?
            .execute([conversation])?;
        tx.commit()?;
        drop(conn);
        self.rows_written(changed as u64);
        Ok(u32::try_from(changed).unwrap_or(u32::MAX))
    }
}

fn conversation_from_row(row: &Row<'_>) -> rusqlite::Result<Conversation> {
    let last_message_id: Option<MessageId> = row.get(3)?;
    let last_message = match last_message_id {
        Some(_) => Some(message_from_row(row, 3)?),
        None => None,
    };
    let unread: i64 = row.get(1)?;
    let kind: String = row.get(15)?;
    Ok(Conversation {
        jid: row.get(0)?,
        kind: crate::types::ConversationKind::parse(&kind),
        last_message,
        unread: u32::try_from(unread.max(0)).unwrap_or(u32::MAX),
        last_activity: row.get(2)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_util::{incoming, outgoing};
    use crate::store::InsertOutcome;

    const ALICE: &str = "alice@example.org";
    const BOB: &str = "bob@example.org";

    fn jids(store: &Store) -> Vec<String> {
        store
            .conversations()
            .unwrap()
            .into_iter()
            .map(|c| c.jid)
            .collect()
    }

    #[test]
    fn conversations_are_sorted_by_last_activity() {
        let store = Store::open_in_memory().unwrap();
        store
            .insert_messages(&[
                incoming(ALICE, "a", 100),
                incoming(BOB, "b", 200),
                incoming("c@x", "c", 50),
            ])
            .unwrap();
        assert_eq!(jids(&store), [BOB, ALICE, "c@x"]);
        store
            .insert_messages(&[outgoing(ALICE, "reply", 300)])
            .unwrap();
        assert_eq!(jids(&store), [ALICE, BOB, "c@x"]);

        let alice = store.conversation(ALICE).unwrap().unwrap();
        assert_eq!(alice.last_activity, 300);
        assert_eq!(alice.last_message.unwrap().body, "reply");
        assert_eq!(store.conversation("nobody@x").unwrap(), None);
    }

    #[test]
    fn older_backfill_does_not_replace_the_last_message() {
        let store = Store::open_in_memory().unwrap();
        store
            .insert_messages(&[incoming(ALICE, "latest", 1000)])
            .unwrap();
        store
            .insert_history(&[
                incoming(ALICE, "archived", 10),
                incoming(ALICE, "archived 2", 20),
            ])
            .unwrap();
        let alice = store.conversation(ALICE).unwrap().unwrap();
        assert_eq!(alice.last_activity, 1000);
        assert_eq!(alice.last_message.unwrap().body, "latest");
        // Older history is stored as read.
        assert_eq!(alice.unread, 1);
    }

    #[test]
    fn last_message_breaks_timestamp_ties_by_id() {
        let store = Store::open_in_memory().unwrap();
        store
            .insert_messages(&[incoming(ALICE, "first", 5), incoming(ALICE, "second", 5)])
            .unwrap();
        store
            .insert_messages(&[incoming(ALICE, "third", 5)])
            .unwrap();
        let alice = store.conversation(ALICE).unwrap().unwrap();
        assert_eq!(alice.last_message.unwrap().body, "third");
        assert_eq!(store.history(ALICE, None, 1).unwrap()[0].body, "third");
    }

    #[test]
    fn unread_counts_only_new_incoming_messages() {
        let store = Store::open_in_memory().unwrap();
        let mut dup = incoming(ALICE, "dup", 3);
        dup.stanza_id = Some("s".into());
        store
            .insert_messages(&[
                incoming(ALICE, "1", 1),
                outgoing(ALICE, "mine", 2),
                dup.clone(),
                dup,
            ])
            .unwrap();
        assert_eq!(store.conversation(ALICE).unwrap().unwrap().unread, 2);
    }

    #[test]
    fn mark_read_clears_unread_and_reports_changes() {
        let store = Store::open_in_memory().unwrap();
        store
            .insert_messages(&[
                incoming(ALICE, "1", 1),
                incoming(ALICE, "2", 2),
                outgoing(ALICE, "3", 3),
            ])
            .unwrap();
        store.insert_messages(&[incoming(BOB, "b", 1)]).unwrap();

        assert_eq!(store.mark_read(ALICE).unwrap(), 2);
        let alice = store.conversation(ALICE).unwrap().unwrap();
        assert_eq!(alice.unread, 0);
        assert!(store
            .history(ALICE, None, 10)
            .unwrap()
            .iter()
            .all(|m| m.read));
        assert_eq!(store.mark_read(ALICE).unwrap(), 0, "nothing left to mark");
        assert_eq!(
            store.conversation(BOB).unwrap().unwrap().unread,
            1,
            "other conversations untouched"
        );
        assert_eq!(store.mark_read("nobody@x").unwrap(), 0);

        store.insert_messages(&[incoming(ALICE, "4", 4)]).unwrap();
        assert_eq!(store.conversation(ALICE).unwrap().unwrap().unread, 1);
    }

    #[test]
    fn mark_read_finds_old_unread_messages_behind_read_ones() {
        let store = Store::open_in_memory().unwrap();
        let recent: Vec<_> = (0..20)
            .map(|i| incoming(ALICE, "recent", 1000 + i))
            .collect();
        store.insert_messages(&recent).unwrap();
        assert_eq!(store.mark_read(ALICE).unwrap(), 20);
        // Archive backfill brings older, unread messages behind the read ones.
        store
            .insert_messages(&[incoming(ALICE, "old", 5), outgoing(ALICE, "old reply", 6)])
            .unwrap();
        store
            .insert_messages(&[incoming(ALICE, "older", 1)])
            .unwrap();
        assert_eq!(store.conversation(ALICE).unwrap().unwrap().unread, 2);
        assert_eq!(store.mark_read(ALICE).unwrap(), 2);
        let page = store.history(ALICE, None, 100).unwrap();
        assert_eq!(page.len(), 23);
        assert!(page.iter().all(|m| m.read), "every message is read");
    }

    #[test]
    fn inserted_outcome_matches_the_listed_last_message() {
        let store = Store::open_in_memory().unwrap();
        let outcomes = store.insert_messages(&[incoming(ALICE, "x", 7)]).unwrap();
        let InsertOutcome::Inserted(message) = &outcomes[0] else {
            panic!("not inserted")
        };
        let listed = store.conversations().unwrap().remove(0);
        assert_eq!(listed.last_message.as_ref(), Some(message));
        assert_eq!(listed.unread, 1);
    }
}
