//! The inbound pipeline, first half: parse and verify one stanza into something the session may
//! act on, or a typed rejection. Pure functions over parsed stanzas, so every rule is unit-tested.
//! The session then dedupes and stores (one transaction per batch) and emits events.

use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Message as XmppMessage, MessageType};
use xmpp_parsers::minidom::Element;
use xmpp_parsers::ns;
use xmpp_parsers::presence::{Presence, Show, Type as PresenceType};
use xmpp_parsers::roster::Roster;

use crate::types::{Availability, DeliveryState, Direction, Millis, NewMessage, ResourcePresence, RosterItem};

pub mod bookmarks;
pub mod carbons;
pub mod chat_states;
pub mod forms;
pub mod invitations;
pub mod iq_request;
pub mod mam;
pub mod mentions;
pub mod moderation;
pub mod muc;
pub mod receipts;
pub mod time;

/// Stanzas processed (and stored in one transaction) together at most. Batches grow with the
/// load: what arrived while the previous batch was being stored (see `QUEUE_DEPTH`).
pub const MAX_BATCH: usize = 5000;
/// Bodies above this are refused (servers cap stanzas at a few hundred KiB anyway).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Ids from the network are opaque strings; longer ones are not worth storing.
pub const MAX_ID_CHARS: usize = 256;
/// Status messages and roster names are cut to this many characters.
pub const MAX_TEXT_CHARS: usize = 1024;
/// Earliest believable timestamp (2000-01-01) and how far in the future a clock may be off.
const EARLIEST_MS: Millis = 946_684_800_000;
const FUTURE_SLACK_MS: Millis = 5 * 60 * 1000;

/// Why an inbound stanza was not acted on. Logged; never shown as a crash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("{kind} without a sender")]
    NoSender { kind: &'static str },
    #[error("roster push from {from}, which is not our account")]
    ForeignRosterPush { from: String },
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error("message body of {bytes} bytes exceeds the limit")]
    BodyTooLarge { bytes: usize },
    #[error("nothing to store")]
    Empty,
    #[error("carbon copy from {from}, which is not our account")]
    ForeignCarbon { from: String },
    #[error("archive result from {from}, which is not our account")]
    ForeignArchiveResult { from: String },
    #[error("group chat message from {from}, not from a room we are in")]
    ForeignRoomMessage { from: String },
    #[error("room presence from {from}, a room we are not in")]
    ForeignRoomPresence { from: String },
    #[error("archive result for a query we did not send ({query_id})")]
    UnsolicitedArchiveResult { query_id: String },
    #[error("PEP event for {node} from {from}, which is not our account")]
    ForeignPepEvent { from: String, node: String },
    #[error("invitation to {room} relayed by {from}, which is not that room")]
    ForgedInvitation { from: String, room: String },
    #[error("moderation notice from {from}, which is not the room itself")]
    ForeignModeration { from: String },
}

/// Who we are on this stream.
pub struct Context<'a> {
    pub own: &'a BareJid,
    pub now: Millis,
}

/// A chat message accepted for storage.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub message: NewMessage,
    /// The sender's stanza id attribute, used to match errors to what we sent.
    pub stanza_attr_id: Option<String>,
}

pub fn is_own_account(from: Option<&Jid>, own: &BareJid) -> bool {
    match from {
        None => true,
        Some(jid) => jid.to_bare() == *own && jid.resource().is_none(),
    }
}

/// RFC 6121 §2.1.6: a roster push is only valid from our own account (no `from`, or our bare JID).
pub fn verify_roster_push(from: Option<&Jid>, payload: Element, own: &BareJid) -> Result<Roster, Rejection> {
    if !is_own_account(from, own) {
        return Err(Rejection::ForeignRosterPush { from: from.map(|j| j.to_string()).unwrap_or_default() });
    }
    let roster = Roster::try_from(payload).map_err(|e| Rejection::Malformed { what: "roster push", detail: e.to_string() })?;
    if roster.items.len() != 1 {
        return Err(Rejection::Malformed { what: "roster push", detail: format!("{} items, expected 1", roster.items.len()) });
    }
    Ok(roster)
}

