//! Inbound 1:1 messages: parse (XML → stanza) → verify → dedupe + store in batches, as the
//! session's pipeline does. Prints messages per second; the target is ≥ 50,000/s.
//!
//! cargo bench -p rapport-engine --bench inbound

use std::time::Instant;

use rapport_engine::pipeline::{accept_chat_message, Context};
use rapport_engine::store::Store;
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::Message;
use xmpp_parsers::minidom::Element;

const MESSAGES: usize = 200_000;
/// As in the session: a batch is what arrived while the previous one was being stored, up to this.
const BATCH: usize = rapport_engine::pipeline::MAX_BATCH;

fn stanza(i: usize) -> String {
    format!(
        "<message xmlns='jabber:client' from='contact{c}@example.org/phone' to='me@example.org/rapport' type='chat' id='m{i}'>\
           <body>Message number {i}: could you review the draft before the meeting on Thursday?</body>\
           <origin-id xmlns='urn:xmpp:sid:0' id='origin-{i}'/>\
           <stanza-id xmlns='urn:xmpp:sid:0' id='archive-{i}' by='me@example.org'/>\
           <active xmlns='http://jabber.org/protocol/chatstates'/>\
         </message>",
        c = i % 200
    )
}

fn main() {
    let own = BareJid::new("me@example.org").unwrap();
    let raw: Vec<String> = (0..MESSAGES).map(stanza).collect();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("history.sqlite3")).unwrap();
    let now = 1_800_000_000_000;

    // As in the session: the stream task parses while the actor stores the previous batch.
    let started = Instant::now();
    let (batches, received) = std::sync::mpsc::sync_channel::<Vec<_>>(4);
    let parser = std::thread::spawn({
        let raw = raw.clone();
        let own = own.clone();
        move || {
            let started = Instant::now();
            for chunk in raw.chunks(BATCH) {
                let batch = chunk
                    .iter()
                    .map(|xml| {
                        let element: Element = xml.parse().expect("valid XML");
                        let message = Message::try_from(element).expect("valid message");
                        accept_chat_message(&message, &Context { own: &own, now }).expect("accepted").message
                    })
                    .collect();
                batches.send(batch).unwrap();
            }
            started.elapsed()
        }
    });
    let mut stored = 0;
    let mut storing = std::time::Duration::ZERO;
    for batch in received {
        let store_started = Instant::now();
        stored += store.insert_messages(&batch).unwrap().len();
        storing += store_started.elapsed();
    }
    let parsing = parser.join().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(stored, MESSAGES);

    // Replaying the same stanzas must store nothing new (dedupe by stanza-id / origin-id).
    let replay: Vec<_> = raw[..BATCH]
        .iter()
        .map(|xml| accept_chat_message(&Message::try_from(xml.parse::<Element>().unwrap()).unwrap(), &Context { own: &own, now }).unwrap().message)
        .collect();
    let duplicates = store
        .insert_messages(&replay)
        .unwrap()
        .into_iter()
        .filter(|o| matches!(o, rapport_engine::store::InsertOutcome::Duplicate(_)))
        .count();
    assert_eq!(duplicates, BATCH);

    println!(
        "  stages (overlapping): parse + verify {:.2} s, dedupe + store {:.2} s",
        parsing.as_secs_f64(),
        storing.as_secs_f64()
    );
    println!(
        "inbound pipeline: {MESSAGES} messages parsed, verified and stored in {:.2} s = {:.0} messages/s (target ≥ 50000)",
        elapsed.as_secs_f64(),
        MESSAGES as f64 / elapsed.as_secs_f64()
    );
}
