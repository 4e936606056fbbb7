//! XEP-0410 on the real servers (issue 5): a room forgets us without a word (no unavailable
//! presence), our self-ping finds out, and we join again without losing or doubling a message.
//!
//! How each server is made to forget an occupant silently:
//! - Prosody 0.12: its admin shell (`prosodyctl shell`, mod_admin_socket in the test config)
//!   removes our occupant from the live room object (`_occupants` and the `_jid_nick` index), which
//!   is all the room routes by; nothing is sent to anyone. Bob stays in the room.
//! - ejabberd 23.01: none of its commands drops one occupant quietly (restarting mod_muc, or
//!   destroying, reconfiguring or kicking from a room, all tell the occupants), so an Erlang
//!   expression evaluated inside the node (`XmppServer::ejabberd_eval`) edits the room process's
//!   state: our full JID and nick leave its maps (`users`, `nicks`, …). Nothing is sent.
//!   Killing the room process works too, but forgets Bob as well.
//!
//! Carol, a raw client in the room, is forgotten the same way, and what she receives until a
//! barrier shows that such a drop sends nothing.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use rapport_engine::events::Event;
use rapport_engine::types::{Message, RoomState};
use rapport_engine::Session;
use rapport_system_tests::raw::RawClient;
use rapport_system_tests::server::{ServerKind, XmppServer};

static ROOMS: AtomicU32 = AtomicU32::new(0);

fn history(session: &Session, conversation: &str) -> Vec<Message> {
    let mut page = tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(session.history(conversation, None, 500))).unwrap();
    page.reverse();
    page
}

fn bodies(messages: &[Message]) -> Vec<String> {
    messages.iter().map(|m| m.body.clone()).collect()
}

/// The server drops `nick` (whose session is `full_jid`) from `room` without sending anything.
fn forget_occupant(server: &XmppServer, room: &str, nick: &str, full_jid: &str) {
    let done = match server.server_kind() {
        ServerKind::Prosody => server.prosody_shell(&format!(
            r#">local room = prosody.hosts["{service}"].modules.muc.get_room_from_jid("{room}"); if not room then return false, "no room" end; local occupant = room._occupants["{room}/{nick}"]; if not occupant then return false, "no occupant" end; room._occupants["{room}/{nick}"] = nil; for real_jid in occupant:each_session() do room._jid_nick[real_jid] = nil end; return true, "forgotten {full_jid}""#,
            service = server.muc_domain(),
        )),
        ServerKind::Ejabberd => {
            let (name, service) = room.split_once('@').unwrap();
            // The room is a p1_fsm without `system_replace_state`, so `sys:replace_state` hands
            // the fun the raw loop data `[Name, StateName, StateData | _]`. Our full JID and nick
            // are dropped as keys of every map in the room's #state{} (users, nicks, roles…).
            server.ejabberd_eval(&format!(
                r#"{{ok, Pid}} = mod_muc:find_online_room(<<"{name}">>, <<"{service}">>),
                   LJID = jid:tolower(jid:decode(<<"{full_jid}">>)),
                   Nick = <<"{nick}">>,
                   Keys = fun(S) -> lists:sum([maps:size(F) || F <- tuple_to_list(S), is_map(F)]) end,
                   Strip = fun(F) when is_map(F) -> maps:remove(Nick, maps:remove(LJID, F)); (F) -> F end,
                   [_, _, Before | _] = sys:get_state(Pid),
                   [_, _, After | _] = sys:replace_state(Pid, fun([N, SN, S | Rest]) -> [N, SN, list_to_tuple([Strip(F) || F <- tuple_to_list(S)]) | Rest] end),
                   case Keys(Before) - Keys(After) of 0 -> exit(not_an_occupant); Removed -> {{removed, Removed}} end."#
            ))
        }
    };
    match done {
        Ok(out) => eprintln!("{}: {}", server.kind(), out.trim()),
        Err(e) => panic!("{} could not make {room} forget {nick}: {e}\n{}", server.kind(), server.log_tail()),
    }
}