pub fn roster_item(item: &xmpp_parsers::roster::Item) -> RosterItem {
    use xmpp_parsers::roster::{Ask, Subscription as S};
    let subscription = match item.subscription {
        S::None => crate::types::Subscription::None,
        S::To => crate::types::Subscription::To,
        S::From => crate::types::Subscription::From,
        S::Both => crate::types::Subscription::Both,
        S::Remove => crate::types::Subscription::Remove,
    };
    RosterItem {
        jid: item.jid.to_string(),
        name: item.name.as_deref().map(|n| clean_text(n, MAX_TEXT_CHARS)).filter(|n| !n.is_empty()),
        groups: item.groups.iter().map(|g| clean_text(&g.0, MAX_TEXT_CHARS)).collect(),
        subscription,
        pending_out: matches!(item.ask, Ask::Subscribe),
    }
}

/// Accepts a 1:1 message with a body. Typing notifications and other body-less messages return
/// `Rejection::Empty`, which callers treat as "not for the history".
pub fn accept_chat_message(message: &XmppMessage, ctx: &Context) -> Result<Accepted, Rejection> {
    let from = message.from.as_ref().ok_or(Rejection::NoSender { kind: "message" })?;
    let body = chat_body(message)?;
    // A message from another resource of ours without carbons wrapping is a note to self.
    let stanza_id = addressed_to_bare(message, ctx.own).then(|| trusted_stanza_id(&message.payloads, ctx.own)).flatten();
    let written = time::written_at(message, None, ctx.now);
    Ok(Accepted {
        message: NewMessage {
            conversation: from.to_bare().to_string(),
            direction: Direction::Incoming,
            sender: from.to_string(),
            body,
            timestamp: written.millis,
            stamped_by_author: written.by_author,
            origin_id: origin_id(&message.payloads),
            stanza_id,
            state: DeliveryState::None,
            remote_id: remote_id(message),
            markable: receipts::is_markable(message),
            occupant_id: None,
            mentions_me: false,
        },
        stanza_attr_id: remote_id(message),
    })
}

/// Accepts a message that reached us forwarded by our own server (a carbon copy or an archive
/// result), with the time (if any) and archive id the wrapper vouches for. A message from our own
/// account (any resource) is ours: outgoing, in the conversation with its recipient.
pub fn accept_forwarded(message: &XmppMessage, own: &BareJid, vouched: Option<Millis>, now: Millis, stanza_id: Option<String>) -> Result<Accepted, Rejection> {
    let from = message.from.as_ref().ok_or(Rejection::NoSender { kind: "forwarded message" })?;
    let body = chat_body(message)?;
    let ours = from.to_bare() == *own;
    let conversation = if ours {
        let to = message.to.as_ref().ok_or(Rejection::Malformed { what: "forwarded message", detail: "no recipient".into() })?;
        to.to_bare()
    } else {
        from.to_bare()
    };
    let written = time::written_at(message, vouched, now);
    Ok(Accepted {
        message: NewMessage {
            conversation: conversation.to_string(),
            direction: if ours { Direction::Outgoing } else { Direction::Incoming },
            sender: from.to_string(),
            body,
            timestamp: written.millis,
            stamped_by_author: written.by_author,
            origin_id: origin_id(&message.payloads),
            stanza_id: stanza_id.filter(|id| valid_id(id)),
            state: if ours { DeliveryState::Sent } else { DeliveryState::None },
            remote_id: remote_id(message),
            markable: !ours && receipts::is_markable(message),
            occupant_id: None,
            mentions_me: false,
        },
        stanza_attr_id: remote_id(message),
    })
}

/// The body of a 1:1 chat message worth storing.
fn chat_body(message: &XmppMessage) -> Result<String, Rejection> {
    if !matches!(message.type_, MessageType::Chat | MessageType::Normal) {
        return Err(Rejection::Empty);
    }
    let body = message.get_best_body(vec!["en", ""]).map(|(_, body)| body.as_str()).unwrap_or("");
    if body.len() > MAX_BODY_BYTES {
        return Err(Rejection::BodyTooLarge { bytes: body.len() });
    }
    if body.trim().is_empty() {
        return Err(Rejection::Empty);
    }
    Ok(body.to_owned())
}

