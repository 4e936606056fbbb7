//! Group chat beyond talking, on the engine against real Prosody and ejabberd: bookmarks synced
//! between devices and across sessions (and forged bookmark pushes refused), invitations both
//! ways with declines, mentions, moderated retraction (and forged notices refused), and the room
//! configuration form.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use rapport_engine::events::Event;
use rapport_engine::pipeline::bookmarks::Bookmark;
use rapport_engine::pipeline::invitations::{Invitation, InvitationKind};
use rapport_engine::types::{Message, RoomState};
use rapport_engine::{Profile, Session};
use rapport_system_tests::raw::RawClient;
use rapport_system_tests::server::{TestUser, XmppServer};
use tokio::sync::broadcast;

static ROOMS: AtomicU32 = AtomicU32::new(0);

fn new_room(server: &XmppServer, name: &str) -> String {
    let n = ROOMS.fetch_add(1, Ordering::Relaxed);
    format!("{name}{n}-{}@{}", std::process::id(), server.muc_domain())
}

/// A persistent room owned by `owner` (as `nick`).
async fn create_room(owner: &Session, server: &XmppServer, name: &str, nick: &str) -> String {
    let room = new_room(server, name);
    owner.join_room(&room, nick, None).await.unwrap();
    owner.configure_room(&room, &[("muc#roomconfig_persistentroom", &["1"])]).await.unwrap();
    room
}

fn history(session: &Session, room: &str) -> Vec<Message> {
    let page = tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(session.history(room, None, 500)));
    let mut page = page.unwrap();
    page.reverse();
    page
}

async fn raw_login(server: &'static XmppServer, user: &TestUser) -> RawClient {
    let user = user.clone();
    tokio::task::spawn_blocking(move || RawClient::login(server, &user).unwrap()).await.unwrap()
}

/// The raw client joins `room` as `nick` and reads up to its own presence.
fn raw_join(raw: &mut RawClient, room: &str, nick: &str) {
    raw.send(&format!("<presence to='{room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'><history maxchars='0'/></x></presence>")).unwrap();
    raw.read_until("110", WAIT).unwrap();
}

/// Waits for a stored room message with `body`.
async fn received(events: &mut broadcast::Receiver<Event>, body: &str) -> Message {
    expect_event(events, body, |e| match e {
        Event::MessagesReceived { messages, .. } => messages.iter().find(|m| m.body == body).cloned(),
        _ => None,
    })
    .await
}

/// Whatever was sent before `marker` from the same sender has been handled once it arrives.
async fn marker(raw: &mut RawClient, events: &mut broadcast::Receiver<Event>, to: &str, marker: &str) -> Vec<Event> {
    raw.send(&format!("<message type='chat' to='{to}'><body>{marker}</body></message>")).unwrap();
    collect_until(events, marker).await
}

/// Every event up to the stored message with `body`.
async fn collect_until(events: &mut broadcast::Receiver<Event>, body: &str) -> Vec<Event> {
    let mut seen = Vec::new();
    expect_event(events, body, |e| {
        seen.push(e.clone());
        matches!(e, Event::MessagesReceived { messages, .. } if messages.iter().any(|m| m.body == body)).then_some(())
    })
    .await;
    seen
}

fn bookmark(room: &str, nick: &str, autojoin: bool) -> Bookmark {
    Bookmark { room: room.into(), name: Some("Book club".into()), nick: Some(nick.into()), password: None, autojoin, extensions: None }
}

