//! Roster (RFC 6121 §2): the versioned fetch after sign-in and pushes from our server.

use xmpp_parsers::roster::Roster;

use super::{Session, Shared};
use crate::error::{EngineError, Result};
use crate::events::{Batch, Event};
use crate::pipeline::roster_item;
use crate::types::Subscription;

/// Fetches the roster, or only confirms the cached one when the server supports versioning and
/// nothing changed. Emits `RosterLoaded` either way.
pub async fn fetch(session: &Session, versioning: bool) -> Result<()> {
    let shared = &session.shared;
    let cached_version = if versioning { shared.store.roster()?.0.or(Some(String::new())) } else { None };
    let query = Roster { ver: cached_version, items: vec![] };
    let answer = session.iq(None, false, query.into()).await?;
    if let Some(element) = answer {
        let roster = Roster::try_from(element).map_err(EngineError::protocol)?;
        let items: Vec<_> = roster.items.iter().map(roster_item).filter(|i| i.subscription != Subscription::Remove).collect();
        shared.store.save_roster(roster.ver.as_deref(), &items)?;
        let mut snapshot = shared.snapshot.lock().unwrap();
        snapshot.roster = items.into_iter().map(|item| (item.jid.clone(), item)).collect();
    } else {
        // Unchanged since our version: the cache is current (re-read, another process sharing
        // the profile may have saved a newer one since we started).
        let (_, items) = shared.store.roster()?;
        shared.snapshot.lock().unwrap().roster = items.into_iter().map(|item| (item.jid.clone(), item)).collect();
    }
    let items = session.roster();
    tracing::info!(contacts = items.len(), "roster loaded");
    let _ = shared.events.send(Event::RosterLoaded { items });
    Ok(())
}

/// Applies a verified push (one item) to the store, the snapshot and the batch's events.
pub fn apply_push(shared: &Shared, roster: Roster, batch: &mut Batch) {
    let Some(item) = roster.items.first() else { return };
    let item = roster_item(item);
    if let Err(error) = shared.store.apply_roster_item(roster.ver.as_deref(), &item) {
        tracing::error!(%error, "storing a roster push failed");
    }
    let mut snapshot = shared.snapshot.lock().unwrap();
    if item.subscription == Subscription::Remove {
        snapshot.roster.remove(&item.jid);
        batch.roster_changed.remove(&item.jid);
        batch.roster_removed.push(item.jid);
    } else {
        snapshot.roster.insert(item.jid.clone(), item.clone());
        batch.roster_changed.insert(item.jid.clone(), item);
    }
}

/// Whether the contact is allowed to see our presence (subscription `from` or `both`), the test
/// for sending them receipts and markers, which reveal as much.
pub fn may_see_presence(roster: &std::collections::BTreeMap<String, crate::types::RosterItem>, contact: &xmpp_parsers::jid::BareJid) -> bool {
    roster.get(contact.as_str()).is_some_and(|item| matches!(item.subscription, Subscription::From | Subscription::Both))
}
