//! Stream management (XEP-0198) as we ship it: tokio-xmpp's `StanzaStream` against a scripted
//! in-memory server (the set-up follows tokio-xmpp's own `stanzastream/tests.rs`).
//!
//! Counter wrap-around at 2^32 is not tested here: both counters start at 0 on `<enabled/>` and
//! only grow by one per stanza, so reaching the wrap would take 2^32 stanzas. What we rely on is
//! in tokio-xmpp 6.0.0 `src/stanzastream/stream_management.rs`: `SmState::received()` counts
//! inbound stanzas with `u32::wrapping_add`, and `SmState::remote_acked()` computes the number
//! of stanzas acknowledged as `h.wrapping_sub(outbound_base)` (RFC 1982 serial arithmetic).

use std::borrow::Cow;
use std::future::Future;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::sync::oneshot;
use tokio_xmpp::stanzastream::{Connection, Event, StanzaStage, StanzaState, StanzaStream, StanzaToken, StreamEvent, XmppStream};
use tokio_xmpp::xmlstream::{accept_stream, initiate_stream, StreamHeader, Timeouts, XmppStreamElement};
use xmpp_parsers::bind::{BindFeature, BindQuery, BindResponse};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::{Id, Message};
use xmpp_parsers::sm;
use xmpp_parsers::stanza::Stanza;
use xmpp_parsers::stream_features::StreamFeatures;

const ACCOUNT: &str = "alice@example.org";
const SM_ID: &str = "sm-session-1";
const PATIENCE: Duration = Duration::from_secs(10);

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future).await.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// One in-memory connection: the client end, handshake done and features (bind + SM) received,
/// ready to hand to the `StanzaStream`; and the scripted server end.
async fn link() -> (Connection, XmppStream) {
    let account: BareJid = ACCOUNT.parse().unwrap();
    let (client_io, server_io) = tokio::io::duplex(8192);
    let header = || StreamHeader { from: None, to: None, id: Some(Cow::Borrowed("stream-1")) };
    let client = async {
        let io = tokio::io::BufReader::new(client_io);
        let pending = initiate_stream(io, "jabber:client", header(), Timeouts::default()).await?;
        pending.recv_features().await.map_err(|e| std::io::Error::other(format!("{e:?}")))
    };
    let server = async {
        let io = tokio::io::BufReader::new(server_io);
        let accepted = accept_stream(io, "jabber:client", Timeouts::default()).await?;
        let mut features = StreamFeatures::default();
        features.bind = Some(BindFeature { required: false });
        features.stream_management = Some(sm::StreamManagement { optional: false });
        accepted.send_header(header()).await?.send_features(&features).await
    };
    let (client, server) = within("the stream handshake", futures::future::join(client, server)).await;
    let (features, stream) = client.expect("client handshake");
    let connection = Connection { features, stream: stream.box_stream(), identity: account.into() };
    (connection, server.expect("server handshake").box_stream())
}

/// A client whose connector hands over `connections` in order, one per (re)connection.
fn client(connections: Vec<Connection>) -> StanzaStream {
    let mut connections = connections.into_iter();
    let connector = move |_: Option<String>, slot: oneshot::Sender<Connection>| {
        let connection = connections.next().expect("the client reconnected more often than scripted");
        let _ = slot.send(connection);
    };
    StanzaStream::new(Box::new(connector), 16)
}

async fn next_element(server: &mut XmppStream) -> XmppStreamElement {
    let element = within("the client to send something", server.next()).await.expect("client closed the stream");
    element.expect("read error on the server").into_read_error().expect("client sent something invalid")
}

async fn send(server: &mut XmppStream, element: XmppStreamElement) {
    within("the server to send", server.send(&element)).await.expect("server send");
}

async fn send_sm(server: &mut XmppStream, nonza: sm::Nonza) {
    send(server, XmppStreamElement::SM(nonza)).await;
}

async fn next_event(client: &mut StanzaStream) -> Event {
    within("a client event", client.next()).await.expect("client stream ended")
}

