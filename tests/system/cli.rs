//! `rapport-cli` against real Prosody and ejabberd: the built binary is run as a script would
//! run it, with its own profile directory, the session's keyring, and the other side of each
//! conversation played by the engine's `Session`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use rapport_engine::events::Event;
use rapport_engine::types::{Availability, DeliveryState, OwnPresence};
use rapport_system_tests::assert_secret_service;
use rapport_system_tests::proxy::ChaosProxy;
use rapport_system_tests::server::{RosterItem, TestUser, XmppServer};
use serde_json::Value;

/// Longest any single CLI run may take before the test fails (and the process is killed).
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

#[path = "cli_support.rs"]
mod support;
use support::*;

fn mutual(server: &XmppServer, a: &TestUser, b: &TestUser) {
    server.set_roster(a, &[RosterItem::new(&b.jid).name("Bob").group("Work")]);
    server.set_roster(b, &[RosterItem::new(&a.jid)]);
}

// ---- tests ----

async fn account_add_checks_the_password_and_stores_it_in_the_keyring(server: &XmppServer) {
    assert_secret_service();
    let alice = server.create_user("cliadd");
    let cli = Cli::new();

    let run = cli.add_account(server, &alice, "not the password", &[]).await.expect(3, "wrong password");
    assert!(run.stderr.starts_with("rapport-cli: The password is wrong"), "{}", run.stderr);
    assert!(run.stderr.contains("Nothing was saved"), "{}", run.stderr);
    assert!(!run.stderr.contains("not the password"), "the password is never printed");
    assert_eq!(cli.run(&["account", "list", "--json"]).await.expect(0, "list").json(), serde_json::json!([]));
    assert!(rapport_engine::credentials::load_password(&alice.jid).is_err(), "nothing stored in the keyring");

    let run = cli.add_account(server, &alice, &alice.password, &[]).await.expect(0, "right password");
    assert!(run.stdout.contains(&format!("Added {}", alice.jid)), "{}", run.stdout);
    assert!(!run.stdout.contains(&alice.password) && !run.stderr.contains(&alice.password));
    assert_eq!(rapport_engine::credentials::load_password(&alice.jid).unwrap(), alice.password);
    let accounts = cli.run(&["account", "list", "--json"]).await.expect(0, "list").json();
    assert_eq!(accounts[0]["jid"], alice.jid.as_str());
    assert_eq!(accounts[0]["port"], server.starttls_port());

    // The stored password is used without being asked for.
    cli.run(&["ping"]).await.expect(0, "ping with the keyring's password");
    cli.run(&["send", &alice.jid, "note to self"]).await.expect(0, "send fills the history");
    assert_password_in_no_file(cli.profile.path(), &alice.password);

    cli.run(&["account", "remove", &alice.jid]).await.expect(0, "remove");
    assert!(rapport_engine::credentials::load_password(&alice.jid).is_err(), "keyring entry removed");
    assert_eq!(cli.run(&["account", "list", "--json"]).await.expect(0, "list").json(), serde_json::json!([]));
    cli.run(&["account", "remove", &alice.jid]).await.expect(2, "removing an unknown account");
}

async fn send_exits_once_the_server_has_the_message(server: &XmppServer) {
    assert_secret_service();
    let alice = server.create_user("clisend");
    let bob = server.create_user("bob");
    let mut b = sign_in(server, &bob).await;
    let cli = Cli::new();
    cli.add_account(server, &alice, &alice.password, &[]).await.expect(0, "add");

    cli.run(&["send", &bob.jid, "disk almost full on db1"]).await.expect(0, "send");
    let received = expect_event(&mut b.events, "alice's alert", |e| match e {
        Event::MessagesReceived { messages, .. } => messages.iter().find(|m| m.body == "disk almost full on db1").cloned(),
        _ => None,
    })
    .await;
    assert_eq!(received.conversation, alice.jid);

    // Text from stdin (`-`), several lines.
    cli.run_with(&["send", &bob.jid, "-"], "line one\nline two\n", &[]).await.expect(0, "send from stdin");
    expect_event(&mut b.events, "the multi-line message", |e| match e {
        Event::MessagesReceived { messages, .. } => messages.iter().find(|m| m.body == "line one\nline two").map(drop),
        _ => None,
    })
    .await;

    // The local history records it as sent.
    let history = cli.run(&["history", &bob.jid, "--json"]).await.expect(0, "history").json();
    assert_eq!(history[0]["body"], "line one\nline two");
    assert_eq!(history[0]["state"], "sent");
    assert_eq!(history[1]["body"], "disk almost full on db1");
    b.session.disconnect().await;
}

