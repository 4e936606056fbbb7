//! Roster, presence and 1:1 messages between two real accounts on Prosody and ejabberd, and
//! hostile stanzas a contact can push through a real server.

mod common;

use common::*;
use rapport_engine::events::Event;
use rapport_engine::types::{Availability, DeliveryState, Direction, OwnPresence, Subscription};
use rapport_system_tests::raw::RawClient;
use rapport_system_tests::server::XmppServer;

async fn contacts_are_added_renamed_grouped_and_removed(server: &XmppServer) {
    let alice = server.create_user("alice");
    let bob = server.create_user("bob");
    let mut a = sign_in(server, &alice).await;
    a.session.add_contact(&bob.jid, Some("Bob"), &["Work".into()]).await.unwrap();
    let item = expect_event(&mut a.events, "roster push for bob", |e| match e {
        Event::RosterUpdated { changed, .. } => changed.iter().find(|i| i.jid == bob.jid).cloned(),
        _ => None,
    })
    .await;
    assert_eq!(item.name.as_deref(), Some("Bob"));
    assert_eq!(item.groups, vec!["Work".to_string()]);

    a.session.rename_contact(&bob.jid, Some("Robert")).await.unwrap();
    a.session.set_contact_groups(&bob.jid, &["Friends".into(), "Work".into()]).await.unwrap();
    eventually("rename and groups applied", || {
        a.session.roster().into_iter().find(|i| i.jid == bob.jid && i.name.as_deref() == Some("Robert") && i.groups.len() == 2)
    })
    .await;

    // The roster survives a new sign-in (versioned fetch where the server offers it).
    let dir = a.profile_dir.path().to_path_buf();
    a.session.disconnect().await;
    let again = rapport_engine::Session::start(&rapport_engine::Profile::at(&dir), account(server, &alice), alice.password.clone(), Default::default()).await.unwrap();
    let mut events = again.subscribe();
    // Online is announced only after the roster fetch, so RosterLoaded may already be past.
    again.wait_online(WAIT).await.unwrap();
    let items = again.roster();
    assert!(items.iter().any(|i| i.jid == bob.jid && i.name.as_deref() == Some("Robert")), "{items:?}");

    again.remove_contact(&bob.jid).await.unwrap();
    expect_event(&mut events, "removal", |e| match e {
        Event::RosterUpdated { removed, .. } if removed.contains(&bob.jid) => Some(()),
        _ => None,
    })
    .await;
    assert!(again.roster().iter().all(|i| i.jid != bob.jid));
}

async fn subscription_and_presence_flow_both_ways(server: &XmppServer) {
    let alice = server.create_user("alice");
    let bob = server.create_user("bob");
    let mut a = sign_in(server, &alice).await;
    let mut b = sign_in(server, &bob).await;

    a.session.add_contact(&bob.jid, None, &[]).await.unwrap();
    let from = expect_event(&mut b.events, "subscription request", |e| match e {
        Event::SubscriptionRequest { from } => Some(from.clone()),
        _ => None,
    })
    .await;
    assert_eq!(from, alice.jid);
    assert_eq!(b.session.subscription_requests(), vec![alice.jid.clone()]);
    b.session.approve_subscription(&alice.jid).await.unwrap();

    eventually("alice sees bob online", || (a.session.presence(&bob.jid).availability == Availability::Available).then_some(())).await;
    // Bob asked back when approving; Alice accepts, so both see each other.
    expect_event(&mut a.events, "bob's request back", |e| matches!(e, Event::SubscriptionRequest { from } if *from == bob.jid).then_some(())).await;
    a.session.approve_subscription(&bob.jid).await.unwrap();
    eventually("mutual subscription", || {
        a.session.roster().into_iter().find(|i| i.jid == bob.jid && i.subscription == Subscription::Both)
    })
    .await;

    b.session.set_presence(OwnPresence::DoNotDisturb, Some("in a meeting")).await.unwrap();
    let seen = expect_event(&mut a.events, "bob busy", |e| match e {
        Event::PresenceChanged { contacts } => contacts.iter().find(|c| c.jid == bob.jid && c.availability == Availability::DoNotDisturb).cloned(),
        _ => None,
    })
    .await;
    assert_eq!(seen.status.as_deref(), Some("in a meeting"));
    assert_eq!(seen.resources.len(), 1);

    b.session.disconnect().await;
    expect_event(&mut a.events, "bob offline", |e| match e {
        Event::PresenceChanged { contacts } => contacts.iter().find(|c| c.jid == bob.jid && c.availability == Availability::Offline).cloned(),
        _ => None,
    })
    .await;

    // Denying: Carol asks Alice, Alice refuses.
    let carol = server.create_user("carol");
    let mut c = sign_in(server, &carol).await;
    c.session.add_contact(&alice.jid, None, &[]).await.unwrap();
    expect_event(&mut a.events, "carol's request", |e| matches!(e, Event::SubscriptionRequest { from } if *from == carol.jid).then_some(())).await;
    a.session.deny_subscription(&carol.jid).await.unwrap();
    expect_event(&mut c.events, "refusal", |e| matches!(e, Event::SubscriptionChanged { jid, change } if *jid == alice.jid && change == "unsubscribed").then_some(())).await;
}