/// Serves resource binding and answers `<enable/>` with a resumable `<enabled/>`.
async fn serve_fresh_session(server: &mut XmppStream) {
    let XmppStreamElement::Stanza(Stanza::Iq(Iq::Set { id, payload, .. })) = next_element(server).await else {
        panic!("expected the bind request");
    };
    BindQuery::try_from(payload).expect("bind request");
    let jid = format!("{ACCOUNT}/desktop").parse().unwrap();
    send(server, XmppStreamElement::Stanza(Iq::from_result(id, Some(BindResponse { jid })).into())).await;
    let XmppStreamElement::SM(sm::Nonza::Enable(enable)) = next_element(server).await else {
        panic!("expected <enable/>: stream management must be enabled on every connection");
    };
    assert!(enable.resume, "the client must ask for a resumable session");
    let id = Some(sm::StreamId(SM_ID.to_owned()));
    send_sm(server, sm::Nonza::Enabled(sm::Enabled { id, location: None, max: None, resume: true })).await;
}

/// A client with a live SM session on the first of `connections`, and that connection's server end.
async fn sm_session(connections: Vec<Connection>, mut server: XmppStream) -> (StanzaStream, XmppStream) {
    let mut client = client(connections);
    serve_fresh_session(&mut server).await;
    assert!(matches!(next_event(&mut client).await, Event::Stream(StreamEvent::Reset { .. })));
    (client, server)
}

fn message(id: &str) -> Box<Stanza> {
    let mut message = Message::new(None);
    message.id = Some(Id(id.to_owned()));
    Box::new(message.into())
}

fn message_id(element: &XmppStreamElement) -> Option<String> {
    match element {
        XmppStreamElement::Stanza(Stanza::Message(message)) => message.id.as_ref().map(|id| id.0.clone()),
        _ => None,
    }
}

/// The ids of the next `count` messages from the client, skipping its `<r/>` requests.
async fn receive_messages(server: &mut XmppStream, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    while ids.len() < count {
        match next_element(server).await {
            XmppStreamElement::SM(sm::Nonza::Req(_)) => {}
            element => ids.push(message_id(&element).unwrap_or_else(|| panic!("unexpected {element:?}"))),
        }
    }
    ids
}

/// The ids of the messages the client sends before its next `<r/>` (which ends a write burst).
async fn receive_burst(server: &mut XmppStream) -> Vec<String> {
    let mut ids = Vec::new();
    loop {
        match next_element(server).await {
            XmppStreamElement::SM(sm::Nonza::Req(_)) if !ids.is_empty() => return ids,
            XmppStreamElement::SM(sm::Nonza::Req(_)) => {}
            element => ids.push(message_id(&element).unwrap_or_else(|| panic!("unexpected {element:?}"))),
        }
    }
}

async fn request_ack(server: &mut XmppStream) -> u32 {
    send_sm(server, sm::Nonza::Req(sm::R)).await;
    match next_element(server).await {
        XmppStreamElement::SM(sm::Nonza::Ack(sm::A { h })) => h,
        other => panic!("expected <a/>, got {other:?}"),
    }
}

async fn push_messages(server: &mut XmppStream, ids: &[&str]) {
    for id in ids {
        send(server, XmppStreamElement::Stanza(*message(id))).await;
    }
}

async fn acked(token: &mut StanzaToken) -> bool {
    matches!(within("an ack", token.wait_for(StanzaStage::Acked)).await, Some(StanzaState::Acked { .. }))
}

async fn send_all(client: &StanzaStream, ids: &[&str]) -> Vec<StanzaToken> {
    let mut tokens = Vec::new();
    for id in ids {
        tokens.push(client.send(message(id)).await);
    }
    tokens
}