async fn bookmarks_follow_the_account_to_other_devices_and_new_sessions(server: &'static XmppServer) {
    let alice = server.create_user("alice");
    let one = sign_in(server, &alice).await;
    let mut two = sign_in(server, &alice).await;
    // The server learns that device 2 wants bookmark events from its caps, early in the session;
    // the server's disco, asked at the end of the session's start, comes well after.
    eventually("device 2 settled", || (!two.session.server_features().is_empty()).then_some(())).await;
    let room = new_room(server, "books");
    one.session.set_bookmark(bookmark(&room, "ally", true)).await.unwrap();

    let seen = expect_event(&mut two.events, "the bookmark on device 2", |e| match e {
        Event::BookmarksChanged { bookmarks } => bookmarks.iter().find(|b| b.room == room).cloned(),
        _ => None,
    })
    .await;
    assert_eq!((seen.nick.as_deref(), seen.name.as_deref(), seen.autojoin), (Some("ally"), Some("Book club"), true));
    eventually("device 2 joins the bookmarked room", || two.session.room(&room).filter(|r| r.state == RoomState::Joined)).await;
    assert_eq!(two.session.room(&room).unwrap().nick, "ally", "the bookmark's nick");

    let three = sign_in(server, &alice).await;
    eventually("a new session fetches the bookmark", || three.session.bookmarks().into_iter().find(|b| b.room == room)).await;
    eventually("and joins its room", || three.session.room(&room).filter(|r| r.state == RoomState::Joined)).await;

    one.session.remove_bookmark(&room).await.unwrap();
    if server.kind() == "prosody" {
        removed(&mut two.events).await;
        eventually("device 2 leaves the room it joined for the bookmark", || two.session.room(&room).is_none().then_some(())).await;
        return;
    }
    // ejabberd 23.01 does not push retractions: our other devices learn at their next session.
    three.session.disconnect().await;
    let again = Session::start(&Profile::at(three.profile_dir.path()), account(server, &alice), alice.password.clone(), Default::default()).await.unwrap();
    let mut events = again.subscribe();
    removed(&mut events).await;
    eventually("the next session leaves the room it joined for the bookmark", || again.room(&room).is_none().then_some(())).await;
}

async fn removed(events: &mut broadcast::Receiver<Event>) {
    expect_event(events, "the bookmark removed", |e| match e {
        Event::BookmarksChanged { bookmarks } if bookmarks.is_empty() => Some(()),
        _ => None,
    })
    .await;
}

async fn leaving_a_bookmarked_room_turns_its_autojoin_off(server: &'static XmppServer) {
    let alice = server.create_user("alice");
    let one = sign_in(server, &alice).await;
    let room = new_room(server, "left");
    one.session.set_bookmark(bookmark(&room, "ally", true)).await.unwrap();
    eventually("joined for the bookmark", || one.session.room(&room).filter(|r| r.state == RoomState::Joined)).await;
    one.session.leave_room(&room).await.unwrap();
    eventually("autojoin off here", || one.session.bookmarks().into_iter().find(|b| b.room == room && !b.autojoin)).await;
    let mut two = sign_in(server, &alice).await;
    let fetched = expect_event(&mut two.events, "the bookmark in a new session", |e| match e {
        Event::BookmarksChanged { bookmarks } => bookmarks.iter().find(|b| b.room == room).cloned(),
        _ => None,
    })
    .await;
    assert!(!fetched.autojoin, "the server has autojoin off: {fetched:?}");
}

async fn bookmarks_are_private_to_the_account(server: &'static XmppServer) {
    let (alice, mallory) = (server.create_user("alice"), server.create_user("mallory"));
    let one = sign_in(server, &alice).await;
    let room = new_room(server, "private");
    one.session.set_bookmark(Bookmark { name: Some("Secret plans".into()), ..bookmark(&room, "ally", false) }).await.unwrap();
    let mut raw = raw_login(server, &mallory).await;
    let answer = tokio::task::spawn_blocking(move || {
        raw.iq(
            "peek",
            &format!(
                "<iq type='get' id='peek' to='{}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:bookmarks:1'/></pubsub></iq>",
                alice.jid
            ),
        )
        .unwrap()
    })
    .await
    .unwrap();
    assert!(answer.contains("type='error'") || answer.contains("type=\"error\""), "{answer}");
    assert!(!answer.contains("Secret plans") && !answer.contains(&room), "{answer}");
}

