//! The plumbing of scripted XMPP servers, where a test plays the server for one account to send
//! what no real server sends on demand: STARTTLS with a certificate of its own test CA, SASL
//! PLAIN accepted, a bind feature offered; then the test reads stanzas and answers them. String
//! matching, for the engine's well-formed output only.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use crate::CertPair;

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' id='scripted' from='localhost' version='1.0' xml:lang='en'>";

pub fn tls_acceptor(cert: &CertPair) -> tokio_rustls::TlsAcceptor {
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
pub struct Conn<S> {
    io: S,
    buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    /// Everything up to and including `end` (cancel-safe: bytes read stay in `buf`).
    pub async fn until(&mut self, end: &str) -> std::io::Result<String> {
        loop {
            if let Some(pos) = self.buf.windows(end.len()).position(|w| w == end.as_bytes()) {
                let taken: Vec<u8> = self.buf.drain(..pos + end.len()).collect();
                return Ok(String::from_utf8_lossy(&taken).into_owned());
            }
            self.fill().await?;
        }
    }

    /// The next `<iq>…</iq>`, `<presence>…</presence>` or `<message>…</message>`, with whatever
    /// came before it in front.
    pub async fn stanza(&mut self) -> std::io::Result<String> {
        loop {
            let text = String::from_utf8_lossy(&self.buf).into_owned();
            let ends = ["</iq>", "</presence>", "</message>"].map(|end| text.find(end).map(|p| p + end.len()));
            if let Some(end) = ends.iter().flatten().min().copied() {
                self.buf.drain(..end);
                return Ok(text[..end].to_owned());
            }
            self.fill().await?;
        }
    }

    pub async fn send(&mut self, xml: &str) -> std::io::Result<()> {
        self.io.write_all(xml.as_bytes()).await?;
        self.io.flush().await
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 8192];
        let n = self.io.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// A stream header from the client, answered with ours and `features`.
    async fn open(&mut self, features: &str) -> std::io::Result<()> {
        self.until("<stream:stream").await?;
        self.until(">").await?;
        self.send(&format!("{HEADER}<stream:features>{features}</stream:features>")).await
    }
}

/// Takes a client through STARTTLS and SASL PLAIN (any password) up to the bind feature; the
/// caller answers the bind IQ (see [`bind_answer`]) and everything after it.
pub async fn sign_in(tcp: TcpStream, acceptor: tokio_rustls::TlsAcceptor) -> std::io::Result<Conn<TlsStream<TcpStream>>> {
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
    Ok(conn)
}

/// The resource a bind IQ asks for (`scripted` when it asks for none).
pub fn bound_resource(iq: &str) -> &str {
    iq.split("<resource>").nth(1).and_then(|r| r.split("</resource>").next()).unwrap_or("scripted")
}

/// The value of attribute `name` in the first tag of `xml` (either quote).
pub fn attr(xml: &str, name: &str) -> Option<String> {
    let tag = &xml[..xml.find('>')?];
    for quote in ['\'', '"'] {
        let key = format!(" {name}={quote}");
        if let Some(start) = tag.find(&key).map(|p| p + key.len()) {
            return Some(tag[start..].split(quote).next()?.to_owned());
        }
    }
    None
}
