//! Room moderation (XEP-0045 §8–§10) and moderated retraction (XEP-0425): the requests a
//! moderator, admin or owner sends to the room, the room configuration form (through `forms`),
//! what the room's error answers mean in words for people, and the room's notice that a
//! moderator removed a message.
//!
//! A moderation notice is the room speaking: it applies only when it comes from the room's bare
//! JID. An occupant (room/nick) or anyone else claiming "a moderator removed this" is refused,
//! or they could erase other people's messages (Gajim CVE-2022-39835).

use serde::{Deserialize, Serialize};
use xmpp_parsers::data_forms::DataForm;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Message as XmppMessage, MessageType};
use xmpp_parsers::minidom::rxml::xml_ncname;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::muc::user::{Affiliation, Role};
use xmpp_parsers::stanza_error::StanzaError;

use super::forms::{self, Answers, Form, FormError};
use super::iq_request::{condition_name, IqRequest};
use super::{clean_text, Rejection, MAX_ID_CHARS, MAX_TEXT_CHARS};
use crate::error::EngineError;

pub const MUC_ADMIN: &str = "http://jabber.org/protocol/muc#admin";
pub const MUC_OWNER: &str = "http://jabber.org/protocol/muc#owner";
/// XEP-0425 0.3 and later.
pub const MODERATE: &str = "urn:xmpp:message-moderate:1";
pub const RETRACT: &str = "urn:xmpp:message-retract:1";
/// XEP-0425 0.2 (Prosody 0.12's mod_muc_moderation, ejabberd 23.01), inside XEP-0422 fastening.
pub const MODERATE_0: &str = "urn:xmpp:message-moderate:0";
pub const RETRACT_0: &str = "urn:xmpp:message-retract:0";
pub const FASTEN: &str = "urn:xmpp:fasten:0";
const OCCUPANT_ID: &str = "urn:xmpp:occupant-id:0";

/// Which XEP-0425 the room speaks, from its disco#info features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModerationVersion {
    /// `urn:xmpp:message-moderate:1`.
    Current,
    /// `urn:xmpp:message-moderate:0`, wrapped in `apply-to`.
    Legacy,
}

pub fn moderation_version(room_features: &[&str]) -> Option<ModerationVersion> {
    if room_features.contains(&MODERATE) {
        Some(ModerationVersion::Current)
    } else if room_features.contains(&MODERATE_0) {
        Some(ModerationVersion::Legacy)
    } else {
        None
    }
}

/// What a moderation request was for, so an error can say what was refused.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModerationAction {
    Kick,
    Ban,
    GrantVoice,
    RevokeVoice,
    SetRole,
    SetAffiliation,
    ListAffiliation,
    Destroy,
    Configure,
    RemoveMessage,
}

impl ModerationAction {
    fn phrase(self) -> &'static str {
        match self {
            Self::Kick => "remove people from this room",
            Self::Ban => "ban people from this room",
            Self::GrantVoice => "give people a voice in this room",
            Self::RevokeVoice => "take people's voice away in this room",
            Self::SetRole => "change people's roles in this room",
            Self::SetAffiliation => "change who belongs to this room",
            Self::ListAffiliation => "see who belongs to this room",
            Self::Destroy => "close this room",
            Self::Configure => "change this room's settings",
            Self::RemoveMessage => "remove other people's messages in this room",
        }
    }
}

/// Why the room refused a moderation request, in words for people.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ModerationError {
    #[error("You are not allowed to {}.", .action.phrase())]
    Forbidden { action: ModerationAction },
    #[error("The room does not let you do that to someone whose standing is equal to or higher than yours.")]
    NotAllowed { action: ModerationAction },
    #[error("That person or room was not found.")]
    NotFound { action: ModerationAction },
    #[error("The room refused the change: a room needs at least one owner, and nobody can hold two affiliations.")]
    Conflict { action: ModerationAction },
    #[error("This room does not support that.")]
    NotSupported { action: ModerationAction },
    #[error("The room did not accept the request ({condition}){}", .text.as_deref().map(|t| format!(": {t}")).unwrap_or_default())]
    Refused { action: ModerationAction, condition: String, text: Option<String> },
    #[error("The request could not be completed: {detail}")]
    Failed { action: ModerationAction, detail: String },
}

impl ModerationError {
    /// The room's error answer to `action`.
    pub fn from_stanza_error(action: ModerationAction, error: &StanzaError) -> Self {
        let text = error.texts.values().next().map(|t| clean_text(t, 500));
        Self::from_condition(action, &format!("{:?}", error.defined_condition), text)
    }

