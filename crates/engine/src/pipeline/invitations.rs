//! Invitations to rooms: direct ones (XEP-0249, `jabber:x:conference`, sent by the inviter) and
//! mediated ones (XEP-0045 §7.8.2, relayed by the room with the inviter in `<invite from>`).
//!
//! A mediated invitation is only believable from the room itself (its bare JID), and only to that
//! room: anything else could lure us into a room the "inviter" never chose. Whether the sender is
//! a room at all, this module cannot know: an account could relay a "mediated" invitation to its
//! own address naming any inviter. The session should show the room's address with the inviter,
//! and may check the room's disco identity (conference/text) before offering to join.

use serde::{Deserialize, Serialize};
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Id, Message as XmppMessage, MessageType};
use xmpp_parsers::minidom::rxml::xml_ncname;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::muc::user::{Decline, Invite, MucUser};
use xmpp_parsers::ns;

use super::{clean_text, Rejection, MAX_TEXT_CHARS};

pub const CONFERENCE: &str = "jabber:x:conference";
const MAX_PASSWORD_CHARS: usize = 1024;

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationKind {
    /// XEP-0249: the inviter wrote to us.
    Direct,
    /// XEP-0045: the room relayed it.
    Mediated,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// The room's bare JID.
    pub room: String,
    /// Who invites us: their bare JID, or their occupant JID (`room@service/nick`) when the room
    /// does not reveal real JIDs (Prosody).
    pub from: String,
    pub reason: Option<String>,
    pub password: Option<String>,
    pub kind: InvitationKind,
}

/// The invitation a message carries (`None`: none). A mediated invitation wins over the
/// `jabber:x:conference` element Prosody adds to it.
pub fn invitation(message: &XmppMessage) -> Option<Result<Invitation, Rejection>> {
    if message.type_ == MessageType::Error {
        return None;
    }
    if let Some(x) = message.payloads.iter().find(|p| p.is("x", ns::MUC_USER) && p.get_child("invite", ns::MUC_USER).is_some()) {
        return Some(mediated_invitation(message, x));
    }
    let x = message.payloads.iter().find(|p| p.is("x", CONFERENCE))?;
    Some(direct_invitation(message, x))
}

fn direct_invitation(message: &XmppMessage, x: &Element) -> Result<Invitation, Rejection> {
    let inviter = message.from.as_ref().ok_or(Rejection::NoSender { kind: "invitation" })?;
    let room = x.attr("jid").and_then(room_jid).ok_or_else(|| malformed(format!("room '{}' is not a room address", x.attr("jid").unwrap_or(""))))?;
    if inviter.to_bare() == room {
        return Err(Rejection::ForgedInvitation { from: inviter.to_string(), room: room.to_string() });
    }
    Ok(Invitation {
        room: room.to_string(),
        from: inviter.to_bare().to_string(),
        reason: reason(x.attr("reason")),
        password: password(x.attr("password")),
        kind: InvitationKind::Direct,
    })
}

fn mediated_invitation(message: &XmppMessage, x: &Element) -> Result<Invitation, Rejection> {
    let sender = message.from.as_ref().ok_or(Rejection::NoSender { kind: "invitation" })?;
    if sender.resource().is_some() || sender.node().is_none() {
        return Err(Rejection::ForgedInvitation { from: sender.to_string(), room: sender.to_bare().to_string() });
    }
    let room = sender.to_bare();
    // Prosody also names the room in a jabber:x:conference element; it must be the same room.
    let named = message.payloads.iter().find(|p| p.is("x", CONFERENCE)).and_then(|c| c.attr("jid"));
    if let Some(named) = named {
        if room_jid(named).as_ref() != Some(&room) {
            return Err(Rejection::ForgedInvitation { from: sender.to_string(), room: named.to_owned() });
        }
    }
    let user = MucUser::try_from(x.clone()).map_err(|e| malformed(e.to_string()))?;
    let invite = user.invite.ok_or_else(|| malformed("no invite".into()))?;
    let inviter = invite.from.ok_or_else(|| malformed("mediated invitation without an inviter".into()))?;
    // The room names the inviter by real JID, or (Prosody 0.12) by occupant JID: room/nick.
    let occupant = inviter.to_bare() == room && inviter.resource().is_some();
    if inviter.to_bare() == room && !occupant {
        return Err(Rejection::ForgedInvitation { from: inviter.to_string(), room: room.to_string() });
    }
    // MucUser has no field for the password (XEP-0045 Example 58): read it from the element.
    let password_text = x.get_child("password", ns::MUC_USER).map(|p| p.text());
    Ok(Invitation {
        room: room.to_string(),
        from: if occupant { inviter.to_string() } else { inviter.to_bare().to_string() },
        reason: reason(invite.reason.as_deref()),
        password: password(password_text.as_deref()),
        kind: InvitationKind::Mediated,
    })
}

fn room_jid(text: &str) -> Option<BareJid> {
    BareJid::new(text).ok().filter(|jid| jid.node().is_some())
}

fn reason(text: Option<&str>) -> Option<String> {
    text.map(|r| clean_text(r, MAX_TEXT_CHARS)).filter(|r| !r.trim().is_empty())
}

