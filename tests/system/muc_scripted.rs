//! A scripted XMPP server for one account with one room, for what real servers will not do on
//! demand: forget an occupant without telling it (a MUC restart, a lost presence). STARTTLS with
//! its own test CA, SASL PLAIN, bind; every IQ is answered (archive queries with an empty page);
//! a join of `ROOM` gets our self-presence; a self-ping gets `not-acceptable` while the room
//! has forgotten us. String matching, for the engine's output only.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use rapport_system_tests::scripted::{self, attr, bound_resource};
use rapport_system_tests::TestCa;
use tokio::net::TcpListener;

pub const ROOM: &str = "lobby@muc.localhost";

#[derive(Default)]
pub struct RoomState {
    /// Join presences the room got.
    pub joins: AtomicUsize,
    /// The room has forgotten us (and said nothing).
    pub forgot_us: AtomicBool,
    /// How many others are in the room (their presence comes before ours on each join).
    pub crowd: AtomicUsize,
}

pub struct RoomServer {
    pub port: u16,
    pub room: Arc<RoomState>,
    dir: tempfile::TempDir,
    push: tokio::sync::mpsc::UnboundedSender<String>,
}

impl RoomServer {
    pub async fn start() -> RoomServer {
        let ca = TestCa::new("scripted-muc");
        let cert = ca.issue_server_cert();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.cert_pem()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let room = Arc::new(RoomState::default());
        let acceptor = scripted::tls_acceptor(&cert);
        let state = room.clone();
        let (push, pushed) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            if let Err(error) = serve(tcp, acceptor, state, pushed).await {
                println!("scripted room server: {error}");
            }
        });
        RoomServer { port, room, dir, push }
    }

    /// Sends a stanza to the client as it is (any `from`: this server decides what is true).
    pub fn push(&self, stanza: String) {
        self.push.send(stanza).unwrap();
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
}

async fn serve(
    tcp: tokio::net::TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    room: Arc<RoomState>,
    mut pushed: tokio::sync::mpsc::UnboundedReceiver<String>,
) -> std::io::Result<()> {
    let mut conn = scripted::sign_in(tcp, acceptor).await?;
    let mut full = String::from("alice@localhost/scripted");
    loop {
        let stanza = tokio::select! {
            stanza = conn.stanza() => stanza?,
            Some(stanza) = pushed.recv() => {
                conn.send(&stanza).await?;
                continue;
            }
        };
        let stanza = &stanza[stanza.rfind("<iq").or_else(|| stanza.rfind("<presence")).or_else(|| stanza.rfind("<message")).unwrap_or(0)..];
        if stanza.starts_with("<iq") && stanza.contains("urn:ietf:params:xml:ns:xmpp-bind") {
            let resource = bound_resource(stanza);
            full = format!("alice@localhost/{resource}");
        }
        for reply in answer(stanza, &full, &room) {
            conn.send(&reply).await?;
        }
    }
}

fn answer(stanza: &str, full: &str, room: &RoomState) -> Vec<String> {
    let to = attr(stanza, "to").unwrap_or_default();
    let occupant = format!("{ROOM}/alice");
    if stanza.starts_with("<presence") {
        if to == occupant && (stanza.contains("http://jabber.org/protocol/muc'") || stanza.contains("http://jabber.org/protocol/muc\"")) {
            room.joins.fetch_add(1, Ordering::SeqCst);
            room.forgot_us.store(false, Ordering::SeqCst);
            let crowd = (0..room.crowd.load(Ordering::SeqCst)).map(|i| {
                format!(
                    "<presence from='{ROOM}/guest{i}' to='{full}'><x xmlns='http://jabber.org/protocol/muc#user'>\
                       <item affiliation='none' role='participant'/></x></presence>"
                )
            });
            return crowd.chain(std::iter::once(format!(
                "<presence from='{occupant}' to='{full}'><x xmlns='http://jabber.org/protocol/muc#user'>\
                   <item affiliation='member' role='participant'/><status code='110'/></x></presence>"
            )))
            .collect();
        }
        return Vec::new();
    }
    if !stanza.starts_with("<iq") {
        return Vec::new();
    }
    let id = attr(stanza, "id").unwrap_or_default();
    let from = if to.is_empty() { String::new() } else { format!(" from='{to}'") };
    if stanza.contains("urn:ietf:params:xml:ns:xmpp-bind") {
        return vec![format!("<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>{full}</jid></bind></iq>")];
    }
    if stanza.contains("jabber:iq:roster") {
        return vec![format!("<iq type='result' id='{id}'><query xmlns='jabber:iq:roster'/></iq>")];
    }
    if stanza.contains("urn:xmpp:mam:2") {
        let fin = "<fin xmlns='urn:xmpp:mam:2' complete='true'><set xmlns='http://jabber.org/protocol/rsm'/></fin>";
        return vec![format!("<iq type='result' id='{id}'{from}>{fin}</iq>")];
    }
    if to == occupant && stanza.contains("urn:xmpp:ping") && room.forgot_us.load(Ordering::SeqCst) {
        let error = "<error type='cancel'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>";
        return vec![format!("<iq type='error' id='{id}'{from}>{error}</iq>")];
    }
    vec![format!("<iq type='result' id='{id}'{from}/>")]
}