    /// The same from the session's reply (`EngineError::ServerError` keeps the condition).
    pub fn from_engine_error(action: ModerationAction, error: &EngineError) -> Self {
        match error {
            EngineError::ServerError { condition, text } => Self::from_condition(action, condition, text.clone()),
            other => Self::Failed { action, detail: other.to_string() },
        }
    }

    fn from_condition(action: ModerationAction, condition: &str, text: Option<String>) -> Self {
        match condition_name(condition).as_str() {
            "forbidden" | "not-authorized" => Self::Forbidden { action },
            "not-allowed" => Self::NotAllowed { action },
            "item-not-found" | "recipient-unavailable" | "remote-server-not-found" => Self::NotFound { action },
            "conflict" => Self::Conflict { action },
            "feature-not-implemented" | "service-unavailable" => Self::NotSupported { action },
            other => Self::Refused { action, condition: other.to_owned(), text },
        }
    }
}

/// Kicks an occupant (role `none`, XEP-0045 §8.2).
pub fn kick(room: &BareJid, nick: &str, reason: Option<&str>) -> IqRequest {
    set_role(room, nick, Role::None, reason)
}

/// Gives a visitor a voice (role `participant`, §8.3).
pub fn grant_voice(room: &BareJid, nick: &str, reason: Option<&str>) -> IqRequest {
    set_role(room, nick, Role::Participant, reason)
}

/// Takes a participant's voice (role `visitor`, §8.4).
pub fn revoke_voice(room: &BareJid, nick: &str, reason: Option<&str>) -> IqRequest {
    set_role(room, nick, Role::Visitor, reason)
}

/// Changes an occupant's role, by nickname (roles last for the visit).
pub fn set_role(room: &BareJid, nick: &str, role: Role, reason: Option<&str>) -> IqRequest {
    let item = admin_item(reason).attr(xml_ncname!("nick").into(), nick).attr(xml_ncname!("role").into(), role_name(&role));
    admin_set(room, item.build())
}

/// Bans an account (affiliation `outcast`, §9.1).
pub fn ban(room: &BareJid, jid: &BareJid, reason: Option<&str>) -> IqRequest {
    set_affiliation(room, jid, Affiliation::Outcast, reason)
}

/// Changes an account's affiliation (member, admin, owner, or none to remove it; §9–§10).
pub fn set_affiliation(room: &BareJid, jid: &BareJid, affiliation: Affiliation, reason: Option<&str>) -> IqRequest {
    let item = admin_item(reason).attr(xml_ncname!("affiliation").into(), affiliation_name(&affiliation)).attr(xml_ncname!("jid").into(), jid.as_str());
    admin_set(room, item.build())
}

/// Asks for the accounts with one affiliation (the member list, the ban list…; §9.5).
pub fn affiliation_list_request(room: &BareJid, affiliation: Affiliation) -> IqRequest {
    let item = Element::builder("item", MUC_ADMIN).attr(xml_ncname!("affiliation").into(), affiliation_name(&affiliation));
    IqRequest::get(Some(room_address(room)), Element::builder("query", MUC_ADMIN).append(item.build()).build())
}

/// One account in an affiliation list.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffiliatedAccount {
    pub jid: String,
    pub nick: Option<String>,
    pub reason: Option<String>,
}

/// The answer to `affiliation_list_request` (entries without a valid JID are skipped).
pub fn parse_affiliation_list(payload: &Element) -> Result<Vec<AffiliatedAccount>, Rejection> {
    if !payload.is("query", MUC_ADMIN) {
        return Err(Rejection::Malformed { what: "affiliation list", detail: "not a muc#admin query".into() });
    }
    Ok(payload
        .children()
        .filter(|c| c.is("item", MUC_ADMIN))
        .take(10_000)
        .filter_map(|item| {
            let jid = item.attr("jid").and_then(|j| BareJid::new(j).ok())?;
            Some(AffiliatedAccount {
                jid: jid.to_string(),
                nick: item.attr("nick").map(|n| clean_text(n, MAX_TEXT_CHARS)).filter(|n| !n.is_empty()),
                reason: item.get_child("reason", MUC_ADMIN).map(|r| clean_text(&r.text(), MAX_TEXT_CHARS)).filter(|r| !r.is_empty()),
            })
        })
        .collect())
}

fn admin_item(reason: Option<&str>) -> xmpp_parsers::minidom::ElementBuilder {
    let item = Element::builder("item", MUC_ADMIN);
    match reason.filter(|r| !r.trim().is_empty()) {
        Some(reason) => item.append(Element::builder("reason", MUC_ADMIN).append(reason)),
        None => item,
    }
}

fn admin_set(room: &BareJid, item: Element) -> IqRequest {
    IqRequest::set(Some(room_address(room)), Element::builder("query", MUC_ADMIN).append(item).build())
}