async fn a_room_that_forgot_us_silently_is_rejoined_after_a_self_ping(server: &'static XmppServer) {
    let (alice, bob, carol) = (server.create_user("alice"), server.create_user("bob"), server.create_user("carol"));
    let a = sign_in(server, &alice).await;
    let b = sign_in(server, &bob).await;
    let room = format!("silent{}-{}@{}", ROOMS.fetch_add(1, Ordering::Relaxed), std::process::id(), server.muc_domain());
    b.session.join_room(&room, "bob", None).await.unwrap();
    b.session.configure_room(&room, &[("muc#roomconfig_persistentroom", &["1"])]).await.unwrap();
    a.session.join_room(&room, "alice", None).await.unwrap();
    b.session.send_room_message(&room, "before").await.unwrap();
    eventually("bob's first message at alice", || history(&a.session, &room).into_iter().find(|m| m.body == "before")).await;

    let carol2 = carol.clone();
    let mut raw = tokio::task::spawn_blocking(move || RawClient::login(server, &carol2).unwrap()).await.unwrap();
    let raw_log = tokio::task::block_in_place(|| {
        raw.send(&format!("<presence/><presence to='{room}/carol'><x xmlns='http://jabber.org/protocol/muc'/></presence>"))?;
        raw.read_until("110", WAIT)
    })
    .unwrap();
    assert!(raw_log.contains(&format!("from='{room}/carol'")), "carol joined: {raw_log}");

    let mut a_events = a.session.subscribe();
    forget_occupant(server, &room, "alice", &a.session.bound_jid().unwrap());
    forget_occupant(server, &room, "carol", &format!("{}/harness", carol.jid));

    b.session.send_room_message(&room, "lost?").await.unwrap();
    eventually("the room's echo of \"lost?\" at bob", || history(&b.session, &room).into_iter().find(|m| m.body == "lost?" && m.stanza_id.is_some())).await;
    // The barrier: the room sends "lost?" to all its occupants in the one loop that echoes it to
    // Bob, and the server delivers to Alice in order, so once the 1:1 message Bob writes after his
    // echo is at Alice, "lost?" would have been there too, had the room still known her.
    b.session.send_message(&alice.jid, "barrier").await.unwrap();
    b.session.send_message(&carol.jid, "barrier for carol").await.unwrap();
    eventually("bob's 1:1 barrier at alice", || history(&a.session, &bob.jid).into_iter().find(|m| m.body == "barrier")).await;
    let raw_log = tokio::task::block_in_place(|| raw.read_until("barrier for carol", WAIT)).unwrap();
    assert!(!raw_log.contains("lost?") && !raw_log.contains("unavailable"), "the room said something to carol: {raw_log}");
    assert_eq!(bodies(&history(&a.session, &room)), ["before"], "the room no longer sends to alice");
    assert_eq!(a.session.room(&room).unwrap().state, RoomState::Joined, "nothing told alice she was out");
    while let Ok(event) = a_events.try_recv() {
        let changed = matches!(&event, Event::RoomChanged { room: r } if r.jid == room && r.state != RoomState::Joined);
        assert!(!changed, "the drop was not silent: {event:?}");
    }

    a.session.check_rooms().await.unwrap();
    // Joining and Joined fall in one flush of events (latest wins), so the rejoin shows as the
    // room Joined, and "lost?" can only come from the archive read after a join.
    let (mut joined, mut caught_up) = (false, None);
    while !joined || caught_up.is_none() {
        expect_event(&mut a_events, "the rejoin and \"lost?\" from the archive", |e| match e {
            Event::RoomChanged { room: r } if r.jid == room && r.state == RoomState::Joined => Some(joined = true),
            Event::MessagesReceived { messages, catch_up } if messages.iter().any(|m| m.body == "lost?") => Some(caught_up = Some(*catch_up)),
            _ => None,
        })
        .await;
    }
    assert_eq!(caught_up, Some(true), "\"lost?\" came from the room's archive");
    b.session.send_room_message(&room, "after").await.unwrap();
    eventually("bob's live message after the rejoin", || history(&a.session, &room).into_iter().find(|m| m.body == "after")).await;
    assert_eq!(bodies(&history(&a.session, &room)), ["before", "lost?", "after"], "each message once, in order");
    assert_eq!(a.session.room(&room).unwrap().state, RoomState::Joined);
}

/// Open: on Prosody this test timed out once in CI (1 of 3 full runs) and passed in every run
/// by itself; ignored there until the cause is found. ejabberd runs it.
mod a_room_that_forgot_us_silently_is_rejoined_after_a_self_ping {
    use rapport_system_tests::server::{shared, ServerKind};
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "open: timed out once in CI on Prosody (rejoin after the admin-shell drop)"]
    async fn prosody() {
        super::a_room_that_forgot_us_silently_is_rejoined_after_a_self_ping(shared(ServerKind::Prosody)).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ejabberd() {
        super::a_room_that_forgot_us_silently_is_rejoined_after_a_self_ping(shared(ServerKind::Ejabberd)).await
    }
}
