//! Room invitations: inbound ones become `InvitationReceived` (never a join: the user decides),
//! declines of ours `InvitationDeclined`; `invite` and `decline_invitation` send them. The
//! stanzas and the rule that a mediated invitation comes from the room it names are in
//! `pipeline/invitations.rs`.

use tokio_xmpp::Stanza;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::Message as XmppMessage;
use xmpp_parsers::muc::user::MucUser;
use xmpp_parsers::ns;

use super::actor::Actor;
use super::rooms::parse_room_jid;
use super::{Command, Session};
use crate::config::parse_contact_jid;
use crate::error::{EngineError, Result};
use crate::events::{Batch, Event};
use crate::pipeline::invitations::{self, Invitation};
use crate::pipeline::{clean_text, MAX_TEXT_CHARS};

/// disco#info feature of a members-only room (XEP-0045 §17.1).
const MEMBERS_ONLY: &str = "muc_membersonly";

impl Session {
    /// Invites `jid` to `room`. A members-only room gets a mediated invitation (XEP-0045
    /// §7.8.2): the room relays it and makes the invitee a member, so they can actually join.
    /// Any other room gets a direct one (XEP-0249), which reaches the invitee even if the room
    /// would not relay it. One invitation either way, so the invitee is asked once.
    pub async fn invite(&self, room: &str, jid: &str, reason: Option<&str>) -> Result<()> {
        let room = parse_room_jid(room)?;
        let invitee = parse_contact_jid(jid)?;
        let reason = reason.map(|r| clean_text(r.trim(), MAX_TEXT_CHARS));
        let members_only = match self.disco_info(room.as_str()).await {
            Ok(info) => info.features.iter().any(|f| f == MEMBERS_ONLY),
            Err(error) => {
                tracing::info!(%error, room = %room, "room features unknown; inviting directly");
                false
            }
        };
        let stanza = if members_only {
            invitations::mediated(&room, &invitee, reason.as_deref())
        } else {
            invitations::direct(&invitee, &room, reason.as_deref(), None)
        };
        self.send_now(stanza).await
    }

    /// Declines an invitation: the room tells the inviter (XEP-0045 §7.8.2; XEP-0249 has no
    /// decline of its own, and the room relays it for a direct invitation too).
    pub async fn decline_invitation(&self, invitation: &Invitation, reason: Option<&str>) -> Result<()> {
        let room = parse_room_jid(&invitation.room)?;
        // A real JID, or an occupant JID of the room (see `Invitation::from`).
        let inviter: Jid = invitation.from.parse().map_err(|e: xmpp_parsers::jid::Error| EngineError::InvalidJid { input: invitation.from.clone(), reason: e.to_string() })?;
        let reason = reason.map(|r| clean_text(r.trim(), MAX_TEXT_CHARS));
        self.send_now(invitations::decline(&room, &inviter, reason.as_deref())).await
    }

    /// Sends a stanza now; `NotConnected` when offline (nothing is queued).
    async fn send_now(&self, message: XmppMessage) -> Result<()> {
        if !self.is_online() {
            return Err(EngineError::NotConnected);
        }
        self.command(Command::SendNow { stanza: Box::new(Stanza::Message(message)) }).await
    }
}

impl Actor {
    /// An invitation, or a room telling us someone declined ours; `true` when the message was
    /// one of those (it is then not a chat message).
    pub(super) fn on_invitation(&mut self, message: &XmppMessage, batch: &mut Batch) -> bool {
        if message.payloads.iter().any(|p| p.is("x", ns::MUC_USER) && p.get_child("decline", ns::MUC_USER).is_some()) {
            batch.other.extend(self.declined(message));
            return true;
        }
        match invitations::invitation(message) {
            None => false,
            Some(Ok(invitation)) => {
                batch.other.push(Event::InvitationReceived { invitation });
                true
            }
            Some(Err(rejection)) => {
                tracing::warn!(%rejection, "invitation rejected");
                true
            }
        }
    }

    /// A decline relayed by a room we know, from that room's bare JID only.
    fn declined(&self, message: &XmppMessage) -> Option<Event> {
        let x = message.payloads.iter().find(|p| p.is("x", ns::MUC_USER))?;
        let from = message.from.as_ref().filter(|f| f.resource().is_none())?;
        let room = from.to_bare();
        if !self.shared.snapshot.lock().unwrap().rooms.contains_key(room.as_str()) {
            tracing::warn!(from = %from, "decline from something that is not a room of ours ignored");
            return None;
        }
        let decline = MucUser::try_from(x.clone()).ok()?.decline?;
        let by = decline.from?.to_bare().to_string();
        let reason = decline.reason.map(|r| clean_text(&r, MAX_TEXT_CHARS)).filter(|r| !r.trim().is_empty());
        Some(Event::InvitationDeclined { room: room.to_string(), by, reason })
    }
}