/// The stanza's `id` attribute, which receipts and markers refer to.
pub fn remote_id(message: &XmppMessage) -> Option<String> {
    message.id.as_ref().map(|id| id.0.clone()).filter(|id| valid_id(id))
}

/// Servers strip forged stanza-ids (XEP-0359 §3.3) when they archive a message, but Prosody
/// 0.12 neither archives nor strips messages sent to a full JID. So a live message's stanza-id
/// is only trusted when it was addressed to our bare JID.
fn addressed_to_bare(message: &XmppMessage, own: &BareJid) -> bool {
    match &message.to {
        None => true,
        Some(to) => to.resource().is_none() && to.to_bare() == *own,
    }
}

/// Timestamps from the network are hints: before 2000 or in the future they become "now".
pub fn clamp_timestamp(stamp: Millis, now: Millis) -> Millis {
    if (EARLIEST_MS..=now + FUTURE_SLACK_MS).contains(&stamp) {
        stamp.min(now)
    } else {
        now
    }
}

pub fn origin_id(payloads: &[Element]) -> Option<String> {
    payloads
        .iter()
        .filter(|p| p.is("origin-id", ns::SID))
        .filter_map(|p| p.attr("id"))
        .find(|id| valid_id(id))
        .map(str::to_owned)
}

/// XEP-0359: a stanza-id is only trusted when our own server (`by` = our bare JID) stamped it.
pub fn trusted_stanza_id(payloads: &[Element], own: &BareJid) -> Option<String> {
    payloads
        .iter()
        .filter(|p| p.is("stanza-id", ns::SID))
        .filter(|p| p.attr("by").and_then(|by| BareJid::new(by).ok()).is_some_and(|by| by == *own))
        .filter_map(|p| p.attr("id"))
        .find(|id| valid_id(id))
        .map(str::to_owned)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().count() <= MAX_ID_CHARS
}

/// Removes control characters (except newline and tab) and cuts to `max_chars`.
pub fn clean_text(text: &str, max_chars: usize) -> String {
    text.chars().filter(|c| !c.is_control() || *c == '\n' || *c == '\t').take(max_chars).collect()
}

/// A contact's presence update, verified.
#[derive(Debug, Clone, PartialEq)]
pub enum PresenceUpdate {
    /// A resource came online or changed its state.
    Available { contact: BareJid, presence: ResourcePresence },
    /// A resource (or, without resource, every resource) went offline.
    Unavailable { contact: BareJid, resource: Option<String> },
    SubscriptionRequest { from: BareJid },
    Subscribed { from: BareJid },
    Unsubscribed { from: BareJid },
    Unsubscribe { from: BareJid },
    /// Our own other resources (not shown as a contact).
    OwnResource,
    Ignored,
}

pub fn classify_presence(presence: &Presence, own: &BareJid) -> Result<PresenceUpdate, Rejection> {
    let from = presence.from.as_ref().ok_or(Rejection::NoSender { kind: "presence" })?;
    let contact = from.to_bare();
    let resource = from.resource().map(|r| r.to_string());
    if contact == *own && !matches!(presence.type_, PresenceType::Subscribe) {
        return Ok(PresenceUpdate::OwnResource);
    }
    Ok(match presence.type_ {
        PresenceType::None => PresenceUpdate::Available {
            contact,
            presence: ResourcePresence {
                resource: resource.unwrap_or_default(),
                availability: availability(presence.show.as_ref()),
                status: presence
                    .statuses
                    .values()
                    .next()
                    .map(|s| clean_text(s, MAX_TEXT_CHARS))
                    .filter(|s| !s.is_empty()),
                priority: presence.priority.0,
            },
        },
        PresenceType::Unavailable => PresenceUpdate::Unavailable { contact, resource },
        PresenceType::Subscribe => PresenceUpdate::SubscriptionRequest { from: contact },
        PresenceType::Subscribed => PresenceUpdate::Subscribed { from: contact },
        PresenceType::Unsubscribed => PresenceUpdate::Unsubscribed { from: contact },
        PresenceType::Unsubscribe => PresenceUpdate::Unsubscribe { from: contact },
        PresenceType::Error => PresenceUpdate::Unavailable { contact, resource },
        PresenceType::Probe => PresenceUpdate::Ignored,
    })
}