async fn headless_password_sources(server: &XmppServer) {
    assert_secret_service();
    let alice = server.create_user("clihead");
    let bob = server.create_user("bob");
    let mut b = sign_in(server, &bob).await;
    let cli = Cli::new();
    cli.add_account(server, &alice, &alice.password, &["--no-keyring"]).await.expect(0, "add without keyring");
    assert!(rapport_engine::credentials::load_password(&alice.jid).is_err());

    let run = cli.run(&["send", &bob.jid, "x"]).await.expect(6, "no password anywhere");
    assert!(run.stderr.contains("--password-stdin") && run.stderr.contains("RAPPORT_PASSWORD"), "{}", run.stderr);

    cli.run_with(&["send", &bob.jid, "via env"], "", &[("RAPPORT_PASSWORD", &alice.password)]).await.expect(0, "RAPPORT_PASSWORD");
    // --password-stdin: the first line is the password, the rest the message.
    let stdin = format!("{}\nvia stdin\n", alice.password);
    cli.run_with(&["--password-stdin", "send", &bob.jid, "-"], &stdin, &[]).await.expect(0, "--password-stdin");
    for body in ["via env", "via stdin"] {
        expect_event(&mut b.events, body, |e| match e {
            Event::MessagesReceived { messages, .. } => messages.iter().find(|m| m.body == body).map(drop),
            _ => None,
        })
        .await;
    }
    // Neither source stored anything.
    assert!(rapport_engine::credentials::load_password(&alice.jid).is_err());

    // Without any reachable keyring: the engine's explanation and both alternatives.
    let run = cli
        .run_with(&["send", &bob.jid, "x"], "", &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")])
        .await
        .expect(6, "keyring unreachable");
    assert!(run.stderr.contains("No system keyring is reachable"), "{}", run.stderr);
    assert!(run.stderr.contains("--password-stdin") && run.stderr.contains("RAPPORT_PASSWORD"), "{}", run.stderr);

    cli.run_with(&["send", &bob.jid, "x"], "", &[("RAPPORT_PASSWORD", "not the password")])
        .await
        .expect(3, "wrong password from the environment");
    b.session.disconnect().await;
}

async fn listen_prints_events_as_json_lines_and_exits_cleanly(server: &XmppServer) {
    assert_secret_service();
    let alice = server.create_user("clilisten");
    let bob = server.create_user("bob");
    mutual(server, &alice, &bob);
    let cli = Cli::new();
    cli.add_account(server, &alice, &alice.password, &[]).await.expect(0, "add");
    let mut b = sign_in(server, &bob).await;

    let mut listen = Running::start(&cli, &["listen", "--json", "--presence", "away", "--status", "on call"]);
    listen.expect_json("online", |v| v["type"] == "connection" && v["state"] == "online").await;
    // Bob sees the presence chosen on the command line.
    expect_event(&mut b.events, "alice away", |e| match e {
        Event::PresenceChanged { contacts } => contacts
            .iter()
            .find(|c| c.jid == alice.jid && c.availability == Availability::Away && c.status.as_deref() == Some("on call"))
            .map(drop),
        _ => None,
    })
    .await;

    b.session.send_message(&alice.jid, "are you there?").await.unwrap();
    let line = listen.expect_json("the message", |v| v["type"] == "message").await;
    assert_eq!(line["body"], "are you there?");
    assert_eq!(line["conversation"], bob.jid.as_str());
    assert_eq!(line["direction"], "incoming");
    assert!(line["id"].as_i64().is_some() && line["timestamp"].as_i64().is_some(), "{line}");

    b.session.set_presence(OwnPresence::DoNotDisturb, Some("busy")).await.unwrap();
    let line = listen.expect_json("bob's presence", |v| v["type"] == "presence" && v["availability"] == "do_not_disturb").await;
    assert_eq!(line["jid"], bob.jid.as_str());
    assert_eq!(line["status"], "busy");

    assert_eq!(listen.stop(libc::SIGTERM).await, 0, "SIGTERM ends listen with 0");
    // Alice went offline cleanly.
    expect_event(&mut b.events, "alice offline", |e| match e {
        Event::PresenceChanged { contacts } => {
            contacts.iter().find(|c| c.jid == alice.jid && c.availability == Availability::Offline).map(drop)
        }
        _ => None,
    })
    .await;

    let mut listen = Running::start(&cli, &["listen", "--json"]);
    listen.expect_json("online again", |v| v["type"] == "connection" && v["state"] == "online").await;
    assert_eq!(listen.stop(libc::SIGINT).await, 0, "SIGINT ends listen with 0");
    b.session.disconnect().await;
}

async fn send_while_offline_queues_and_listen_shows_catch_up_receipts_and_chat_states(server: &XmppServer) {
    assert_secret_service();
    let alice = server.create_user("clioutbox");
    let bob = server.create_user("bob");
    mutual(server, &alice, &bob);
    let proxy = ChaosProxy::start(SocketAddr::from(([127, 0, 0, 1], server.starttls_port())));
    let cli = Cli::new();
    add_account_via(&cli, server, &alice, &proxy).await;
    let mut b = sign_in(server, &bob).await;
    bob_sends(&mut b, &alice.jid, "hello alice").await;

    // The first sign-in of this profile: Bob's message (kept for us offline), and the catch-up
    // checkpoint for the next sign-in.
    let mut listen = Running::start(&cli, &["listen", "--json"]);
    let lines = listen.until("first sync", |l| !lines_with(l, "sync_finished", &[]).is_empty()).await;
    assert_eq!(lines_with(&lines, "message", &[("body", "hello alice".into())]).len(), 1, "{lines:#?}");
    assert_eq!(listen.stop(libc::SIGTERM).await, 0);

    proxy.refuse_new(true);
    let run = cli.run(&["send", &bob.jid, "queued while offline", "--timeout", "3"]).await.expect(8, "send while offline");
    assert!(run.stderr.contains("queued in the local outbox"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let history = cli.run(&["history", &bob.jid, "--json"]).await.expect(0, "history").json();
    assert_eq!((history[0]["body"].as_str(), history[0]["state"].as_str()), (Some("queued while offline"), Some("pending")));
    let queued = history[0]["id"].clone();
    let missed = ["missed 0", "missed 1", "missed 2"];
    for body in missed {
        bob_sends(&mut b, &alice.jid, body).await;
    }

    // Back online: the outbox is sent, and what Bob wrote meanwhile is caught up.
    proxy.refuse_new(false);
    let mut listen = Running::start(&cli, &["listen", "--json"]);
    let state = |s: &str| vec![("id", queued.clone()), ("state", Value::from(s))];
    let lines = listen
        .until("catch-up and the queued message sent", |l| {
            !lines_with(l, "sync_finished", &[]).is_empty() && !lines_with(l, "message_state", &state("sent")).is_empty()
        })
        .await;
    assert_eq!(lines_with(&lines, "sync_finished", &[])[0]["received"], 3, "{lines:#?}");
    for body in missed {
        let found = lines_with(&lines, "message", &[("body", body.into())]);
        assert_eq!(found.len(), 1, "{body:?} once: {lines:#?}");
        assert_eq!(found[0]["catch_up"], true);
    }
    expect_event(&mut b.events, "the queued message", |e| match e {
        Event::MessagesReceived { messages, .. } => messages.iter().find(|m| m.body == "queued while offline").map(drop),
        _ => None,
    })
    .await;
    listen.until("delivered", |l| !lines_with(l, "message_state", &state("delivered")).is_empty()).await;
    b.session.mark_read(&alice.jid).await.unwrap();
    listen.until("read", |l| !lines_with(l, "message_state", &state("read")).is_empty()).await;
    b.session.set_chat_state(&alice.jid, rapport_engine::types::ChatState::Composing).await.unwrap();
    let typing = [("conversation", Value::from(bob.jid.as_str())), ("state", "composing".into())];
    listen.until("bob is typing", |l| !lines_with(l, "chat_state", &typing).is_empty()).await;
    assert_eq!(listen.stop(libc::SIGTERM).await, 0);

    // Bob got the queued message exactly once (the next message is the barrier).
    cli.run(&["send", &bob.jid, "after the outbox"]).await.expect(0, "send online");
    expect_event(&mut b.events, "the barrier", |e| match e {
        Event::MessagesReceived { messages, .. } => messages.iter().find(|m| m.body == "after the outbox").map(drop),
        _ => None,
    })
    .await;
    let at_bob = b.session.history(&alice.jid, None, 100).await.unwrap();
    assert_eq!(at_bob.iter().filter(|m| m.body == "queued while offline").count(), 1, "{at_bob:#?}");
    let history = cli.run(&["history", &bob.jid, "--json"]).await.expect(0, "history").json();
    let queued_now = history.as_array().unwrap().iter().find(|m| m["id"] == queued).unwrap();
    assert_eq!(queued_now["state"], "read");
    b.session.disconnect().await;
}

/// `account add` with the proxy as the server's address.
async fn add_account_via(cli: &Cli, server: &XmppServer, user: &TestUser, proxy: &ChaosProxy) {
    let port = proxy.port().to_string();
    let ca = server.ca_file().to_string_lossy().into_owned();
    let args = ["account", "add", &user.jid, "--host", proxy.host(), "--port", &port, "--ca-file", &ca];
    cli.run_with(&args, &format!("{}\n", user.password), &[]).await.expect(0, "add through the proxy");
}

/// Bob sends `body` and waits until his server has it (`sent`, or already `delivered`).
async fn bob_sends(bob: &mut Online, to: &str, body: &str) {
    let sent = bob.session.send_message(to, body).await.unwrap();
    expect_event(&mut bob.events, "server ack", |e| match e {
        Event::MessageUpdated { id, state, .. } if *id == sent.id => {
            matches!(state, DeliveryState::Sent | DeliveryState::Delivered | DeliveryState::Read).then_some(())
        }
        _ => None,
    })
    .await;
}

async fn roster_shows_contacts_with_presence(server: &XmppServer) {
    assert_secret_service();
    let alice = server.create_user("cliroster");
    let bob = server.create_user("bob");
    mutual(server, &alice, &bob);
    let b = sign_in(server, &bob).await;
    b.session.set_presence(OwnPresence::Chat, Some("ask me")).await.unwrap();
    let cli = Cli::new();
    cli.add_account(server, &alice, &alice.password, &[]).await.expect(0, "add");

    let roster = cli.run(&["roster", "--json"]).await.expect(0, "roster").json();
    let contacts = roster.as_array().unwrap();
    assert_eq!(contacts.len(), 1, "{roster}");
    let bob_entry = &contacts[0];
    assert_eq!(bob_entry["jid"], bob.jid.as_str());
    assert_eq!(bob_entry["name"], "Bob");
    assert_eq!(bob_entry["groups"], serde_json::json!(["Work"]));
    assert_eq!(bob_entry["subscription"], "both");
    assert_eq!(bob_entry["availability"], "chat", "{roster}");
    assert_eq!(bob_entry["status"], "ask me");

    let table = cli.run(&["roster"]).await.expect(0, "roster table");
    assert!(table.stdout.starts_with("JID"), "{}", table.stdout);
    assert!(table.stdout.contains(&bob.jid) && table.stdout.contains("Bob"), "{}", table.stdout);
    b.session.disconnect().await;
}

async fn contacts_and_subscriptions_reach_the_other_side(server: &XmppServer) {
    assert_secret_service();
    let alice = server.create_user("clicontacts");
    let bob = server.create_user("bob");
    let mut b = sign_in(server, &bob).await;
    let cli = Cli::new();
    cli.add_account(server, &alice, &alice.password, &[]).await.expect(0, "add");

    cli.run(&["contacts", "add", &bob.jid, "--name", "Bobby", "--group", "Ops"]).await.expect(0, "contacts add");
    expect_event(&mut b.events, "alice's request", |e| matches!(e, Event::SubscriptionRequest { from } if *from == alice.jid).then_some(())).await;
    b.session.approve_subscription(&alice.jid).await.unwrap();
    // Bob asked back when approving; the CLI approves.
    cli.run(&["subscription", "approve", &bob.jid]).await.expect(0, "subscription approve");
    eventually("mutual subscription on bob's side", || {
        b.session.roster().into_iter().find(|i| i.jid == alice.jid && i.subscription == rapport_engine::types::Subscription::Both)
    })
    .await;

    cli.run(&["contacts", "rename", &bob.jid, "Robert"]).await.expect(0, "rename");
    let roster = cli.run(&["roster", "--json"]).await.expect(0, "roster").json();
    assert_eq!(roster[0]["name"], "Robert", "{roster}");
    assert_eq!(roster[0]["groups"], serde_json::json!(["Ops"]));
    assert_eq!(roster[0]["subscription"], "both");

    cli.run(&["contacts", "remove", &bob.jid]).await.expect(0, "remove");
    assert_eq!(cli.run(&["roster", "--json"]).await.expect(0, "roster").json(), serde_json::json!([]));
    b.session.disconnect().await;
}

async fn history_and_search_read_the_local_store_offline(server: &XmppServer) {
    assert_secret_service();
    let alice = server.create_user("clihistory");
    let bob = server.create_user("bob");
    let carol = server.create_user("carol");
    let b = sign_in(server, &bob).await;
    let cli = Cli::new();
    cli.add_account(server, &alice, &alice.password, &[]).await.expect(0, "add");
    for (to, text) in [(&bob, "the backup finished"), (&bob, "second note"), (&carol, "backup of carol's box failed")] {
        cli.run(&["send", &to.jid, text]).await.expect(0, "send");
    }

    // No network, no keyring needed from here on.
    let offline: &[(&str, &str)] = &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")];
    let history = cli.run_with(&["history", &bob.jid, "--json"], "", offline).await.expect(0, "history").json();
    let bodies: Vec<&str> = history.as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["second note", "the backup finished"], "newest first");

    let page = cli.run_with(&["history", &bob.jid, "--limit", "1", "--json"], "", offline).await.expect(0, "page").json();
    assert_eq!(page.as_array().unwrap().len(), 1);
    let before = page[0]["id"].as_i64().unwrap().to_string();
    let older = cli.run_with(&["history", &bob.jid, "--before", &before, "--json"], "", offline).await.expect(0, "older").json();
    assert_eq!(older[0]["body"], "the backup finished");

    let hits = cli.run_with(&["history", "--all", "--search", "backup", "--json"], "", offline).await.expect(0, "search").json();
    assert_eq!(hits.as_array().unwrap().len(), 2, "{hits}");
    let matched: Vec<_> = hits[0]["snippet"].as_array().unwrap().iter().filter(|p| p["matched"] == true).map(|p| p["text"].clone()).collect();
    assert_eq!(matched, ["backup"], "{hits}");
    let text = cli.run_with(&["history", "--all", "--search", "backup"], "", offline).await.expect(0, "search as text");
    assert!(text.stdout.contains("[backup]"), "{}", text.stdout);
    let hits = cli.run_with(&["history", "-", "--search", "backup", "--json"], "", offline).await.expect(0, "search -").json();
    assert_eq!(hits.as_array().unwrap().len(), 2);
    let hits = cli.run_with(&["history", &carol.jid, "--search", "backup", "--json"], "", offline).await.expect(0, "search one").json();
    assert_eq!(hits.as_array().unwrap().len(), 1);
    assert_eq!(hits[0]["message"]["conversation"], carol.jid.as_str());

    let conversations = cli.run_with(&["conversations", "--json"], "", offline).await.expect(0, "conversations").json();
    assert_eq!(conversations[0]["jid"], carol.jid.as_str(), "most recent first");
    assert_eq!(conversations.as_array().unwrap().len(), 2);

    let text = cli.run_with(&["history", &bob.jid], "", offline).await.expect(0, "history text");
    assert!(text.stdout.lines().next().unwrap().ends_with(&format!("{}: second note", alice.jid)), "{}", text.stdout);
    b.session.disconnect().await;
}

async fn an_untrusted_certificate_exits_5_with_its_fingerprint(server: &XmppServer) {
    assert_secret_service();
    let alice = server.create_user("clicert");
    let cli = Cli::new();
    let fingerprint = server_cert_fingerprint(server);
    let port = server.starttls_port().to_string();
    let add = ["account", "add", alice.jid.as_str(), "--host", server.host(), "--port", &port];

    let password = format!("{}\n", alice.password);
    let run = cli.run_with(&add, &password, &[]).await.expect(5, "untrusted certificate");
    assert!(run.stderr.contains(&fingerprint), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("--trust {fingerprint}")), "{}", run.stderr);
    assert_eq!(cli.run(&["account", "list", "--json"]).await.expect(0, "list").json(), serde_json::json!([]));

    let mut trusted = add.to_vec();
    trusted.extend(["--trust", &fingerprint]);
    cli.run_with(&trusted, &password, &[]).await.expect(0, "add trusting the fingerprint");
    cli.run(&["ping"]).await.expect(0, "ping over the pinned certificate");

    // Unpinned again, the existing account is refused with the `account trust` hint.
    cli.run(&["account", "trust", &alice.jid, "--clear"]).await.expect(0, "clear");
    let run = cli.run(&["ping"]).await.expect(5, "unpinned");
    assert!(run.stderr.contains(&format!("account trust {} {fingerprint}", alice.jid)), "{}", run.stderr);
    let lower = fingerprint.replace(':', "").to_lowercase();
    cli.run(&["account", "trust", &alice.jid, &lower]).await.expect(0, "trust (any spelling)");
    cli.run(&["version", server.domain(), "--json"]).await.expect(0, "version");
    cli.run(&["account", "remove", &alice.jid]).await.expect(0, "cleanup");
}

async fn rooms_join_send_listen_and_leave(server: &XmppServer) {
    assert_secret_service();
    let alice = server.create_user("cliroom");
    let bob = server.create_user("bob");
    let cli = Cli::new();
    cli.add_account(server, &alice, &alice.password, &[]).await.expect(0, "add");
    let mut b = sign_in(server, &bob).await;
    let room = format!("ops-{}@{}", alice.username, server.muc_domain());
    b.session.join_room(&room, "bob", None).await.unwrap();
    b.session.configure_room(&room, &[("muc#roomconfig_publicroom", &["1"])]).await.unwrap();

    // The service is found by itself (disco of the server) and lists the room.
    let listing = cli.run(&["rooms", "--json"]).await.expect(0, "rooms").json();
    assert_eq!(listing["service"], server.muc_domain());
    assert!(listing["rooms"].as_array().unwrap().iter().any(|r| r["jid"] == room.as_str()), "{listing}");

    let joined = cli.run(&["join", &room, "--json"]).await.expect(0, "join").json();
    assert_eq!(joined["room"]["state"]["state"], "joined");
    assert_eq!(joined["room"]["nick"], alice.username.as_str());
    let nicks: Vec<&str> = joined["occupants"].as_array().unwrap().iter().filter_map(|o| o["nick"].as_str()).collect();
    assert!(nicks.contains(&"bob") && nicks.contains(&alice.username.as_str()), "{nicks:?}");

    let nick = alice.username.clone();
    expect_event(&mut b.events, "alice leaving when `join` signs out", |e| match e {
        Event::OccupantsChanged { left, .. } => left.contains(&nick).then_some(()),
        _ => None,
    })
    .await;

    // A one-off command joins no room; `send --room` joins that room (and waits for the echo).
    cli.run(&["ping"]).await.expect(0, "ping");
    cli.run(&["send", "--room", &room, "deploy finished"]).await.expect(0, "send to the room");
    // Alice's comings (J) and goings (L) up to her message: `send --room`'s session joins, and
    // may be gone by the time its message is read (the CLI exits on the server's ack, and a
    // departure in the same flush is reported first; a join and departure in one flush is only
    // the departure). Anything more is `ping` in the room.
    let mut seen = String::new();
    let said = expect_event(&mut b.events, "alice's room message", |e| match e {
        Event::OccupantsChanged { changed, left, .. } => {
            seen.extend(changed.iter().filter(|o| o.nick == nick).map(|_| 'J'));
            seen.extend(left.iter().filter(|n| **n == nick).map(|_| 'L'));
            None
        }
        Event::MessagesReceived { messages, .. } => messages.iter().find(|m| m.body == "deploy finished").cloned(),
        _ => None,
    })
    .await;
    assert!(["J", "JL", "L"].contains(&seen.as_str()), "`ping` came into the room: alice's joins and departures {seen:?}");
    assert_eq!((said.conversation.as_str(), said.sender.as_str()), (room.as_str(), format!("{room}/{}", alice.username).as_str()));

    let mut listen = Running::start(&cli, &["listen", "--json"]);
    listen.expect_json("the room joined", |v| v["type"] == "room" && v["jid"] == room.as_str() && v["state"]["state"] == "joined").await;
    b.session.send_room_message(&room, "thanks!").await.unwrap();
    let line = listen.expect_json("bob's room message", |v| v["type"] == "message" && v["body"] == "thanks!").await;
    assert_eq!((line["conversation"].as_str(), line["sender"].as_str()), (Some(room.as_str()), Some(format!("{room}/bob").as_str())));
    assert_eq!(listen.stop(libc::SIGTERM).await, 0);

    cli.run(&["leave", &room]).await.expect(0, "leave");
    let run = cli.run(&["send", "--room", &room, "anyone?"]).await.expect(2, "send to a room we left");
    assert!(run.stderr.contains("join"), "{}", run.stderr);
    // A nickname someone has is refused, with how to choose another.
    let run = cli.run(&["join", &room, "--nick", "bob"]).await.expect(1, "nickname taken");
    assert!(run.stderr.contains("already taken") && run.stderr.contains("--nick"), "{}", run.stderr);
    b.session.disconnect().await;
}

on_both_servers!(
    account_add_checks_the_password_and_stores_it_in_the_keyring,
    send_exits_once_the_server_has_the_message,
    headless_password_sources,
    listen_prints_events_as_json_lines_and_exits_cleanly,
    send_while_offline_queues_and_listen_shows_catch_up_receipts_and_chat_states,
    roster_shows_contacts_with_presence,
    contacts_and_subscriptions_reach_the_other_side,
    history_and_search_read_the_local_store_offline,
    an_untrusted_certificate_exits_5_with_its_fingerprint,
    rooms_join_send_listen_and_leave,
);

/// Usage errors need no server: clap's own and invalid addresses both exit with 2.
#[test]
fn bad_arguments_and_addresses_exit_with_2() {
    let cli = Cli::new();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        cli.run(&["send"]).await.expect(2, "missing arguments");
        cli.run(&["presence", "busy"]).await.expect(2, "unknown presence");
        let run = cli.run(&["send", "not a jid", "hi"]).await.expect(2, "bad recipient");
        assert!(run.stderr.starts_with("rapport-cli: 'not a jid' is not a valid address"), "{}", run.stderr);
        cli.run_with(&["account", "add", "example.org"], "pw\n", &[]).await.expect(2, "account without user name");
        cli.run(&["history", "a@b@c"]).await.expect(2, "bad conversation");
        let run = cli.run(&["roster"]).await.expect(2, "no account configured");
        assert!(run.stderr.contains("account add"), "{}", run.stderr);
    });
}


/// The password lives only in the keyring: no file the CLI wrote (config, history, WAL) holds it.
fn assert_password_in_no_file(dir: &Path, password: &str) {
    let mut files = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            files += 1;
            let bytes = std::fs::read(&path).unwrap();
            assert!(!bytes.windows(password.len()).any(|w| w == password.as_bytes()), "password found in {}", path.display());
        }
    }
    assert!(files >= 2, "the profile holds the config and the history ({files} files)");
}
