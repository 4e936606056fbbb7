//! A scripted XMPP server for one account: STARTTLS with a certificate from its own test CA,
//! SASL PLAIN accepted, bind, then it answers every IQ (the first archive query with one
//! result) and sends whatever the test pushes. String matching, for the engine's output only.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rapport_system_tests::scripted::{self, attr, bound_resource};
use rapport_system_tests::TestCa;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub struct AccountServer {
    pub port: u16,
    dir: tempfile::TempDir,
    push: mpsc::UnboundedSender<String>,
    queries: Arc<Mutex<Vec<String>>>,
}

impl AccountServer {
    pub async fn start() -> AccountServer {
        let ca = TestCa::new("scripted");
        let cert = ca.issue_server_cert();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.cert_pem()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (push, pushed) = mpsc::unbounded_channel();
        let queries = Arc::new(Mutex::new(Vec::new()));
        let acceptor = scripted::tls_acceptor(&cert);
        let recorded = queries.clone();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            match serve(tcp, acceptor, pushed, recorded).await {
                Err(error) if error.kind() != std::io::ErrorKind::UnexpectedEof => println!("scripted server: {error}"),
                _ => {}
            }
        });
        AccountServer { port, dir, push, queries }
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn push(&self, stanza: String) {
        self.push.send(stanza).unwrap();
    }

    /// The `queryid` of the first archive query the engine sent.
    pub fn first_query_id(&self) -> Option<String> {
        self.queries.lock().unwrap().first().cloned()
    }
}

/// A MAM result from the account's bare JID (as only its server may send).
pub fn archive_result(to: &str, query_id: &str, archive_id: &str, from: &str, body: &str) -> String {
    let bare = to.split('/').next().unwrap();
    format!(
        "<message from='{bare}' to='{to}'><result xmlns='urn:xmpp:mam:2' queryid='{query_id}' id='{archive_id}'>\
           <forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2025-01-01T00:00:00Z'/>\
           <message xmlns='jabber:client' from='{from}' to='{bare}' type='chat' id='{archive_id}-m'><body>{body}</body></message>\
           </forwarded></result></message>"
    )
}

async fn serve(
    tcp: tokio::net::TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    mut pushed: mpsc::UnboundedReceiver<String>,
    queries: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut conn = scripted::sign_in(tcp, acceptor).await?;
    loop {
        tokio::select! {
            iq = conn.until("</iq>") => {
                let iq = iq?;
                let iq = &iq[iq.rfind("<iq").unwrap_or(0)..];
                for reply in answer(iq, &queries) {
                    conn.send(&reply).await?;
                }
            }
            Some(stanza) = pushed.recv() => conn.send(&stanza).await?,
        }
    }
}

/// The stanzas that answer one IQ from the engine.
fn answer(iq: &str, queries: &Mutex<Vec<String>>) -> Vec<String> {
    let id = attr(iq, "id").unwrap_or_default();
    let from = attr(iq, "to").map(|to| format!(" from='{to}'")).unwrap_or_default();
    if iq.contains("urn:ietf:params:xml:ns:xmpp-bind") {
        let resource = bound_resource(iq);
        let bind = format!("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@localhost/{resource}</jid></bind>");
        return vec![format!("<iq type='result' id='{id}'>{bind}</iq>")];
    }
    if iq.contains("jabber:iq:roster") {
        return vec![format!("<iq type='result' id='{id}'><query xmlns='jabber:iq:roster'/></iq>")];
    }
    let Some(query_id) = iq.contains("urn:xmpp:mam:2").then(|| attr(&iq[iq.find("<query").unwrap_or(0)..], "queryid")).flatten() else {
        return vec![format!("<iq type='result' id='{id}'{from}/>")];
    };
    let first = {
        let mut queries = queries.lock().unwrap();
        queries.push(query_id.clone());
        queries.len() == 1
    };
    let fin = "<fin xmlns='urn:xmpp:mam:2' complete='true'><set xmlns='http://jabber.org/protocol/rsm'/></fin>";
    let mut replies = Vec::new();
    if first {
        replies.push(archive_result("alice@localhost/x", &query_id, "arch-1", "bob@localhost/p", "legit archived").replace("to='alice@localhost/x'", ""));
    }
    replies.push(format!("<iq type='result' id='{id}'{from}>{fin}</iq>"));
    replies
}