async fn a_forged_bookmark_push_joins_nothing_and_changes_nothing(server: &'static XmppServer) {
    let (alice, mallory) = (server.create_user("alice"), server.create_user("mallory"));
    let mut a = sign_in(server, &alice).await;
    let target = a.session.bound_jid().unwrap();
    let room = new_room(server, "trap");
    let mut raw = raw_login(server, &mallory).await;
    raw.send(&format!(
        "<message type='headline' to='{target}'><event xmlns='http://jabber.org/protocol/pubsub#event'>\
           <items node='urn:xmpp:bookmarks:1'><item id='{room}'>\
             <conference xmlns='urn:xmpp:bookmarks:1' autojoin='true' name='Trap'><nick>victim</nick></conference>\
           </item></items></event></message>"
    ))
    .unwrap();
    let seen = marker(&mut raw, &mut a.events, &target, "after the forged push").await;
    assert!(!seen.iter().any(|e| matches!(e, Event::BookmarksChanged { .. })), "{seen:?}");
    assert!(a.session.bookmarks().iter().all(|b| b.room != room), "{:?}", a.session.bookmarks());
    assert!(a.session.room(&room).is_none(), "a forged bookmark must not make us join");
}

async fn invitations_arrive_without_joining_and_a_decline_reaches_the_inviter(server: &'static XmppServer) {
    let (alice, bob) = (server.create_user("alice"), server.create_user("bob"));
    let mut a = sign_in(server, &alice).await;
    let mut b = sign_in(server, &bob).await;
    let open = create_room(&a.session, server, "open", "alice").await;
    a.session.invite(&open, &bob.jid, Some("come and read")).await.unwrap();
    let direct = invitation(&mut b.events, &open).await;
    assert_eq!((direct.kind, direct.from.as_str(), direct.reason.as_deref()), (InvitationKind::Direct, alice.jid.as_str(), Some("come and read")));

    let club = create_room(&a.session, server, "club", "alice").await;
    a.session.configure_room(&club, &[("muc#roomconfig_membersonly", &["1"])]).await.unwrap();
    a.session.invite(&club, &bob.jid, None).await.unwrap();
    let mediated = invitation(&mut b.events, &club).await;
    assert_eq!(mediated.kind, InvitationKind::Mediated);
    // Prosody names the inviter by occupant JID in a room that hides real JIDs.
    assert!([alice.jid.clone(), format!("{club}/alice")].contains(&mediated.from), "{mediated:?}");
    assert!(b.session.room(&open).is_none() && b.session.room(&club).is_none(), "an invitation joins nothing by itself");

    b.session.decline_invitation(&mediated, Some("too busy")).await.unwrap();
    let (by, reason) = expect_event(&mut a.events, "bob's decline", |e| match e {
        Event::InvitationDeclined { room, by, reason } if *room == club => Some((by.clone(), reason.clone())),
        _ => None,
    })
    .await;
    assert_eq!((by.as_str(), reason.as_deref()), (bob.jid.as_str(), Some("too busy")));
}

async fn invitation(events: &mut broadcast::Receiver<Event>, room: &str) -> Invitation {
    expect_event(events, "an invitation", |e| match e {
        Event::InvitationReceived { invitation } if invitation.room == room => Some(invitation.clone()),
        _ => None,
    })
    .await
}

async fn mentions_are_marked_referenced_and_completed(server: &'static XmppServer) {
    let (alice, bob, carol) = (server.create_user("alice"), server.create_user("bob"), server.create_user("carol"));
    let mut a = sign_in(server, &alice).await;
    let b = sign_in(server, &bob).await;
    let room = create_room(&a.session, server, "talk", "alice").await;
    b.session.join_room(&room, "bob", None).await.unwrap();
    let mut raw = raw_login(server, &carol).await;
    raw_join(&mut raw, &room, "carol");
    eventually("alice sees bob and carol", || (a.session.occupants(&room).len() == 3).then_some(())).await;
    assert_eq!(a.session.complete_nick(&room, "@Ca"), ["carol"]);
    assert!(a.session.complete_nick(&room, "al").is_empty(), "our own nick is not offered");

    b.session.send_room_message(&room, "@alice hi").await.unwrap();
    b.session.send_room_message(&room, "nothing for anyone").await.unwrap();
    // (Both may come in one event: wait for the last, then read what was stored.)
    assert!(!received(&mut a.events, "nothing for anyone").await.mentions_me);
    let stored: Vec<(String, bool)> = history(&a.session, &room).into_iter().map(|m| (m.body, m.mentions_me)).collect();
    assert_eq!(stored, [("@alice hi".to_string(), true), ("nothing for anyone".to_string(), false)], "stored as shown");

    a.session.send_room_message(&room, "@carol look").await.unwrap();
    let stanza = raw.read_until("@carol look", WAIT).unwrap();
    let stanza = stanza + &raw.read_until("</message>", WAIT).unwrap();
    assert!(stanza.contains("urn:xmpp:reference:0") && stanza.contains(&format!("xmpp:{room}/carol")), "{stanza}");
}