fn room_address(room: &BareJid) -> Jid {
    Jid::from(room.clone())
}

fn role_name(role: &Role) -> &'static str {
    match role {
        Role::Moderator => "moderator",
        Role::Participant => "participant",
        Role::Visitor => "visitor",
        Role::None => "none",
    }
}

fn affiliation_name(affiliation: &Affiliation) -> &'static str {
    match affiliation {
        Affiliation::Owner => "owner",
        Affiliation::Admin => "admin",
        Affiliation::Member => "member",
        Affiliation::Outcast => "outcast",
        Affiliation::None => "none",
    }
}

/// Destroys the room (§10.9), pointing occupants to `alternate` if given.
pub fn destroy(room: &BareJid, reason: Option<&str>, alternate: Option<&BareJid>) -> IqRequest {
    let mut destroy = Element::builder("destroy", MUC_OWNER);
    if let Some(alternate) = alternate {
        destroy = destroy.attr(xml_ncname!("jid").into(), alternate.as_str());
    }
    if let Some(reason) = reason.filter(|r| !r.trim().is_empty()) {
        destroy = destroy.append(Element::builder("reason", MUC_OWNER).append(reason));
    }
    owner_query(room, true, Some(destroy.build()))
}

/// Asks for the room's configuration form (§10.2).
pub fn config_request(room: &BareJid) -> IqRequest {
    owner_query(room, false, None)
}

/// The configuration form in the answer to `config_request`.
pub fn parse_config(payload: &Element) -> Result<Form, Rejection> {
    let malformed = |detail: String| Rejection::Malformed { what: "room configuration", detail };
    if !payload.is("query", MUC_OWNER) {
        return Err(malformed("not a muc#owner query".into()));
    }
    let x = payload.get_child("x", xmpp_parsers::ns::DATA_FORMS).ok_or_else(|| malformed("no form".into()))?;
    let form = DataForm::try_from(x.clone()).map_err(|e| malformed(e.to_string()))?;
    Ok(forms::from_data_form(&form))
}

/// Submits the filled-in configuration form (checked by `forms::submit` first).
pub fn config_submit(room: &BareJid, form: &Form, answers: &Answers) -> Result<IqRequest, FormError> {
    let submitted = forms::submit(form, answers)?;
    Ok(owner_query(room, true, Some(submitted.into())))
}

/// Accepts the default configuration of a room we just created (an "instant room", §10.1.2).
pub fn instant_room(room: &BareJid) -> IqRequest {
    let empty = DataForm { type_: xmpp_parsers::data_forms::DataFormType::Submit, title: None, instructions: None, fields: Vec::new() };
    owner_query(room, true, Some(empty.into()))
}

/// Gives up configuring (a new room is then destroyed by the service).
pub fn config_cancel(room: &BareJid) -> IqRequest {
    owner_query(room, true, Some(forms::cancel().into()))
}

fn owner_query(room: &BareJid, set: bool, child: Option<Element>) -> IqRequest {
    let mut query = Element::builder("query", MUC_OWNER);
    if let Some(child) = child {
        query = query.append(child);
    }
    let to = Some(room_address(room));
    if set { IqRequest::set(to, query.build()) } else { IqRequest::get(to, query.build()) }
}

/// XEP-0425: asks the room to remove someone's message, named by the room's stanza-id for it
/// (the one stamped `by` the room).
pub fn remove_message(room: &BareJid, stanza_id: &str, reason: Option<&str>, version: ModerationVersion) -> IqRequest {
    let reason_in = |ns: &str| reason.filter(|r| !r.trim().is_empty()).map(|r| Element::builder("reason", ns).append(r).build());
    let payload = match version {
        ModerationVersion::Current => {
            let mut moderate = Element::builder("moderate", MODERATE).attr(xml_ncname!("id").into(), stanza_id).append(Element::builder("retract", RETRACT).build());
            if let Some(reason) = reason_in(MODERATE) {
                moderate = moderate.append(reason);
            }
            moderate.build()
        }
        ModerationVersion::Legacy => {
            let mut moderate = Element::builder("moderate", MODERATE_0).append(Element::builder("retract", RETRACT_0).build());
            if let Some(reason) = reason_in(MODERATE_0) {
                moderate = moderate.append(reason);
            }
            Element::builder("apply-to", FASTEN).attr(xml_ncname!("id").into(), stanza_id).append(moderate.build()).build()
        }
    };
    IqRequest::set(Some(room_address(room)), payload)
}