fn password(text: Option<&str>) -> Option<String> {
    text.filter(|p| !p.is_empty() && p.chars().count() <= MAX_PASSWORD_CHARS).map(str::to_owned)
}

fn malformed(detail: String) -> Rejection {
    Rejection::Malformed { what: "invitation", detail }
}

/// XEP-0249: we invite `invitee` to `room` ourselves.
pub fn direct(invitee: &BareJid, room: &BareJid, reason: Option<&str>, password: Option<&str>) -> XmppMessage {
    let mut x = Element::builder("x", CONFERENCE).attr(xml_ncname!("jid").into(), room.as_str());
    if let Some(reason) = reason.filter(|r| !r.is_empty()) {
        x = x.attr(xml_ncname!("reason").into(), reason);
    }
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        x = x.attr(xml_ncname!("password").into(), password);
    }
    with_id(XmppMessage::new(Some(Jid::from(invitee.clone()))), x.build())
}

/// XEP-0045 §7.8.2: we ask `room` to invite `invitee` (needed in members-only rooms, where the
/// room adds them to the member list).
pub fn mediated(room: &BareJid, invitee: &BareJid, reason: Option<&str>) -> XmppMessage {
    let invite = Invite { from: None, to: Some(Jid::from(invitee.clone())), reason: reason.filter(|r| !r.is_empty()).map(str::to_owned) };
    let user = MucUser { invite: Some(invite), ..MucUser::new() };
    with_id(normal(room), user.into())
}

/// XEP-0045 §7.8.2: we decline a mediated invitation; the room tells `inviter`.
pub fn decline(room: &BareJid, inviter: &Jid, reason: Option<&str>) -> XmppMessage {
    let decline = Decline { from: None, to: Some(inviter.clone()), reason: reason.filter(|r| !r.is_empty()).map(str::to_owned) };
    let user = MucUser { decline: Some(decline), ..MucUser::new() };
    with_id(normal(room), user.into())
}

/// A room handles invitations and declines only in `normal` messages (Prosody ignores others).
fn normal(room: &BareJid) -> XmppMessage {
    XmppMessage::new_with_type(MessageType::Normal, Some(Jid::from(room.clone())))
}