async fn moderators_remove_messages_and_forged_notices_change_nothing(server: &'static XmppServer) {
    let (alice, bob) = (server.create_user("alice"), server.create_user("bob"));
    let mut a = sign_in(server, &alice).await;
    let mut b = sign_in(server, &bob).await;
    let room = create_room(&a.session, server, "modded", "alice").await;
    b.session.join_room(&room, "bob", None).await.unwrap();
    a.session.send_room_message(&room, "alice's words").await.unwrap();
    let theirs = received(&mut b.events, "alice's words").await;
    let refused = b.session.retract_room_message(&room, theirs.id, None).await.unwrap_err();

    b.session.send_room_message(&room, "bob's rude words").await.unwrap();
    let rude = received(&mut a.events, "bob's rude words").await;
    let rude = eventually("the room's id for bob's message", || a.session.store().message(rude.id).unwrap().filter(|m| m.stanza_id.is_some())).await;
    let features = a.session.disco_info(&room).await.unwrap().features;
    if !features.iter().any(|f| f.starts_with("urn:xmpp:message-moderate")) {
        // Prosody 0.12 has XEP-0425 only as a community module, ejabberd only from 23.04: the
        // test servers refuse it to everyone, as a typed error.
        assert_eq!(refused.code(), "server_error", "{refused}");
        assert!(refused.to_string().contains("FeatureNotImplemented"), "{refused}");
        let error = a.session.retract_room_message(&room, rude.id, None).await.unwrap_err();
        assert_eq!(error.code(), "server_error", "{error}");
        return;
    }
    assert_eq!(refused.code(), "room_forbidden", "a participant may not remove others' messages: {refused}");
    let bobs_copy = b.session.store().history(&room, None, 10).unwrap().into_iter().find(|m| m.body == "bob's rude words").unwrap();
    a.session.retract_room_message(&room, rude.id, Some("be nice")).await.unwrap();
    let (id, reason) = expect_event(&mut b.events, "the retraction on bob's side", |e| match e {
        Event::MessageRetracted { id, reason, .. } => Some((*id, reason.clone())),
        _ => None,
    })
    .await;
    assert_eq!((id, reason.as_deref()), (bobs_copy.id, Some("be nice")));
    let tombstone = b.session.store().message(bobs_copy.id).unwrap().unwrap();
    assert!(tombstone.retracted && tombstone.body.is_empty(), "{tombstone:?}");
}

