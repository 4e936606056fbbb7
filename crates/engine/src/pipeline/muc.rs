//! XEP-0045 group chat: the stanzas we send to rooms and what we accept from them.
//!
//! Rules: who is in a room, with which role, affiliation and occupant id, comes from the room's
//! presence only (never from message payloads); a room message is only accepted from a room we
//! are in, as `type='groupchat'` from `room@service/nick`; its stanza-id is only trusted when
//! the room stamped it (`by` = the room's bare JID).

use xmpp_parsers::jid::{BareJid, FullJid, Jid};
use xmpp_parsers::message::{Message as XmppMessage, MessageType};
use xmpp_parsers::minidom::rxml::xml_ncname;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::ns;
use xmpp_parsers::presence::{Presence, Type as PresenceType};
use xmpp_parsers::stanza_error::{DefinedCondition, StanzaError};

use super::{clean_text, origin_id, remote_id, time, valid_id, Accepted, Rejection, MAX_BODY_BYTES, MAX_ID_CHARS, MAX_TEXT_CHARS};
use crate::error::EngineError;
use crate::types::{Affiliation, DeliveryState, Direction, LeaveReason, Millis, NewMessage, Occupant, Role};

pub const NS_MUC: &str = "http://jabber.org/protocol/muc";
pub const NS_MUC_USER: &str = "http://jabber.org/protocol/muc#user";
pub const NS_MUC_OWNER: &str = "http://jabber.org/protocol/muc#owner";
pub const NS_MUC_ADMIN: &str = "http://jabber.org/protocol/muc#admin";
const NS_DATA_FORMS: &str = "jabber:x:data";
const NS_ROOMINFO: &str = "http://jabber.org/protocol/muc#roominfo";
/// Nicknames are resourceparts (RFC 7622): at most 1023 bytes.
const MAX_NICK_BYTES: usize = 1023;

/// Status codes (XEP-0045 §15.6).
pub mod status {
    pub const SELF: u16 = 110;
    pub const CREATED: u16 = 201;
    pub const BANNED: u16 = 301;
    pub const NICK_CHANGED: u16 = 303;
    pub const KICKED: u16 = 307;
    pub const AFFILIATION_CHANGED: u16 = 321;
    pub const MEMBERS_ONLY: u16 = 322;
    pub const SHUTDOWN: u16 = 332;
    pub const NICK_ASSIGNED: u16 = 210;
}

/// The occupant JID `room/nick`, or why the nick is not usable.
pub fn occupant_jid(room: &BareJid, nick: &str) -> Result<FullJid, EngineError> {
    let nick = nick.trim();
    if nick.is_empty() || nick.len() > MAX_NICK_BYTES {
        return Err(EngineError::invalid("nickname", "a nickname needs 1 to 1023 bytes"));
    }
    room.with_resource_str(nick).map_err(|e| EngineError::invalid("nickname", e))
}

/// Our presence to join `room/nick`; history comes from the room's archive instead.
pub fn join_presence(occupant: &FullJid, password: Option<&str>) -> Presence {
    let history = Element::builder("history", NS_MUC).attr(xml_ncname!("maxchars").into(), "0").build();
    let mut x = Element::builder("x", NS_MUC).append(history);
    if let Some(password) = password {
        x = x.append(Element::builder("password", NS_MUC).append(password));
    }
    let mut presence = Presence::available().with_to(Jid::from(occupant.clone()));
    presence.payloads.push(x.build());
    presence
}

/// A nick change, or a presence update to a room we are in.
pub fn occupant_presence(occupant: &FullJid) -> Presence {
    Presence::available().with_to(Jid::from(occupant.clone()))
}

pub fn leave_presence(occupant: &FullJid) -> Presence {
    Presence::new(PresenceType::Unavailable).with_to(Jid::from(occupant.clone()))
}

/// XEP-0045 §10.1.2: accept the default configuration (an instant room).
pub fn instant_room_config() -> Element {
    let form = Element::builder("x", NS_DATA_FORMS).attr(xml_ncname!("type").into(), "submit").build();
    Element::builder("query", NS_MUC_OWNER).append(form).build()
}

/// A room message that sets the subject (an empty one clears it).
pub fn subject_message(room: &BareJid, subject: &str, id: &str) -> XmppMessage {
    let mut message = XmppMessage::groupchat(Some(Jid::from(room.clone())));
    message.id = Some(xmpp_parsers::message::Id(id.to_owned()));
    message.subjects.insert(xmpp_parsers::message::Lang::default(), subject.to_owned());
    message
}

