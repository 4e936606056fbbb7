//! Room messages a moderator removed (XEP-0425): the stored copy keeps its place in history, its
//! text is dropped (also from the search index, by the update trigger) and `retracted` set.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};
use crate::types::Message;

impl Store {
    /// Tombstones the message of `conversation` with the room's `stanza_id`; `None` when no such
    /// message is stored or it already was removed.
    pub fn retract_by_stanza_id(&self, conversation: &str, stanza_id: &str) -> Result<Option<Message>, StoreError> {
        let id: Option<i64> = {
            let conn = self.writer();
            let id = conn
                .prepare_cached("SELECT id FROM messages WHERE conversation = ?1 AND stanza_id = ?2 AND retracted = 0")?
                .query_row(params![conversation, stanza_id], |row| row.get(0))
                .optional()?;
            if let Some(id) = id {
                conn.prepare_cached("UPDATE messages SET body = '', retracted = 1 WHERE id = ?1")?.execute([id])?;
            }
            id
        };
        match id {
            Some(id) => self.message(id),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_util::incoming;
    use crate::store::{InsertOutcome, Store};

    #[test]
    fn a_retracted_message_keeps_its_place_loses_its_text_and_is_not_found_by_search() {
        let store = Store::open_in_memory().unwrap();
        let mut message = incoming("room@muc.example.org", "secret words", 1_000);
        message.sender = "room@muc.example.org/bob".into();
        message.stanza_id = Some("s-1".into());
        let Some(InsertOutcome::Inserted(stored)) = store.insert_messages(&[message]).unwrap().pop() else { panic!("not stored") };

        assert!(store.retract_by_stanza_id("other@muc.example.org", "s-1").unwrap().is_none(), "another room's id");
        let retracted = store.retract_by_stanza_id("room@muc.example.org", "s-1").unwrap().expect("retracted");
        assert_eq!((retracted.id, retracted.body.as_str(), retracted.retracted), (stored.id, "", true));
        assert!(store.retract_by_stanza_id("room@muc.example.org", "s-1").unwrap().is_none(), "only once");
        assert!(store.search("secret", None, 10).unwrap().is_empty());
        assert_eq!(store.history("room@muc.example.org", None, 10).unwrap().len(), 1);
    }
}