async fn messages_are_sent_stored_paged_and_searched(server: &XmppServer) {
    let alice = server.create_user("alice");
    let bob = server.create_user("bob");
    let mut a = sign_in(server, &alice).await;
    let mut b = sign_in(server, &bob).await;

    let sent = a.session.send_message(&bob.jid, "Hello Bob, the quarterly report is ready").await.unwrap();
    assert_eq!(sent.state, DeliveryState::Pending);
    assert!(sent.origin_id.is_some());
    expect_event(&mut a.events, "server ack", |e| matches!(e, Event::MessageUpdated { id, state: DeliveryState::Sent, .. } if *id == sent.id).then_some(())).await;

    let received = expect_event(&mut b.events, "message at bob", |e| match e {
        Event::MessagesReceived { messages, .. } => messages.first().cloned(),
        _ => None,
    })
    .await;
    assert_eq!(received.body, "Hello Bob, the quarterly report is ready");
    assert_eq!(received.conversation, alice.jid);
    assert_eq!(received.direction, Direction::Incoming);
    assert_eq!(received.origin_id, sent.origin_id, "origin-id travels with the message");

    for i in 0..30 {
        b.session.send_message(&alice.jid, &format!("reply number {i}")).await.unwrap();
    }
    let history = eventually("30 replies stored at alice", || {
        let history = futures_block(a.session.history(&bob.jid, None, 100));
        (history.len() == 31).then_some(history)
    })
    .await;
    assert_eq!(history[0].body, "reply number 29", "newest first");
    let page = a.session.history(&bob.jid, None, 10).await.unwrap();
    let older = a.session.history(&bob.jid, Some(page[9].id), 10).await.unwrap();
    assert_eq!(older[0].body, "reply number 19");
    assert!(page.iter().all(|m| older.iter().all(|o| o.id != m.id)), "pages do not overlap");

    let hits = a.session.search("quarterly", None, 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].message.id, sent.id);

    let conversations = a.session.conversations().await.unwrap();
    let row = conversations.iter().find(|c| c.jid == bob.jid).unwrap();
    assert_eq!(row.unread, 30);
    assert_eq!(row.last_message.as_ref().unwrap().body, "reply number 29");
    assert_eq!(a.session.mark_read(&bob.jid).await.unwrap(), 30);
    assert_eq!(a.session.conversations().await.unwrap().iter().find(|c| c.jid == bob.jid).unwrap().unread, 0);
}

fn futures_block<T>(future: impl std::future::Future<Output = rapport_engine::Result<T>>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future)).unwrap()
}

async fn messages_sent_while_offline_arrive_after_sign_in(server: &XmppServer) {
    let alice = server.create_user("alice");
    let bob = server.create_user("bob");
    let mut a = sign_in(server, &alice).await;
    let sent = a.session.send_message(&bob.jid, "are you there?").await.unwrap();
    expect_event(&mut a.events, "ack", |e| matches!(e, Event::MessageUpdated { id, state: DeliveryState::Sent, .. } if *id == sent.id).then_some(())).await;
    let b = sign_in(server, &bob).await;
    let history = eventually("offline message delivered", || {
        let history = futures_block(b.session.history(&alice.jid, None, 10));
        (!history.is_empty()).then_some(history)
    })
    .await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].body, "are you there?");
    assert!(history[0].timestamp <= sent.timestamp + 2_000, "the delay stamp is kept");
}

async fn invalid_addresses_and_empty_messages_get_typed_errors(server: &XmppServer) {
    let alice = server.create_user("alice");
    let a = sign_in(server, &alice).await;
    for bad in ["not a jid@@", "@example.org", "a@b/c\u{0}"] {
        assert_eq!(a.session.send_message(bad, "x").await.unwrap_err().code(), "invalid_jid", "{bad:?}");
    }
    assert_eq!(a.session.send_message("bob@localhost", "   ").await.unwrap_err().code(), "invalid_input");
    assert_eq!(a.session.add_contact(&alice.jid, None, &[]).await.unwrap_err().code(), "invalid_input");
}