/// What the room's presence says about one occupant.
#[derive(Debug, Clone, PartialEq)]
pub struct OccupantUpdate {
    pub occupant: Occupant,
    pub statuses: Vec<u16>,
    /// Status 303: the occupant's new nick.
    pub new_nick: Option<String>,
    /// Who removed the occupant and why (kick, ban).
    pub actor: Option<String>,
    pub reason: Option<String>,
    /// The room was destroyed (with the reason, if any).
    pub destroyed: Option<Option<String>>,
}

impl OccupantUpdate {
    pub fn is_self(&self) -> bool {
        self.statuses.contains(&status::SELF)
    }

    pub fn has(&self, code: u16) -> bool {
        self.statuses.contains(&code)
    }
}

/// A presence from a room.
#[derive(Debug, Clone, PartialEq)]
pub enum RoomPresence {
    Available(OccupantUpdate),
    Unavailable(OccupantUpdate),
    /// The room refused something we asked (joining, a nick change).
    Error { condition: DefinedCondition, text: Option<String> },
}

/// Reads a presence from `room/nick` (or an error from the room).
pub fn parse_presence(presence: &Presence) -> Result<RoomPresence, Rejection> {
    let from = presence.from.as_ref().ok_or(Rejection::NoSender { kind: "room presence" })?;
    if presence.type_ == PresenceType::Error {
        let error = presence.payloads.iter().find(|p| p.is("error", ns::DEFAULT_NS));
        let parsed = error.and_then(|e| StanzaError::try_from(e.clone()).ok());
        let (condition, text) = match parsed {
            Some(error) => (error.defined_condition, error.texts.values().next().map(|t| clean_text(t, MAX_TEXT_CHARS))),
            None => (DefinedCondition::UndefinedCondition, None),
        };
        return Ok(RoomPresence::Error { condition, text });
    }
    let nick = from.resource().map(|r| r.to_string()).ok_or(Rejection::Malformed { what: "room presence", detail: "no nickname".into() })?;
    let x = presence.payloads.iter().find(|p| p.is("x", NS_MUC_USER));
    let item = x.and_then(|x| x.get_child("item", NS_MUC_USER));
    let text_of = |e: Option<&Element>, name: &str| e.and_then(|e| e.get_child(name, NS_MUC_USER)).map(|t| clean_text(&t.text(), MAX_TEXT_CHARS)).filter(|t| !t.is_empty());
    let update = OccupantUpdate {
        occupant: Occupant {
            nick,
            role: item.and_then(|i| i.attr("role")).map(parse_role).unwrap_or_default(),
            affiliation: item.and_then(|i| i.attr("affiliation")).map(parse_affiliation).unwrap_or_default(),
            availability: super::availability(presence.show.as_ref()),
            status: presence.statuses.values().next().map(|s| clean_text(s, MAX_TEXT_CHARS)).filter(|s| !s.is_empty()),
            real_jid: item.and_then(|i| i.attr("jid")).and_then(|j| j.parse::<Jid>().ok()).map(|j| j.to_string()),
            occupant_id: occupant_id_of(&presence.payloads),
        },
        statuses: x.map(statuses).unwrap_or_default(),
        new_nick: item.and_then(|i| i.attr("nick")).map(|n| clean_text(n, MAX_NICK_BYTES)).filter(|n| !n.is_empty()),
        actor: item.and_then(|i| i.get_child("actor", NS_MUC_USER)).and_then(|a| a.attr("nick").or(a.attr("jid"))).map(|a| clean_text(a, MAX_TEXT_CHARS)),
        reason: text_of(item, "reason"),
        destroyed: x.and_then(|x| x.get_child("destroy", NS_MUC_USER)).map(|d| text_of(Some(d), "reason")),
    };
    Ok(match presence.type_ {
        PresenceType::Unavailable => RoomPresence::Unavailable(update),
        _ => RoomPresence::Available(update),
    })
}

fn statuses(x: &Element) -> Vec<u16> {
    x.children().filter(|c| c.is("status", NS_MUC_USER)).filter_map(|s| s.attr("code")).filter_map(|c| c.parse().ok()).collect()
}

/// XEP-0421: the room's id for the occupant (read from the room's presence only).
fn occupant_id_of(payloads: &[Element]) -> Option<String> {
    payloads.iter().find(|p| p.is("occupant-id", ns::OID)).and_then(|p| p.attr("id")).filter(|id| valid_id(id)).map(str::to_owned)
}