/// The room saying a moderator removed a message.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationNotice {
    pub room: String,
    /// The room's stanza-id of the removed message.
    pub stanza_id: String,
    /// The moderator as the room names them (`room@service/nick`), if it does.
    pub moderator: Option<String>,
    /// The moderator's XEP-0421 occupant id, if the room gives it.
    pub moderator_occupant_id: Option<String>,
    pub reason: Option<String>,
}

/// The moderation notice a message carries (`None`: none; a retraction by the author is not one).
/// `room` is the joined room the session routed the message to; the notice is accepted only from
/// that room's bare JID, on a groupchat message.
pub fn moderation_notice(message: &XmppMessage, room: &BareJid) -> Option<Result<ModerationNotice, Rejection>> {
    let (target, moderated, reason) = current_notice(message).or_else(|| legacy_notice(message))?;
    let from = message.from.as_ref();
    let from_room = from.is_some_and(|f| f.resource().is_none() && f.to_bare() == *room);
    if !from_room || message.type_ != MessageType::Groupchat {
        return Some(Err(Rejection::ForeignModeration { from: from.map(|f| f.to_string()).unwrap_or_default() }));
    }
    let Some(stanza_id) = target.filter(|id| !id.is_empty() && id.chars().count() <= MAX_ID_CHARS) else {
        return Some(Err(Rejection::Malformed { what: "moderation notice", detail: "no valid message id".into() }));
    };
    let text = |t: &str| Some(clean_text(t, MAX_TEXT_CHARS)).filter(|t| !t.trim().is_empty());
    Some(Ok(ModerationNotice {
        room: room.to_string(),
        stanza_id: stanza_id.to_owned(),
        moderator: moderated.attr("by").and_then(text),
        moderator_occupant_id: moderated.get_child("occupant-id", OCCUPANT_ID).and_then(|o| o.attr("id")).filter(|id| id.chars().count() <= MAX_ID_CHARS).map(str::to_owned),
        reason: reason.and_then(|r| text(&r.text())),
    }))
}

/// XEP-0425 0.3: `<retract id><moderated by/><reason/></retract>`. ejabberd has sent the
/// `moderated` element in the 0.2 namespace inside this form, so either is read.
fn current_notice(message: &XmppMessage) -> Option<(Option<&str>, &Element, Option<&Element>)> {
    let retract = message.payloads.iter().find(|p| p.is("retract", RETRACT))?;
    let moderated = retract.children().find(|c| c.name() == "moderated" && (c.ns() == MODERATE || c.ns() == MODERATE_0))?;
    let reason = retract.children().find(|c| c.name() == "reason").or_else(|| moderated.children().find(|c| c.name() == "reason"));
    Some((retract.attr("id"), moderated, reason))
}

/// XEP-0425 0.2: `<apply-to id><moderated by><retract/><reason/></moderated></apply-to>`.
fn legacy_notice(message: &XmppMessage) -> Option<(Option<&str>, &Element, Option<&Element>)> {
    let apply_to = message.payloads.iter().find(|p| p.is("apply-to", FASTEN))?;
    let moderated = apply_to.get_child("moderated", MODERATE_0)?;
    moderated.get_child("retract", RETRACT_0)?;
    Some((apply_to.attr("id"), moderated, moderated.get_child("reason", MODERATE_0)))
}

/// What a room's archive keeps in place of a removed message (a tombstone).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    pub moderator: Option<String>,
    pub reason: Option<String>,
}

/// The tombstone of a moderated message, in a result from the room's archive (trust comes from
/// the archive result, which the MAM rules check; a live message is never a tombstone).
/// XEP-0425 0.3: `<retracted><moderated/><reason/></retracted>`; 0.2: `<moderated><retracted/>
/// <reason/></moderated>`.
pub fn tombstone(archived: &XmppMessage) -> Option<Tombstone> {
    let text = |t: String| Some(clean_text(&t, MAX_TEXT_CHARS)).filter(|t| !t.trim().is_empty());
    let (moderated, reason) = if let Some(retracted) = archived.payloads.iter().find(|p| p.is("retracted", RETRACT)) {
        let moderated = retracted.children().find(|c| c.name() == "moderated" && (c.ns() == MODERATE || c.ns() == MODERATE_0))?;
        (moderated, retracted.children().find(|c| c.name() == "reason").or_else(|| moderated.children().find(|c| c.name() == "reason")))
    } else {
        let moderated = archived.payloads.iter().find(|p| p.is("moderated", MODERATE_0))?;
        moderated.get_child("retracted", RETRACT_0)?;
        (moderated, moderated.get_child("reason", MODERATE_0))
    };
    Some(Tombstone { moderator: moderated.attr("by").map(str::to_owned).and_then(text), reason: reason.and_then(|r| text(r.text())) })
}

#[cfg(test)]
#[path = "moderation_tests.rs"]
mod tests;
