//! Presence: aggregation of a contact's resources, our own presence stanza, and what we tell
//! others about ourselves (XEP-0030 disco#info, XEP-0115 caps, XEP-0092 version).

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use xmpp_parsers::caps::{compute_disco, hash_caps, Caps};
use xmpp_parsers::disco::{DiscoInfoResult, Identity};
use xmpp_parsers::hashes::Algo;
use xmpp_parsers::presence::{Presence, Show, Type as PresenceType};

use crate::events::{Batch, Event};
use crate::pipeline::{self, PresenceUpdate};
use crate::types::{Availability, ContactPresence, OwnPresence, ResourcePresence};

pub const CAPS_NODE: &str = "https://rapport.im";

/// The resource to show: highest priority, then most available, then name for stability.
pub fn aggregate(jid: &str, resources: &BTreeMap<String, ResourcePresence>) -> ContactPresence {
    let mut sorted: Vec<ResourcePresence> = resources.values().cloned().collect();
    sorted.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.availability.cmp(&b.availability)).then(a.resource.cmp(&b.resource)));
    let best = sorted.first();
    ContactPresence {
        jid: jid.to_owned(),
        availability: best.map(|r| r.availability).unwrap_or(Availability::Offline),
        status: best.and_then(|r| r.status.clone()),
        resources: sorted,
    }
}

pub fn own_presence_stanza(presence: OwnPresence, status: Option<&str>) -> Presence {
    let show = match presence {
        OwnPresence::Invisible => return Presence::new(PresenceType::Unavailable),
        OwnPresence::Available => None,
        OwnPresence::Chat => Some(Show::Chat),
        OwnPresence::Away => Some(Show::Away),
        OwnPresence::ExtendedAway => Some(Show::Xa),
        OwnPresence::DoNotDisturb => Some(Show::Dnd),
    };
    let mut stanza = Presence::available();
    stanza.show = show;
    if let Some(status) = status.filter(|s| !s.is_empty()) {
        stanza.statuses.insert(xmpp_parsers::message::Lang::default(), status.to_owned());
    }
    stanza.payloads.push(caps().into());
    stanza
}

pub fn features() -> BTreeSet<String> {
    [
        "http://jabber.org/protocol/caps",
        "http://jabber.org/protocol/disco#info",
        "jabber:iq:version",
        "urn:xmpp:ping",
        "urn:xmpp:sid:0",
        "urn:xmpp:delay",
        // Our account's bookmark changes (XEP-0402) are pushed to us.
        "urn:xmpp:bookmarks:1+notify",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

pub fn disco_info(node: Option<String>) -> DiscoInfoResult {
    DiscoInfoResult {
        node,
        identities: vec![Identity::new("client", "pc", "en", "Rapport")],
        features: features(),
        extensions: vec![],
    }
}

pub fn caps() -> Caps {
    let hash = hash_caps(&compute_disco(&disco_info(None)), Algo::Sha_1).expect("sha-1 is supported");
    Caps::new(CAPS_NODE, hash)
}

/// The `node#ver` string others use to query our capabilities.
pub fn caps_node() -> String {
    format!("{CAPS_NODE}#{}", base64::engine::general_purpose::STANDARD.encode(caps().ver))
}

/// Contacts' presence and subscription requests (room presence goes to `room_actor.rs`).
impl super::actor::Actor {
    pub(super) fn on_presence(&self, stanza: &Presence, batch: &mut Batch) {
        let update = match pipeline::classify_presence(stanza, &self.shared.account) {
            Ok(update) => update,
            Err(rejection) => return tracing::warn!(%rejection, "presence rejected"),
        };
        let mut snapshot = self.shared.snapshot.lock().unwrap();
        let changed = match update {
            PresenceUpdate::Available { contact, presence } => {
                let resources = snapshot.presence.entry(contact.to_string()).or_default();
                resources.insert(presence.resource.clone(), presence);
                Some(contact.to_string())
            }
            PresenceUpdate::Unavailable { contact, resource } => {
                let key = contact.to_string();
                if let Some(resources) = snapshot.presence.get_mut(&key) {
                    match resource {
                        Some(resource) => {
                            resources.remove(&resource);
                        }
                        None => resources.clear(),
                    }
                    if resources.is_empty() {
                        snapshot.presence.remove(&key);
                    }
                }
                Some(key)
            }
            PresenceUpdate::SubscriptionRequest { from } => {
                if snapshot.subscription_requests.insert(from.to_string()) {
                    batch.other.push(Event::SubscriptionRequest { from: from.to_string() });
                }
                None
            }
            PresenceUpdate::Subscribed { from } => subscription_change(batch, &from, "subscribed"),
            PresenceUpdate::Unsubscribed { from } => subscription_change(batch, &from, "unsubscribed"),
            PresenceUpdate::Unsubscribe { from } => subscription_change(batch, &from, "unsubscribe"),
            PresenceUpdate::OwnResource | PresenceUpdate::Ignored => None,
        };
        if let Some(jid) = changed {
            let empty = BTreeMap::new();
            let aggregated = aggregate(&jid, snapshot.presence.get(&jid).unwrap_or(&empty));
            batch.presence.insert(jid, aggregated);
        }
    }

}

fn subscription_change(batch: &mut Batch, from: &xmpp_parsers::jid::BareJid, change: &str) -> Option<String> {
    batch.other.push(Event::SubscriptionChanged { jid: from.to_string(), change: change.into() });
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(name: &str, availability: Availability, priority: i8) -> ResourcePresence {
        ResourcePresence { resource: name.into(), availability, status: Some(name.into()), priority }
    }

    #[test]
    fn aggregation_prefers_priority_then_availability() {
        let mut resources = BTreeMap::new();
        resources.insert("phone".into(), resource("phone", Availability::Available, 0));
        resources.insert("desk".into(), resource("desk", Availability::Away, 5));
        assert_eq!(aggregate("a@b", &resources).status.as_deref(), Some("desk"));
        resources.insert("desk".into(), resource("desk", Availability::Away, 0));
        assert_eq!(aggregate("a@b", &resources).availability, Availability::Available);
        assert_eq!(aggregate("a@b", &BTreeMap::new()).availability, Availability::Offline);
    }

    #[test]
    fn own_presence_carries_show_status_and_caps() {
        let stanza = own_presence_stanza(OwnPresence::DoNotDisturb, Some("in a meeting"));
        assert_eq!(stanza.show, Some(Show::Dnd));
        assert_eq!(stanza.statuses.values().next().map(String::as_str), Some("in a meeting"));
        assert_eq!(stanza.payloads.len(), 1);
        assert_eq!(own_presence_stanza(OwnPresence::Invisible, None).type_, PresenceType::Unavailable);
        assert!(caps_node().starts_with("https://rapport.im#"));
    }
}
