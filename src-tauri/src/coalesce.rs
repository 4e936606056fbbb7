//! Merges the engine's events before they cross into the web view. Each Tauri event costs the
//! page a script evaluation and the store an update, so under load the forwarder sends what
//! arrived in one `INTERVAL` as few events: the received messages in one `MessagesReceived` (in
//! order), each conversation's latest row once in one `ConversationsChanged`. A lone event after
//! a quiet moment goes at once. Rooms are state too: one `OccupantsChanged` per room (each
//! nick's latest state, or its leaving) and the latest `RoomChanged` per room, so a room of
//! thousands joining is one event per delivery.

use std::collections::BTreeMap;
use std::time::Duration;

use rapport_engine::events::OccupantDelta;
use rapport_engine::types::{Conversation, Room};
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
    /// What changed in each room's occupant list (latest per nick).
    occupants: BTreeMap<String, OccupantDelta>,
    /// The latest state of each room.
    rooms: BTreeMap<String, Room>,
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
            Event::OccupantsChanged { room, changed, left } => {
                let delta = self.occupants.entry(room).or_default();
                for nick in &left {
                    delta.went(nick);
                }
                for occupant in changed {
                    delta.came(occupant);
                }
            }
            Event::RoomChanged { room } => {
                self.rooms.insert(room.jid.clone(), room);
            }
            // Presence is independent of the messages: later messages may still join.
            event @ Event::PresenceChanged { .. } => self.events.push(event),
            event => {
                self.open_messages = None;
                self.events.push(event);
            }
        }
    }

    /// The events to send, in order, then the rooms' occupants and states, the conversations'
    /// rows last.
    pub fn take(&mut self) -> Vec<Event> {
        self.open_messages = None;
        let mut events = std::mem::take(&mut self.events);
        for (room, delta) in std::mem::take(&mut self.occupants) {
            events.push(Event::OccupantsChanged {
                room,
                changed: delta.changed.into_values().collect(),
                left: delta.left.into_iter().collect(),
            });
        }
        events.extend(std::mem::take(&mut self.rooms).into_values().map(|room| Event::RoomChanged { room }));
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
    use rapport_engine::types::{Affiliation, Availability, DeliveryState, Direction, Message, Occupant, Role, RoomState};

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
            mentions_me: false,
            retracted: false,
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

    fn occupant(nick: &str, role: Role) -> Occupant {
        Occupant {
            nick: nick.into(),
            role,
            affiliation: Affiliation::None,
            availability: Availability::Available,
            status: None,
            real_jid: None,
            occupant_id: None,
        }
    }

    fn room(jid: &str, state: RoomState) -> Room {
        Room {
            jid: jid.into(),
            nick: "me".into(),
            name: None,
            subject: None,
            state,
            role: Role::Participant,
            affiliation: Affiliation::None,
            occupant_id: None,
        }
    }

    #[test]
    fn a_big_room_joining_is_one_occupants_event_per_room_latest_state_wins() {
        let mut c = Coalescer::default();
        for i in 0..2_000 {
            c.push(Event::OccupantsChanged { room: "big@muc.x".into(), changed: vec![occupant(&format!("n{i:04}"), Role::Participant)], left: vec![] });
        }
        c.push(Event::OccupantsChanged { room: "small@muc.x".into(), changed: vec![occupant("a", Role::Participant)], left: vec![] });
        // n0001 gets voice taken, n0002 leaves, n0003 leaves and comes back as a moderator.
        c.push(Event::OccupantsChanged { room: "big@muc.x".into(), changed: vec![occupant("n0001", Role::Visitor)], left: vec!["n0002".into(), "n0003".into()] });
        c.push(Event::OccupantsChanged { room: "big@muc.x".into(), changed: vec![occupant("n0003", Role::Moderator)], left: vec![] });
        c.push(Event::RoomChanged { room: room("big@muc.x", RoomState::Joining) });
        c.push(Event::RoomChanged { room: room("big@muc.x", RoomState::Joined) });
        let events = c.take();
        assert_eq!(events.len(), 3, "{events:?}");
        let Event::OccupantsChanged { room: jid, changed, left } = &events[0] else { panic!("{events:?}") };
        assert_eq!(jid, "big@muc.x");
        assert_eq!(changed.len(), 1_999);
        assert_eq!(left, &["n0002".to_string()]);
        let role = |nick: &str| changed.iter().find(|o| o.nick == nick).map(|o| o.role);
        assert_eq!(role("n0001"), Some(Role::Visitor));
        assert_eq!(role("n0003"), Some(Role::Moderator));
        assert_eq!(role("n0002"), None);
        assert!(matches!(&events[1], Event::OccupantsChanged { room, changed, .. } if room == "small@muc.x" && changed.len() == 1));
        assert!(matches!(&events[2], Event::RoomChanged { room } if room.state == RoomState::Joined));
        assert!(c.take().is_empty());
    }

    #[test]
    fn room_events_do_not_split_a_burst_of_messages() {
        let mut c = Coalescer::default();
        c.push(Event::MessagesReceived { messages: vec![message(1, "room@muc.x")], catch_up: false });
        c.push(Event::OccupantsChanged { room: "room@muc.x".into(), changed: vec![occupant("a", Role::Participant)], left: vec![] });
        c.push(Event::RoomChanged { room: room("room@muc.x", RoomState::Joined) });
        c.push(Event::MessagesReceived { messages: vec![message(2, "room@muc.x")], catch_up: false });
        let events = c.take();
        assert_eq!(events.len(), 3, "{events:?}");
        assert!(matches!(&events[0], Event::MessagesReceived { messages, .. } if messages.len() == 2));
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
