//! Rooms we are in (XEP-0045): rejoined after every new session, with a per-room archive
//! checkpoint. A room's conversation row has `kind = 'room'`.

use rusqlite::{params, OptionalExtension, Transaction};

use super::{Store, StoreError};
use crate::types::MessageId;

/// A room as stored: enough to rejoin it and catch up with its archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRoom {
    pub jid: String,
    pub nick: String,
    pub name: Option<String>,
    pub subject: Option<String>,
}

pub(super) fn is_room(tx: &Transaction<'_>, conversation: &str) -> rusqlite::Result<bool> {
    let kind: Option<String> = tx
        .prepare_cached("SELECT kind FROM conversations WHERE jid = ?1")?
        .query_row([conversation], |row| row.get(0))
        .optional()?;
    Ok(kind.as_deref() == Some("room"))
}

impl Store {
    /// Remembers a room we joined (or updates its nick), and makes its conversation a room's.
    /// A new conversation row starts at `now`, so the room is listed before its first message.
    pub fn save_room(&self, room: &StoredRoom, now: i64) -> Result<(), StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        tx.prepare_cached(
            "INSERT INTO rooms (jid, nick, name, subject) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (jid) DO UPDATE SET nick = excluded.nick, \
               name = COALESCE(excluded.name, name), subject = COALESCE(excluded.subject, subject)",
        )?
        .execute(params![room.jid, room.nick, room.name, room.subject])?;
        tx.prepare_cached(
            "INSERT INTO conversations (jid, last_activity, kind) VALUES (?1, ?2, 'room') \
             ON CONFLICT (jid) DO UPDATE SET kind = 'room'",
        )?
        .execute(params![room.jid, now])?;
        tx.commit()?;
        Ok(())
    }

    /// Forgets a room we left (its history stays).
    pub fn remove_room(&self, jid: &str) -> Result<(), StoreError> {
        self.writer().prepare_cached("DELETE FROM rooms WHERE jid = ?1")?.execute([jid])?;
        Ok(())
    }

    pub fn set_room_subject(&self, jid: &str, subject: Option<&str>) -> Result<(), StoreError> {
        self.writer().prepare_cached("UPDATE rooms SET subject = ?2 WHERE jid = ?1")?.execute(params![jid, subject])?;
        Ok(())
    }

    /// The rooms to rejoin.
    pub fn rooms(&self) -> Result<Vec<StoredRoom>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached("SELECT jid, nick, name, subject FROM rooms ORDER BY jid")?;
        let rows = stmt.query_map([], |row| Ok(StoredRoom { jid: row.get(0)?, nick: row.get(1)?, name: row.get(2)?, subject: row.get(3)? }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every conversation that is a room's (also rooms we left): their messages are group chat.
    pub fn room_conversations(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached("SELECT jid FROM conversations WHERE kind = 'room'")?;
        let rows = stmt.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The room's archive checkpoint: the newest archive id stored with everything before it.
    pub fn room_checkpoint(&self, jid: &str) -> Result<Option<String>, StoreError> {
        let conn = self.reader();
        let id = conn.prepare_cached("SELECT mam_last_id FROM rooms WHERE jid = ?1")?.query_row([jid], |row| row.get(0)).optional()?;
        Ok(id.flatten())
    }

    pub fn set_room_checkpoint(&self, jid: &str, archive_id: Option<&str>) -> Result<(), StoreError> {
        self.writer().prepare_cached("UPDATE rooms SET mam_last_id = ?2 WHERE jid = ?1")?.execute(params![jid, archive_id])?;
        Ok(())
    }

    pub fn room_archive_start_reached(&self, jid: &str) -> Result<bool, StoreError> {
        let conn = self.reader();
        let reached: Option<bool> =
            conn.prepare_cached("SELECT mam_start_reached FROM rooms WHERE jid = ?1")?.query_row([jid], |row| row.get(0)).optional()?;
        Ok(reached.unwrap_or(false))
    }

    pub fn set_room_archive_start_reached(&self, jid: &str) -> Result<(), StoreError> {
        self.writer().prepare_cached("UPDATE rooms SET mam_start_reached = 1 WHERE jid = ?1")?.execute([jid])?;
        Ok(())
    }

    /// The occupant id a room message was attributed to (see `NewMessage::occupant_id`).
    pub fn message_occupant_id(&self, id: MessageId) -> Result<Option<String>, StoreError> {
        let conn = self.reader();
        let occupant: Option<Option<String>> =
            conn.prepare_cached("SELECT occupant_id FROM messages WHERE id = ?1")?.query_row([id], |row| row.get(0)).optional()?;
        Ok(occupant.flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_util::{incoming, outgoing};
    use crate::store::InsertOutcome;
    use crate::types::ConversationKind;

    const ROOM: &str = "lobby@muc.example.org";

    fn room() -> StoredRoom {
        StoredRoom { jid: ROOM.into(), nick: "me".into(), name: None, subject: None }
    }

    #[test]
    fn a_saved_room_is_listed_as_a_room_conversation_and_rejoined() {
        let store = Store::open_in_memory().unwrap();
        store.save_room(&room(), 1_000).unwrap();
        assert_eq!(store.rooms().unwrap(), vec![room()]);
        let row = store.conversation(ROOM).unwrap().unwrap();
        assert_eq!(row.kind, ConversationKind::Room);
        assert_eq!(row.last_message, None);
        store.insert_messages(&[incoming("bob@example.org", "1:1", 5)]).unwrap();
        assert_eq!(store.conversation("bob@example.org").unwrap().unwrap().kind, ConversationKind::Chat);
        store.remove_room(ROOM).unwrap();
        assert!(store.rooms().unwrap().is_empty());
        assert_eq!(store.room_conversations().unwrap(), vec![ROOM.to_string()], "the history stays a room's");
    }

    #[test]
    fn in_a_room_an_origin_id_is_scoped_to_the_occupant_not_the_room() {
        let store = Store::open_in_memory().unwrap();
        store.save_room(&room(), 1).unwrap();
        let mut alice = incoming(ROOM, "from alice", 10);
        alice.sender = format!("{ROOM}/alice");
        alice.origin_id = Some("same".into());
        let mut eve = alice.clone();
        eve.sender = format!("{ROOM}/eve");
        eve.body = "from eve, reusing alice's id".into();
        let outcomes = store.insert_messages(&[alice.clone(), eve]).unwrap();
        assert!(outcomes.iter().all(|o| matches!(o, InsertOutcome::Inserted(_))), "{outcomes:?}");
        // Our own message and its reflection (same nick, same origin-id) are one message.
        let mut mine = outgoing(ROOM, "mine", 20);
        mine.sender = format!("{ROOM}/me");
        mine.origin_id = Some("o-mine".into());
        let stored = store.insert_messages(&[mine.clone()]).unwrap();
        let InsertOutcome::Inserted(stored) = &stored[0] else { panic!() };
        let mut reflection = mine;
        reflection.stanza_id = Some("room-1".into());
        assert_eq!(store.insert_messages(&[reflection]).unwrap(), vec![InsertOutcome::Duplicate(stored.id)]);
        assert_eq!(store.message(stored.id).unwrap().unwrap().stanza_id.as_deref(), Some("room-1"));
    }

    #[test]
    fn checkpoints_and_attribution_are_kept_per_room() {
        let store = Store::open_in_memory().unwrap();
        store.save_room(&room(), 1).unwrap();
        assert_eq!(store.room_checkpoint(ROOM).unwrap(), None);
        store.set_room_checkpoint(ROOM, Some("a-9")).unwrap();
        assert_eq!(store.room_checkpoint(ROOM).unwrap().as_deref(), Some("a-9"));
        assert!(!store.room_archive_start_reached(ROOM).unwrap());
        store.set_room_archive_start_reached(ROOM).unwrap();
        assert!(store.room_archive_start_reached(ROOM).unwrap());
        let mut message = incoming(ROOM, "hi", 5);
        message.occupant_id = Some("occ-1".into());
        let InsertOutcome::Inserted(stored) = &store.insert_messages(&[message]).unwrap()[0] else { panic!() };
        assert_eq!(store.message_occupant_id(stored.id).unwrap().as_deref(), Some("occ-1"));
    }
}
