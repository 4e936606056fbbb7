//! Merges the engine's events before they cross into the web view. Each Tauri event costs the
//! page a script evaluation and the store an update, so under load the forwarder sends what
//! arrived in one `INTERVAL` as few events: the received messages in one `MessagesReceived` (in
//! order), each conversation's latest row once in one `ConversationsChanged`. A lone event after
//! a quiet moment goes at once.

use std::collections::BTreeMap;
use std::time::Duration;

use rapport_engine::types::Conversation;
use rapport_engine::Event;

/// Shortest time between two deliveries to the page while events keep coming.
pub const INTERVAL: Duration = Duration::from_millis(50);

/// Events collected for one delivery.
#[derive(Default)]
pub struct Coalescer {
    events: Vec<Event>,
    /// Index in `events` of the `MessagesReceived` later messages may join: none once an event
    /// that must stay after them (a sent message, a delivery update, …) was queued behind it.
    open_messages: Option<usize>,
    /// The latest row per conversation, sent last (rows are state: the newest wins).
    conversations: BTreeMap<String, Conversation>,
}

impl Coalescer {
    pub fn push(&mut self, event: Event) {
        match event {
            // Only messages of the same kind (live or catch-up) share one event.
            Event::MessagesReceived { messages, catch_up } => match self.open_messages.map(|i| &mut self.events[i]) {
                Some(Event::MessagesReceived { messages: earlier, catch_up: earlier_catch_up }) if *earlier_catch_up == catch_up => {
                    earlier.extend(messages)
                }
                _ => {
                    self.open_messages = Some(self.events.len());
                    self.events.push(Event::MessagesReceived { messages, catch_up });
                }
            },
            Event::ConversationsChanged { conversations } => {
                for row in conversations {
                    self.conversations.insert(row.jid.clone(), row);
                }
            }
            // Presence is independent of the messages: later messages may still join.
            event @ Event::PresenceChanged { .. } => self.events.push(event),
            event => {
                self.open_messages = None;
                self.events.push(event);
            }
        }
    }

    /// The events to send, in order, the conversations' rows last.
    pub fn take(&mut self) -> Vec<Event> {
        self.open_messages = None;
        let mut events = std::mem::take(&mut self.events);
        let conversations = std::mem::take(&mut self.conversations);
        if !conversations.is_empty() {
            events.push(Event::ConversationsChanged {
                conversations: conversations.into_values().collect(),
            });
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_engine::types::{DeliveryState, Direction, Message};

    fn message(id: i64, conversation: &str) -> Message {
        Message {
            id,
            conversation: conversation.into(),
            direction: Direction::Incoming,
            sender: format!("{conversation}/x"),
            body: format!("m{id}"),
            timestamp: id,
            origin_id: None,
            stanza_id: None,
            state: DeliveryState::None,
            read: false,
        }
    }

    fn conversation(jid: &str, unread: u32) -> Conversation {
        Conversation {
            jid: jid.into(),
            kind: Default::default(),
            last_message: None,
            unread,
            last_activity: unread as i64,
        }
    }

    #[test]
    fn a_burst_becomes_one_messages_event_in_order_and_one_row_per_conversation() {
        let mut c = Coalescer::default();
        for id in 1..=5_000 {
            let jid = if id % 2 == 0 { "bob@x" } else { "carol@x" };
            c.push(Event::MessagesReceived {
                messages: vec![message(id, jid)],
                catch_up: false,
            });
            c.push(Event::ConversationsChanged {
                conversations: vec![conversation(jid, id as u32)],
            });
        }
        let events = c.take();
        assert_eq!(events.len(), 2);
        let Event::MessagesReceived { messages, .. } = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(
            messages.iter().map(|m| m.id).collect::<Vec<_>>(),
            (1..=5_000).collect::<Vec<_>>()
        );
        let Event::ConversationsChanged { conversations } = &events[1] else {
            panic!("{events:?}")
        };
        let unread: Vec<_> = conversations
            .iter()
            .map(|c| (c.jid.as_str(), c.unread))
            .collect();
        assert_eq!(unread, [("bob@x", 5_000), ("carol@x", 4_999)]);
        assert!(c.take().is_empty());
    }

    #[test]
    fn messages_do_not_move_past_an_event_that_must_follow_them() {
        let mut c = Coalescer::default();
        c.push(Event::MessagesReceived {
            messages: vec![message(1, "bob@x")],
            catch_up: false,
        });
        c.push(Event::PresenceChanged { contacts: vec![] });
        c.push(Event::MessagesReceived {
            messages: vec![message(2, "bob@x")],
            catch_up: false,
        });
        c.push(Event::MessageUpdated {
            id: 2,
            conversation: "bob@x".into(),
            state: DeliveryState::Failed,
        });
        c.push(Event::MessagesReceived {
            messages: vec![message(3, "bob@x")],
            catch_up: false,
        });
        let kinds: Vec<String> = c
            .take()
            .iter()
            .map(|e| match e {
                Event::MessagesReceived { messages, .. } => format!(
                    "received {:?}",
                    messages.iter().map(|m| m.id).collect::<Vec<_>>()
                ),
                Event::PresenceChanged { .. } => "presence".into(),
                Event::MessageUpdated { id, .. } => format!("updated {id}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            ["received [1, 2]", "presence", "updated 2", "received [3]"]
        );
    }

    #[test]
    fn live_and_catch_up_messages_stay_in_separate_events() {
        let mut c = Coalescer::default();
        for (id, catch_up) in [(1, true), (2, true), (3, false), (4, false), (5, true)] {
            c.push(Event::MessagesReceived { messages: vec![message(id, "bob@x")], catch_up });
        }
        let groups: Vec<(bool, Vec<i64>)> = c
            .take()
            .into_iter()
            .map(|e| match e {
                Event::MessagesReceived { messages, catch_up } => (catch_up, messages.iter().map(|m| m.id).collect()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(groups, [(true, vec![1, 2]), (false, vec![3, 4]), (true, vec![5])]);
    }
}
