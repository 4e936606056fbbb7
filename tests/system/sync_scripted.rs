//! A scripted XMPP server for one account: STARTTLS with a certificate from its own test CA,
//! SASL PLAIN accepted, bind, then it answers every IQ (the first archive query with one
//! result) and sends whatever the test pushes. String matching, for the engine's output only.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rapport_system_tests::TestCa;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' id='scripted' from='localhost' version='1.0' xml:lang='en'>";

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
        let acceptor = tls_acceptor(&cert);
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

fn tls_acceptor(cert: &rapport_system_tests::CertPair) -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert_der()], cert.key_der())
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// A byte stream read up to markers; what follows a marker stays buffered.
struct Conn<S> {
    io: S,
    buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    /// Everything up to and including `end` (cancel-safe: bytes read stay in `buf`).
    async fn until(&mut self, end: &str) -> std::io::Result<String> {
        loop {
            if let Some(pos) = self.buf.windows(end.len()).position(|w| w == end.as_bytes()) {
                let taken: Vec<u8> = self.buf.drain(..pos + end.len()).collect();
                return Ok(String::from_utf8_lossy(&taken).into_owned());
            }
            let mut chunk = [0u8; 8192];
            let n = self.io.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// A stream header from the client, answered with ours and `features`.
    async fn open(&mut self, features: &str) -> std::io::Result<()> {
        self.until("<stream:stream").await?;
        self.until(">").await?;
        self.send(&format!("{HEADER}<stream:features>{features}</stream:features>")).await
    }

    async fn send(&mut self, xml: &str) -> std::io::Result<()> {
        self.io.write_all(xml.as_bytes()).await?;
        self.io.flush().await
    }
}

async fn serve(
    tcp: tokio::net::TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    mut pushed: mpsc::UnboundedReceiver<String>,
    queries: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut plain = Conn { io: tcp, buf: Vec::new() };
    plain.open("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>").await?;
    plain.until("<starttls").await?;
    plain.until(">").await?;
    plain.send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").await?;
    let mut conn = Conn { io: acceptor.accept(plain.io).await?, buf: Vec::new() };
    conn.open("<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>").await?;
    conn.until("</auth>").await?;
    conn.send("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>").await?;
    conn.open("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>").await?;
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

/// The value of attribute `name` in the first tag of `xml` (either quote).
fn attr(xml: &str, name: &str) -> Option<String> {
    let tag = &xml[..xml.find('>')?];
    for quote in ['\'', '"'] {
        let key = format!(" {name}={quote}");
        if let Some(start) = tag.find(&key).map(|p| p + key.len()) {
            return Some(tag[start..].split(quote).next()?.to_owned());
        }
    }
    None
}

/// The stanzas that answer one IQ from the engine.
fn answer(iq: &str, queries: &Mutex<Vec<String>>) -> Vec<String> {
    let id = attr(iq, "id").unwrap_or_default();
    let from = attr(iq, "to").map(|to| format!(" from='{to}'")).unwrap_or_default();
    if iq.contains("urn:ietf:params:xml:ns:xmpp-bind") {
        let resource = iq.split("<resource>").nth(1).and_then(|r| r.split("</resource>").next()).unwrap_or("scripted");
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