fn with_id(mut message: XmppMessage, payload: Element) -> XmppMessage {
    message.id = Some(Id(uuid::Uuid::new_v4().to_string()));
    message.payloads.push(payload);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(xml: &str) -> XmppMessage {
        XmppMessage::try_from(xml.parse::<Element>().unwrap()).unwrap()
    }

    /// XEP-0045 Example 58, with the jabber:x:conference element Prosody adds.
    fn mediated_from(room: &str, inviter: &str, named: &str) -> XmppMessage {
        message(&format!(
            "<message xmlns='jabber:client' from='{room}' id='nzd143v8' to='hecate@shakespeare.lit'>\
               <x xmlns='http://jabber.org/protocol/muc#user'>\
                 <invite from='{inviter}'><reason>Hey Hecate, this is the place for all good witches!</reason></invite>\
                 <password>cauldronburn</password></x>\
               <x xmlns='jabber:x:conference' jid='{named}'/>\
             </message>"
        ))
    }

    #[test]
    fn a_direct_invitation_is_read() {
        // XEP-0249 Example 1.
        let m = message(
            "<message xmlns='jabber:client' from='crone1@shakespeare.lit/desktop' to='hecate@shakespeare.lit'>\
               <x xmlns='jabber:x:conference' jid='darkcave@macbeth.shakespeare.lit' password='cauldronburn' reason='Hey Hecate, this is the place for all good witches!'/>\
             </message>",
        );
        let invitation = invitation(&m).unwrap().unwrap();
        assert_eq!(
            invitation,
            Invitation {
                room: "darkcave@macbeth.shakespeare.lit".into(),
                from: "crone1@shakespeare.lit".into(),
                reason: Some("Hey Hecate, this is the place for all good witches!".into()),
                password: Some("cauldronburn".into()),
                kind: InvitationKind::Direct,
            }
        );
    }

    #[test]
    fn a_mediated_invitation_from_the_room_is_read() {
        let room = "coven@chat.shakespeare.lit";
        let invitation = invitation(&mediated_from(room, "crone1@shakespeare.lit/desktop", room)).unwrap().unwrap();
        assert_eq!(invitation.kind, InvitationKind::Mediated);
        assert_eq!((invitation.room.as_str(), invitation.from.as_str()), (room, "crone1@shakespeare.lit"));
        assert_eq!(invitation.password.as_deref(), Some("cauldronburn"));
        assert!(invitation.reason.unwrap().starts_with("Hey Hecate"));
    }

    #[test]
    fn a_mediated_invitation_may_name_the_inviter_by_occupant_jid() {
        // Prosody 0.12 names the inviter by their occupant JID (their real JID may be hidden).
        let room = "coven@chat.shakespeare.lit";
        let read = invitation(&mediated_from(room, &format!("{room}/crone1"), room)).unwrap().unwrap();
        assert_eq!((read.room.as_str(), read.from.as_str(), read.kind), (room, "coven@chat.shakespeare.lit/crone1", InvitationKind::Mediated));
    }

    #[test]
    fn a_mediated_invitation_not_from_the_room_it_names_is_rejected() {
        let room = "coven@chat.shakespeare.lit";
        let cases = [
            // An occupant (full JID) relaying an "invitation".
            (format!("{room}/eve"), "crone1@shakespeare.lit/desktop", room.to_owned()),
            // Someone naming a room they are not.
            ("eve@evil.example".to_owned(), "crone1@shakespeare.lit", room.to_owned()),
            // The room relays, but the conference element names another room.
            (room.to_owned(), "crone1@shakespeare.lit", "trap@evil.example".to_owned()),
            // A server is not a room.
            ("shakespeare.lit".to_owned(), "crone1@shakespeare.lit", "shakespeare.lit".to_owned()),
            // The "inviter" is the room itself.
            (room.to_owned(), room, room.to_owned()),
        ];
        for (from, inviter, named) in cases {
            let result = invitation(&mediated_from(&from, inviter, &named)).unwrap();
            assert!(matches!(result, Err(Rejection::ForgedInvitation { .. })), "{from} / {named}: {result:?}");
        }
    }

    #[test]
    fn nonsense_invitations_are_rejected() {
        for jid in ["", "chat.shakespeare.lit", "room@chat.shakespeare.lit/nick", "not a jid@@"] {
            let m = message(&format!("<message xmlns='jabber:client' from='crone1@shakespeare.lit/d'><x xmlns='jabber:x:conference' jid='{jid}'/></message>"));
            assert!(matches!(invitation(&m).unwrap(), Err(Rejection::Malformed { .. })), "{jid}");
        }
        let no_inviter = message(
            "<message xmlns='jabber:client' from='coven@chat.shakespeare.lit'><x xmlns='http://jabber.org/protocol/muc#user'><invite/></x></message>",
        );
        assert!(matches!(invitation(&no_inviter).unwrap(), Err(Rejection::Malformed { .. })));
        let no_from = message("<message xmlns='jabber:client'><x xmlns='jabber:x:conference' jid='a@b.c'/></message>");
        assert!(matches!(invitation(&no_from).unwrap(), Err(Rejection::NoSender { .. })));
        let plain = message("<message xmlns='jabber:client' from='a@b.c/d'><body>hi</body></message>");
        assert!(invitation(&plain).is_none());
        // A room's presence-like muc#user element without an invite is not an invitation.
        let status = message("<message xmlns='jabber:client' from='coven@chat.shakespeare.lit'><x xmlns='http://jabber.org/protocol/muc#user'><status code='104'/></x></message>");
        assert!(invitation(&status).is_none());
    }

    #[test]
    fn hostile_reasons_and_passwords_are_bounded() {
        let m = message(&format!(
            "<message xmlns='jabber:client' from='crone1@shakespeare.lit/d'><x xmlns='jabber:x:conference' jid='a@b.c' reason='x\u{9b}{}' password='{}'/></message>",
            "r".repeat(5000),
            "p".repeat(5000)
        ));
        let invitation = invitation(&m).unwrap().unwrap();
        assert_eq!(invitation.reason.as_ref().unwrap().chars().count(), MAX_TEXT_CHARS);
        assert!(!invitation.reason.unwrap().contains('\u{9b}'));
        assert_eq!(invitation.password, None);
    }

    #[test]
    fn outgoing_invitations_and_declines_read_back() {
        let room = BareJid::new("coven@chat.shakespeare.lit").unwrap();
        let hecate = BareJid::new("hecate@shakespeare.lit").unwrap();
        let mut direct = direct(&hecate, &room, Some("come"), Some("secret"));
        assert_eq!(direct.to.as_ref().unwrap().to_string(), "hecate@shakespeare.lit");
        direct.from = Some("crone1@shakespeare.lit/desktop".parse().unwrap());
        let read = invitation(&direct).unwrap().unwrap();
        assert_eq!((read.room.as_str(), read.password.as_deref(), read.reason.as_deref()), (room.as_str(), Some("secret"), Some("come")));

        let mediated = mediated(&room, &hecate, Some("come"));
        assert_eq!(mediated.to.as_ref().unwrap().to_string(), room.as_str());
        assert_eq!(mediated.type_, MessageType::Normal, "rooms relay invitations only from normal messages");
        let user = MucUser::try_from(mediated.payloads[0].clone()).unwrap();
        let invite = user.invite.unwrap();
        assert_eq!((invite.to.unwrap().to_string(), invite.reason.as_deref()), ("hecate@shakespeare.lit".to_owned(), Some("come")));

        let decline = decline(&room, &"crone1@shakespeare.lit".parse().unwrap(), Some("busy"));
        let user = MucUser::try_from(decline.payloads[0].clone()).unwrap();
        assert_eq!(user.decline.unwrap().to.unwrap().to_string(), "crone1@shakespeare.lit");
        assert!(decline.id.is_some());
        assert_eq!(decline.type_, MessageType::Normal);
    }
}