pub fn availability(show: Option<&Show>) -> Availability {
    match show {
        None => Availability::Available,
        Some(Show::Chat) => Availability::Chat,
        Some(Show::Away) => Availability::Away,
        Some(Show::Xa) => Availability::ExtendedAway,
        Some(Show::Dnd) => Availability::DoNotDisturb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> BareJid {
        BareJid::new("me@example.org").unwrap()
    }

    fn message(xml: &str) -> XmppMessage {
        XmppMessage::try_from(xml.parse::<Element>().unwrap()).unwrap()
    }

    const NOW: Millis = 1_800_000_000_000;

    #[test]
    fn a_chat_message_keeps_its_ids_and_delay() {
        let m = message(
            "<message xmlns='jabber:client' from='bob@example.org/phone' type='chat' id='x1'>\
               <body>hi</body>\
               <origin-id xmlns='urn:xmpp:sid:0' id='o-1'/>\
               <stanza-id xmlns='urn:xmpp:sid:0' id='s-1' by='me@example.org'/>\
               <delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/>\
             </message>",
        );
        let accepted = accept_chat_message(&m, &Context { own: &own(), now: NOW }).unwrap();
        assert_eq!(accepted.message.conversation, "bob@example.org");
        assert_eq!(accepted.message.sender, "bob@example.org/phone");
        assert_eq!(accepted.message.origin_id.as_deref(), Some("o-1"));
        assert_eq!(accepted.message.stanza_id.as_deref(), Some("s-1"));
        assert_eq!(accepted.message.timestamp, 1_767_225_600_000);
        assert_eq!(accepted.stanza_attr_id.as_deref(), Some("x1"));
    }

    #[test]
    fn a_stanza_id_stamped_by_someone_else_is_not_trusted() {
        let m = message(
            "<message xmlns='jabber:client' from='bob@example.org/phone' type='chat'><body>hi</body>\
               <stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='bob@example.org'/></message>",
        );
        let accepted = accept_chat_message(&m, &Context { own: &own(), now: NOW }).unwrap();
        assert_eq!(accepted.message.stanza_id, None);
    }

    #[test]
    fn a_stanza_id_on_a_message_to_our_full_jid_is_not_trusted() {
        let m = message(
            "<message xmlns='jabber:client' from='eve@example.org/x' to='me@example.org/rapport' type='chat'><body>hi</body>\
               <stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='me@example.org'/></message>",
        );
        assert_eq!(accept_chat_message(&m, &Context { own: &own(), now: NOW }).unwrap().message.stanza_id, None);
        let to_bare = message(
            "<message xmlns='jabber:client' from='eve@example.org/x' to='me@example.org' type='chat'><body>hi</body>\
               <stanza-id xmlns='urn:xmpp:sid:0' id='s9' by='me@example.org'/></message>",
        );
        assert_eq!(accept_chat_message(&to_bare, &Context { own: &own(), now: NOW }).unwrap().message.stanza_id.as_deref(), Some("s9"));
    }

    #[test]
    fn absurd_timestamps_become_the_receive_time() {
        for stamp in ["9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "2200-01-01T00:00:00+14:00"] {
            let m = message(&format!(
                "<message xmlns='jabber:client' from='bob@example.org/a' type='chat'><body>x</body>\
                   <delay xmlns='urn:xmpp:delay' stamp='{stamp}'/></message>"
            ));
            let accepted = accept_chat_message(&m, &Context { own: &own(), now: NOW }).unwrap();
            assert_eq!(accepted.message.timestamp, NOW, "{stamp}");
        }
        assert_eq!(clamp_timestamp(i64::MAX, NOW), NOW);
        assert_eq!(clamp_timestamp(i64::MIN, NOW), NOW);
    }

    #[test]
    fn an_unparseable_delay_is_ignored() {
        let m = message(
            "<message xmlns='jabber:client' from='bob@example.org/a' type='chat'><body>x</body>\
               <delay xmlns='urn:xmpp:delay' stamp='not a date'/></message>",
        );
        assert_eq!(accept_chat_message(&m, &Context { own: &own(), now: NOW }).unwrap().message.timestamp, NOW);
    }

    #[test]
    fn huge_bodies_are_refused() {
        let body = "a".repeat(MAX_BODY_BYTES + 1);
        let m = message(&format!("<message xmlns='jabber:client' from='bob@example.org/a' type='chat'><body>{body}</body></message>"));
        assert!(matches!(accept_chat_message(&m, &Context { own: &own(), now: NOW }), Err(Rejection::BodyTooLarge { .. })));
    }

    #[test]
    fn messages_without_sender_or_body_are_not_stored() {
        let ctx = Context { own: &own(), now: NOW };
        let no_from = message("<message xmlns='jabber:client' type='chat'><body>x</body></message>");
        assert_eq!(accept_chat_message(&no_from, &ctx).unwrap_err(), Rejection::NoSender { kind: "message" });
        let typing = message("<message xmlns='jabber:client' from='bob@example.org/a' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
        assert_eq!(accept_chat_message(&typing, &ctx).unwrap_err(), Rejection::Empty);
        let headline = message("<message xmlns='jabber:client' from='news.example.org' type='headline'><body>x</body></message>");
        assert_eq!(accept_chat_message(&headline, &ctx).unwrap_err(), Rejection::Empty);
    }

    #[test]
    fn roster_pushes_are_accepted_only_from_our_own_account() {
        let payload = || "<query xmlns='jabber:iq:roster'><item jid='eve@evil.example' subscription='both'/></query>".parse::<Element>().unwrap();
        assert!(verify_roster_push(None, payload(), &own()).is_ok());
        let bare: Jid = "me@example.org".parse().unwrap();
        assert!(verify_roster_push(Some(&bare), payload(), &own()).is_ok());
        for from in ["eve@evil.example", "me@example.org/other", "example.org", "evil.example"] {
            let jid: Jid = from.parse().unwrap();
            assert!(matches!(verify_roster_push(Some(&jid), payload(), &own()), Err(Rejection::ForeignRosterPush { .. })), "{from}");
        }
    }

    #[test]
    fn roster_names_lose_control_characters_and_are_cut() {
        let item = xmpp_parsers::roster::Item {
            jid: BareJid::new("a@b.c").unwrap(),
            name: Some(format!("Bob\u{0007}\u{202e}{}", "x".repeat(5000))),
            subscription: xmpp_parsers::roster::Subscription::Both,
            ask: xmpp_parsers::roster::Ask::None,
            groups: vec![],
            approved: None,
        };
        let converted = roster_item(&item);
        let name = converted.name.unwrap();
        assert!(name.starts_with("Bob\u{202e}"));
        assert_eq!(name.chars().count(), MAX_TEXT_CHARS);
    }

    #[test]
    fn presence_is_classified_per_resource() {
        let p = Presence::try_from(
            "<presence xmlns='jabber:client' from='bob@example.org/phone'><show>dnd</show><status>busy</status><priority>5</priority></presence>"
                .parse::<Element>()
                .unwrap(),
        )
        .unwrap();
        match classify_presence(&p, &own()).unwrap() {
            PresenceUpdate::Available { contact, presence } => {
                assert_eq!(contact.as_str(), "bob@example.org");
                assert_eq!(presence.resource, "phone");
                assert_eq!(presence.availability, Availability::DoNotDisturb);
                assert_eq!(presence.status.as_deref(), Some("busy"));
                assert_eq!(presence.priority, 5);
            }
            other => panic!("{other:?}"),
        }
    }
}