pub fn parse_role(text: &str) -> Role {
    match text {
        "moderator" => Role::Moderator,
        "participant" => Role::Participant,
        "visitor" => Role::Visitor,
        _ => Role::None,
    }
}

pub fn parse_affiliation(text: &str) -> Affiliation {
    match text {
        "owner" => Affiliation::Owner,
        "admin" => Affiliation::Admin,
        "member" => Affiliation::Member,
        "outcast" => Affiliation::Outcast,
        _ => Affiliation::None,
    }
}

/// The error a refused join (or nick change) is for people.
pub fn join_error(room: &BareJid, nick: &str, condition: &DefinedCondition, text: Option<String>) -> EngineError {
    let room = room.to_string();
    match condition {
        DefinedCondition::Conflict => EngineError::NicknameConflict { room, nick: nick.to_owned() },
        DefinedCondition::Forbidden => EngineError::BannedFromRoom { room },
        DefinedCondition::RegistrationRequired => EngineError::MembersOnly { room },
        DefinedCondition::NotAuthorized => EngineError::RoomPasswordWrong { room },
        DefinedCondition::ServiceUnavailable => EngineError::RoomFull { room },
        DefinedCondition::ItemNotFound => EngineError::RoomNotFound { room },
        DefinedCondition::NotAllowed => EngineError::RoomForbidden { room, text },
        other => EngineError::ServerError { condition: format!("{other:?}"), text },
    }
}

/// Why the room removed us (our own unavailable presence).
pub fn removal_reason(update: &OccupantUpdate) -> LeaveReason {
    let (actor, text) = (update.actor.clone(), update.reason.clone());
    if let Some(text) = &update.destroyed {
        LeaveReason::Destroyed { text: text.clone() }
    } else if update.has(status::BANNED) {
        LeaveReason::Banned { actor, text }
    } else if update.has(status::KICKED) {
        LeaveReason::Kicked { actor, text }
    } else if update.has(status::AFFILIATION_CHANGED) {
        LeaveReason::AffiliationChanged
    } else if update.has(status::MEMBERS_ONLY) {
        LeaveReason::MembersOnly
    } else if update.has(status::SHUTDOWN) {
        LeaveReason::ServiceShutdown
    } else {
        LeaveReason::Dropped
    }
}

/// Whether we join again after being removed so (never after a kick, a ban, or leaving).
/// A join that failed for a passing reason (the room full, the service down) is tried again with
/// the next session; a ban, a wrong password or a members-only room is not.
pub fn rejoins_after(reason: &LeaveReason) -> bool {
    match reason {
        LeaveReason::AffiliationChanged | LeaveReason::MembersOnly | LeaveReason::ServiceShutdown | LeaveReason::Dropped | LeaveReason::Offline => true,
        LeaveReason::JoinFailed { error } => matches!(error, EngineError::RoomFull { .. } | EngineError::ServerError { .. } | EngineError::Timeout { .. }),
        LeaveReason::Left | LeaveReason::Kicked { .. } | LeaveReason::Banned { .. } | LeaveReason::Destroyed { .. } => false,
    }
}

/// XEP-0410: what the answer to a ping of our own occupant JID says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfPing {
    /// An answer (from our client or the room; a room that does not support pings answers
    /// service-unavailable or feature-not-implemented): we are in.
    Joined,
    /// not-acceptable or item-not-found: the room does not know us (any more).
    NotJoined,
    /// No answer, or another error (say, the room's server unreachable): keep what we think.
    Unknown,
}

/// `condition`: the stanza error's condition as `EngineError::ServerError` carries it.
pub fn self_ping_verdict(answer: &Result<(), EngineError>) -> SelfPing {
    match answer {
        Ok(()) => SelfPing::Joined,
        Err(EngineError::ServerError { condition, .. }) => match condition.as_str() {
            "NotAcceptable" | "ItemNotFound" => SelfPing::NotJoined,
            "ServiceUnavailable" | "FeatureNotImplemented" => SelfPing::Joined,
            _ => SelfPing::Unknown,
        },
        Err(_) => SelfPing::Unknown,
    }
}

/// Who we are in the room a message comes from.
pub struct RoomContext<'a> {
    pub room: &'a BareJid,
    pub own_nick: &'a str,
    /// Our occupant id, when the room gives them (then the room also stamps its messages).
    pub own_occupant_id: Option<&'a str>,
}