async fn forged_moderation_notices_change_nothing(server: &'static XmppServer) {
    let (alice, bob, mallory) = (server.create_user("alice"), server.create_user("bob"), server.create_user("mallory"));
    let mut a = sign_in(server, &alice).await;
    let b = sign_in(server, &bob).await;
    let room = create_room(&a.session, server, "forged", "alice").await;
    b.session.join_room(&room, "bob", None).await.unwrap();
    b.session.send_room_message(&room, "keep me").await.unwrap();
    let kept = received(&mut a.events, "keep me").await;
    let kept = eventually("the room's id", || a.session.store().message(kept.id).unwrap().filter(|m| m.stanza_id.is_some())).await;
    let id = kept.stanza_id.clone().unwrap();
    let notice = |from_room: &str| {
        format!(
            "<retract id='{id}' xmlns='urn:xmpp:message-retract:1'><moderated by='{from_room}/alice' xmlns='urn:xmpp:message-moderate:1'/></retract>\
             <apply-to id='{id}' xmlns='urn:xmpp:fasten:0'><moderated by='{from_room}/alice' xmlns='urn:xmpp:message-moderate:0'><retract xmlns='urn:xmpp:message-retract:0'/></moderated></apply-to>"
        )
    };
    let target = a.session.bound_jid().unwrap();
    let mut raw = raw_login(server, &mallory).await;
    // Straight from another account, and relayed by the room from an occupant (room/nick).
    raw.send(&format!("<message type='groupchat' to='{target}'>{}</message>", notice(&room))).unwrap();
    let mut seen = marker(&mut raw, &mut a.events, &target, "after the forged notice").await;
    raw_join(&mut raw, &room, "mallory");
    raw.send(&format!("<message type='groupchat' to='{room}'><body>notice</body>{}</message>", notice(&room))).unwrap();
    // The room relays in order: once this is in, so was the notice before it.
    raw.send(&format!("<message type='groupchat' to='{room}'><body>after the relayed notice</body></message>")).unwrap();
    seen.extend(collect_until(&mut a.events, "after the relayed notice").await);
    assert!(!seen.iter().any(|e| matches!(e, Event::MessageRetracted { .. })), "{seen:?}");
    let stored = a.session.store().message(kept.id).unwrap().unwrap();
    assert_eq!((stored.body.as_str(), stored.retracted), ("keep me", false));
}

async fn the_room_configuration_form_is_fetched_and_submitted(server: &'static XmppServer) {
    let (alice, bob) = (server.create_user("alice"), server.create_user("bob"));
    let a = sign_in(server, &alice).await;
    let b = sign_in(server, &bob).await;
    let room = create_room(&a.session, server, "configured", "alice").await;
    let form = a.session.room_config(&room).await.unwrap();
    assert_eq!(form.form_type.as_deref(), Some("http://jabber.org/protocol/muc#roomconfig"));
    assert!(form.fields.iter().any(|f| f.var.as_deref() == Some("muc#roomconfig_roomname")), "{form:?}");
    let answers = [("muc#roomconfig_roomname", "Reading room"), ("muc#roomconfig_membersonly", "1")]
        .into_iter()
        .map(|(var, value)| (var.to_string(), vec![value.to_string()]))
        .collect();
    a.session.submit_room_config(&room, &answers).await.unwrap();

    let again = a.session.room_config(&room).await.unwrap();
    let value = |var: &str| again.fields.iter().find(|f| f.var.as_deref() == Some(var)).and_then(|f| f.values.first().cloned());
    assert_eq!(value("muc#roomconfig_roomname").as_deref(), Some("Reading room"));
    assert!(matches!(value("muc#roomconfig_membersonly").as_deref(), Some("1" | "true")));
    assert_eq!(b.session.join_room(&room, "bob", None).await.unwrap_err().code(), "members_only");
    assert_eq!(b.session.room_config(&room).await.unwrap_err().code(), "room_forbidden", "only owners see the form");
}

on_both_servers!(
    leaving_a_bookmarked_room_turns_its_autojoin_off,
    bookmarks_are_private_to_the_account,
    a_forged_bookmark_push_joins_nothing_and_changes_nothing,
    invitations_arrive_without_joining_and_a_decline_reaches_the_inviter,
    mentions_are_marked_referenced_and_completed,
    moderators_remove_messages_and_forged_notices_change_nothing,
    forged_moderation_notices_change_nothing,
    the_room_configuration_form_is_fetched_and_submitted,
);

/// Open: on Prosody this test timed out once in CI (1 of 3 full runs) and passed in every run
/// by itself; ignored there until the cause is found. ejabberd runs it.
mod bookmarks_follow_the_account_to_other_devices_and_new_sessions {
    use rapport_system_tests::server::{shared, ServerKind};
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "open: timed out once in CI on Prosody (second device's autojoin)"]
    async fn prosody() {
        super::bookmarks_follow_the_account_to_other_devices_and_new_sessions(shared(ServerKind::Prosody)).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ejabberd() {
        super::bookmarks_follow_the_account_to_other_devices_and_new_sessions(shared(ServerKind::Ejabberd)).await
    }
}