async fn a_roster_push_from_a_contact_is_rejected(server: &'static XmppServer) {
    let alice = server.create_user("alice");
    let eve = server.create_user("eve");
    let a = sign_in(server, &alice).await;
    let target = a.session.bound_jid().unwrap();
    let eve2 = eve.clone();
    let mut raw = tokio::task::spawn_blocking(move || RawClient::login(server, &eve2).unwrap()).await.unwrap();
    raw.send(&format!(
        "<iq type='set' id='evil1' to='{target}'><query xmlns='jabber:iq:roster'>\
           <item jid='{eve}' name='Your Boss' subscription='both'/></query></iq>",
        eve = eve.jid
    ))
    .unwrap();
    let answer = raw.read_until("evil1", WAIT).unwrap();
    let answer = answer + &raw.read_until("</iq>", WAIT).unwrap_or_default();
    assert!(answer.contains("type='error'") || answer.contains("type=\"error\""), "the push was refused: {answer}");
    assert!(a.session.roster().iter().all(|i| i.jid != eve.jid), "the forged contact was not added");
}

async fn absurd_timestamps_and_forged_stanza_ids_from_a_contact_are_neutralised(server: &'static XmppServer) {
    let alice = server.create_user("alice");
    let eve = server.create_user("eve");
    let mut a = sign_in(server, &alice).await;
    let target = a.session.bound_jid().unwrap();
    let eve2 = eve.clone();
    let mut raw = tokio::task::spawn_blocking(move || RawClient::login(server, &eve2).unwrap()).await.unwrap();
    let before = now_ms();
    raw.send(&format!(
        "<message type='chat' to='{target}' id='t1'><body>from the future</body>\
           <delay xmlns='urn:xmpp:delay' stamp='9999-12-31T23:59:59Z'/>\
           <stanza-id xmlns='urn:xmpp:sid:0' id='forged-id' by='{alice}'/></message>",
        alice = alice.jid
    ))
    .unwrap();
    let message = expect_event(&mut a.events, "the message", |e| match e {
        Event::MessagesReceived { messages, .. } => messages.first().cloned(),
        _ => None,
    })
    .await;
    assert_eq!(message.body, "from the future");
    assert!(message.timestamp >= before && message.timestamp <= now_ms(), "clamped to the receive time");
    assert_ne!(message.stanza_id.as_deref(), Some("forged-id"), "only our server's stanza-id is trusted");
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

async fn a_burst_of_messages_is_coalesced_into_few_events(server: &XmppServer) {
    let alice = server.create_user("alice");
    let bob = server.create_user("bob");
    let mut a = sign_in(server, &alice).await;
    let b = sign_in(server, &bob).await;
    const COUNT: usize = 300;
    let started = std::time::Instant::now();
    for i in 0..COUNT {
        b.session.send_message(&alice.jid, &format!("burst {i}")).await.unwrap();
    }
    let mut received = 0;
    let mut events = 0;
    while received < COUNT {
        received += expect_event(&mut a.events, "burst messages", |e| match e {
            Event::MessagesReceived { messages, .. } => Some(messages.len()),
            _ => None,
        })
        .await;
        events += 1;
    }
    assert_eq!(received, COUNT, "every message exactly once");
    // At most one MessagesReceived per flush interval, whatever the arrival rate.
    let spread = started.elapsed();
    let allowed = 2 + (spread.as_millis() / rapport_engine::events::FLUSH_INTERVAL.as_millis()) as usize;
    assert!(events <= allowed, "{events} events in {spread:?} for {COUNT} messages");
    assert!(events < COUNT, "{events} events for {COUNT} messages");
    let stored = a.session.history(&bob.jid, None, 500).await.unwrap();
    assert_eq!(stored.len(), COUNT);
}

on_both_servers!(
    contacts_are_added_renamed_grouped_and_removed,
    subscription_and_presence_flow_both_ways,
    messages_are_sent_stored_paged_and_searched,
    messages_sent_while_offline_arrive_after_sign_in,
    invalid_addresses_and_empty_messages_get_typed_errors,
    a_roster_push_from_a_contact_is_rejected,
    absurd_timestamps_and_forged_stanza_ids_from_a_contact_are_neutralised,
    a_burst_of_messages_is_coalesced_into_few_events,
);