/// `Some(subject)` when the message sets the room's subject (`""` clears it).
pub fn subject(message: &XmppMessage) -> Option<String> {
    if message.type_ != MessageType::Groupchat {
        return None;
    }
    if !message.bodies.is_empty() {
        return None;
    }
    message.subjects.values().next().map(|subject| clean_text(subject, MAX_TEXT_CHARS))
}

/// Accepts a group chat message from `room/nick` for the history. `archive_id`: the id the
/// room's archive gave it (archive results); live messages carry the room's stanza-id.
/// `sender_occupant`: the occupant id the room's presence gave that nick, if it is in the room.
pub fn accept_room_message(
    message: &XmppMessage,
    ctx: &RoomContext,
    sender_occupant: Option<String>,
    vouched: Option<Millis>,
    now: Millis,
    archive_id: Option<String>,
) -> Result<Accepted, Rejection> {
    let from = message.from.as_ref().ok_or(Rejection::NoSender { kind: "room message" })?;
    if from.to_bare() != *ctx.room {
        return Err(Rejection::ForeignRoomMessage { from: from.to_string() });
    }
    if message.type_ != MessageType::Groupchat {
        return Err(Rejection::Empty);
    }
    // Messages from the room itself (no nick) are service notices, not anyone's words.
    let Some(nick) = from.resource() else { return Err(Rejection::Empty) };
    let body = message.get_best_body(vec!["en", ""]).map(|(_, body)| body.as_str()).unwrap_or("");
    if body.len() > MAX_BODY_BYTES {
        return Err(Rejection::BodyTooLarge { bytes: body.len() });
    }
    if body.trim().is_empty() {
        return Err(Rejection::Empty);
    }
    let claimed_occupant = message.payloads.iter().find(|p| p.is("occupant-id", ns::OID)).and_then(|p| p.attr("id"));
    let ours = nick.as_str() == ctx.own_nick || ctx.own_occupant_id.is_some_and(|own| claimed_occupant == Some(own));
    let stanza_id = archive_id.filter(|id| valid_id(id)).or_else(|| trusted_room_stanza_id(&message.payloads, ctx.room));
    let written = time::written_at(message, vouched, now);
    Ok(Accepted {
        message: NewMessage {
            conversation: ctx.room.to_string(),
            direction: if ours { Direction::Outgoing } else { Direction::Incoming },
            sender: from.to_string(),
            body: body.to_owned(),
            timestamp: written.millis,
            stamped_by_author: written.by_author,
            origin_id: origin_id(&message.payloads),
            stanza_id,
            state: if ours { DeliveryState::Sent } else { DeliveryState::None },
            remote_id: remote_id(message),
            markable: false,
            occupant_id: sender_occupant,
            mentions_me: false,
        },
        stanza_attr_id: remote_id(message),
    })
}

/// XEP-0359: a room message's stanza-id is only trusted when the room stamped it.
pub fn trusted_room_stanza_id(payloads: &[Element], room: &BareJid) -> Option<String> {
    payloads
        .iter()
        .filter(|p| p.is("stanza-id", ns::SID))
        .filter(|p| p.attr("by").and_then(|by| BareJid::new(by).ok()).is_some_and(|by| by == *room))
        .filter_map(|p| p.attr("id"))
        .find(|id| !id.is_empty() && id.chars().count() <= MAX_ID_CHARS)
        .map(str::to_owned)
}

/// The name and occupant count a room's disco#info gives.
pub fn room_info(info: &Element) -> (Option<String>, Option<u32>) {
    let name = info
        .children()
        .filter(|c| c.is("identity", ns::DISCO_INFO))
        .find_map(|i| i.attr("name"))
        .map(|n| clean_text(n, MAX_TEXT_CHARS))
        .filter(|n| !n.is_empty());
    let occupants = info
        .children()
        .filter(|c| c.is("x", NS_DATA_FORMS))
        .filter(|form| form_type(form) == Some(NS_ROOMINFO.to_owned()))
        .flat_map(|form| form.children().filter(|f| f.is("field", NS_DATA_FORMS) && f.attr("var") == Some("muc#roominfo_occupants")))
        .find_map(|field| field.get_child("value", NS_DATA_FORMS).and_then(|v| v.text().trim().parse().ok()));
    (name, occupants)
}

fn form_type(form: &Element) -> Option<String> {
    form.children()
        .find(|f| f.is("field", NS_DATA_FORMS) && f.attr("var") == Some("FORM_TYPE"))
        .and_then(|f| f.get_child("value", NS_DATA_FORMS))
        .map(|v| v.text())
}

#[cfg(test)]
#[path = "muc_tests.rs"]
mod tests;
