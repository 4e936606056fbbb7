//! Tests of `messages.rs`: storing, dedupe, history pages, delivery state.

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