#[tokio::test]
async fn h_counts_stanzas_only() {
    let (connection, server) = link().await;
    let (mut client, mut server) = sm_session(vec![connection], server).await;

    push_messages(&mut server, &["in-1", "in-2", "in-3"]).await;
    send_sm(&mut server, sm::Nonza::Ack(sm::A { h: 0 })).await;
    assert_eq!(request_ack(&mut server).await, 3, "<enabled/>, <a/> and <r/> are not stanzas");

    push_messages(&mut server, &["in-4", "in-5"]).await;
    assert_eq!(request_ack(&mut server).await, 5);

    for expected in ["in-1", "in-2", "in-3", "in-4", "in-5"] {
        match next_event(&mut client).await {
            Event::Stanza(Stanza::Message(message)) => assert_eq!(message.id, Some(Id(expected.to_owned()))),
            other => panic!("expected message {expected}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn outbound_acks_are_tracked_per_stanza() {
    let (connection, server) = link().await;
    let (client, mut server) = sm_session(vec![connection], server).await;
    let mut tokens = send_all(&client, &["out-1", "out-2", "out-3"]).await;
    assert_eq!(receive_messages(&mut server, 3).await, ["out-1", "out-2", "out-3"]);

    send_sm(&mut server, sm::Nonza::Ack(sm::A { h: 2 })).await;
    assert!(acked(&mut tokens[0]).await);
    assert!(acked(&mut tokens[1]).await);
    // Both acks came from the one `<a h='2'/>`, so its effect on the third token is complete.
    assert!(matches!(tokens[2].state(), StanzaState::Sent { .. }), "h=2 must not ack the third stanza");

    send_sm(&mut server, sm::Nonza::Ack(sm::A { h: 3 })).await;
    assert!(acked(&mut tokens[2]).await);
}

/// A client that received two stanzas and sent three (none acked) on a connection that drops,
/// with a second connection waiting; returns the client, its tokens and that second server end.
async fn dropped_session() -> (StanzaStream, Vec<StanzaToken>, XmppStream) {
    let ((first, first_server), (second, second_server)) = (link().await, link().await);
    let (mut client, mut server) = sm_session(vec![first, second], first_server).await;
    push_messages(&mut server, &["in-1", "in-2"]).await;
    // Once the client has handed them to us, it has counted them.
    for _ in 0..2 {
        assert!(matches!(next_event(&mut client).await, Event::Stanza(_)));
    }
    let tokens = send_all(&client, &["out-1", "out-2", "out-3"]).await;
    assert_eq!(receive_messages(&mut server, 3).await, ["out-1", "out-2", "out-3"]);
    drop(server);
    assert!(matches!(next_event(&mut client).await, Event::Stream(StreamEvent::Suspended)));
    (client, tokens, second_server)
}

async fn expect_resume(server: &mut XmppStream) -> u32 {
    match next_element(server).await {
        XmppStreamElement::SM(sm::Nonza::Resume(resume)) => {
            assert_eq!(resume.previd.0, SM_ID);
            resume.h
        }
        other => panic!("expected <resume/>, got {other:?}"),
    }
}

#[tokio::test]
async fn resumption_retransmits_exactly_the_unacked_stanzas() {
    let (mut client, mut tokens, mut server) = dropped_session().await;
    assert_eq!(expect_resume(&mut server).await, 2, "h must count the stanzas the client received");

    // The server got out-1 before the drop but its ack was lost: <resumed h='1'/> acks it now.
    send_sm(&mut server, sm::Nonza::Resumed(sm::Resumed { h: 1, previd: sm::StreamId(SM_ID.to_owned()) })).await;
    assert!(matches!(next_event(&mut client).await, Event::Stream(StreamEvent::Resumed)));
    assert!(acked(&mut tokens[0]).await);
    assert_eq!(receive_burst(&mut server).await, ["out-2", "out-3"]);

    // The outbound counter carries on across the resumption: h=3 covers the retransmitted pair.
    send_sm(&mut server, sm::Nonza::Ack(sm::A { h: 3 })).await;
    assert!(acked(&mut tokens[1]).await);
    assert!(acked(&mut tokens[2]).await);
    assert_eq!(request_ack(&mut server).await, 2, "resumption itself is not a stanza");
}

/// The engine's outbox depends on this: when resumption fails, tokio-xmpp does not retransmit
/// the unacked stanzas but closes their tokens, and the outbox sends them again itself.
#[tokio::test]
async fn failed_resumption_closes_the_unacked_tokens() {
    let (mut client, mut tokens, mut server) = dropped_session().await;
    expect_resume(&mut server).await;

    send_sm(&mut server, sm::Nonza::Failed(sm::Failed { h: Some(1), error: None })).await;
    serve_fresh_session(&mut server).await;
    assert!(matches!(next_event(&mut client).await, Event::Stream(StreamEvent::Reset { .. })));
    assert!(acked(&mut tokens[0]).await, "the h of <failed/> still acks what the server got");
    for token in &mut tokens[1..] {
        assert!(within("the token to close", token.wait_for(StanzaStage::Acked)).await.is_none());
    }
}
