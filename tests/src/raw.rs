//! A deliberately tiny, blocking, string-matching XMPP client for checking the test servers
//! themselves (readiness, TLS, login, roster) without the product's engine.
//! It is NOT an XML parser: it is only meant for well-behaved test servers.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::server::{RosterItem, Subscription, TestUser, XmppServer};

/// Default time allowed for any single wait on the wire.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The opening stream header a client sends for `domain`.
pub fn stream_header(domain: &str) -> String {
    format!(
        "<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' xml:lang='en' \
         xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    )
}

/// A rustls client config that trusts exactly the certificates in `ca_pem`.
/// Uses the aws-lc-rs provider explicitly, so no process-wide provider is needed.
pub fn client_config(ca_pem: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("parse CA PEM")).expect("add CA to root store");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

trait Io: Read + Write + Send {}
impl<T: Read + Write + Send> Io for T {}

enum Transport {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
    Gone,
}

impl Transport {
    fn io(&mut self) -> &mut dyn Io {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(s) => s.as_mut(),
            Transport::Gone => unreachable!("transport taken"),
        }
    }
}

/// What a TLS probe saw.
#[derive(Debug, Clone)]
pub struct TlsProbe {
    /// The `<stream:features>` before TLS (empty for direct TLS).
    pub features_before_tls: String,
    /// The `<stream:features>` on the encrypted stream.
    pub features_after_tls: String,
    /// The server's certificate chain as presented.
    pub peer_certificates: Vec<CertificateDer<'static>>,
    /// The negotiated protocol version, e.g. `TLSv1_3`.
    pub protocol: String,
}

/// A minimal blocking XMPP connection. See the module docs for its limits.
pub struct RawClient {
    transport: Transport,
    buf: Vec<u8>,
    /// Everything received so far (for debugging failed assertions).
    pub transcript: String,
    domain: String,
    features_before_tls: String,
    /// The most recent `<stream:features>`.
    pub features: String,
}

impl RawClient {
    /// TCP connect to `host:port`, send a stream header for `domain`, read the features.
    pub fn connect_plain(host: &str, port: u16, domain: &str, timeout: Duration) -> io::Result<RawClient> {
        let mut c = RawClient::connect_tcp(host, port, domain, timeout)?;
        c.open_stream(timeout)?;
        Ok(c)
    }

    /// A TCP connection with read/write timeouts; no bytes exchanged yet.
    fn connect_tcp(host: &str, port: u16, domain: &str, timeout: Duration) -> io::Result<RawClient> {
        let addrs: Vec<_> = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))?.collect();
        let tcp = TcpStream::connect_timeout(&addrs[0], timeout)?;
        tcp.set_read_timeout(Some(timeout))?;
        tcp.set_write_timeout(Some(timeout))?;
        Ok(RawClient {
            transport: Transport::Plain(tcp),
            buf: Vec::new(),
            transcript: String::new(),
            domain: domain.to_string(),
            features_before_tls: String::new(),
            features: String::new(),
        })
    }

    /// Plain connect, then STARTTLS verified against `ca_pem` for `domain`.
    pub fn connect_starttls(host: &str, port: u16, domain: &str, ca_pem: &str) -> io::Result<RawClient> {
        let mut c = RawClient::connect_plain(host, port, domain, IO_TIMEOUT)?;
        if !c.features.contains("urn:ietf:params:xml:ns:xmpp-tls") {
            return Err(other(format!("server offers no STARTTLS: {}", c.features)));
        }
        c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")?;
        let (i, got) = c.read_until_any(&["<proceed", "<failure"], IO_TIMEOUT)?;
        if i != 0 {
            return Err(other(format!("STARTTLS refused: {got}")));
        }
        // Consume the rest of the <proceed .../> tag; nothing may follow it in plaintext.
        c.read_until(">", IO_TIMEOUT)?;
        c.buf.clear();
        c.features_before_tls = std::mem::take(&mut c.features);
        c.start_tls(ca_pem)?;
        c.open_stream(IO_TIMEOUT)?;
        Ok(c)
    }

    /// Direct TLS (XEP-0368) to `host:port`, verified against `ca_pem` for `domain`.
    pub fn connect_direct_tls(host: &str, port: u16, domain: &str, ca_pem: &str) -> io::Result<RawClient> {
        let mut c = RawClient::connect_tcp(host, port, domain, IO_TIMEOUT)?;
        c.start_tls(ca_pem)?;
        c.open_stream(IO_TIMEOUT)?;
        Ok(c)
    }

    /// STARTTLS to `server`, SASL PLAIN as `user`, bind resource `harness`.
    /// PLAIN keeps this client tiny; it is only ever sent inside TLS.
    pub fn login(server: &XmppServer, user: &TestUser) -> io::Result<RawClient> {
        RawClient::login_as(server, user, "harness")
    }

    /// Like [`login`](Self::login), binding `resource` (e.g. to take over another session's).
    pub fn login_as(server: &XmppServer, user: &TestUser, resource: &str) -> io::Result<RawClient> {
        let mut c = RawClient::connect_starttls(
            server.host(),
            server.starttls_port(),
            server.domain(),
            &server.ca_pem(),
        )?;
        c.authenticate(&user.username, &user.password)?;
        c.open_stream(IO_TIMEOUT)?;
        c.send(&format!(
            "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
             <resource>{}</resource></bind></iq>",
            escape(resource)
        ))?;
        let got = c.read_until("</iq>", IO_TIMEOUT)?;
        if !got.contains("result") {
            return Err(other(format!("bind failed: {got}")));
        }
        Ok(c)
    }

    /// SASL PLAIN; `Err` (kind `PermissionDenied`) on `<failure>`.
    pub fn authenticate(&mut self, username: &str, password: &str) -> io::Result<()> {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("\0{username}\0{password}"));
        self.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>"
        ))?;
        let (i, got) = self.read_until_any(&["<success", "</failure>", "<failure/>"], IO_TIMEOUT)?;
        if i != 0 {
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, format!("SASL failure: {got}")));
        }
        self.read_until(">", IO_TIMEOUT)?;
        self.buf.clear();
        Ok(())
    }

    /// Fetches the roster (`jabber:iq:roster` get) and parses its items.
    pub fn roster(&mut self) -> io::Result<Vec<RosterItem>> {
        self.send("<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>")?;
        let got = self.read_until("</iq>", IO_TIMEOUT)?;
        if !got.contains("result") {
            return Err(other(format!("roster get failed: {got}")));
        }
        Ok(parse_roster_items(&got))
    }

    /// Sends raw XML.
    pub fn send(&mut self, xml: &str) -> io::Result<()> {
        let io = self.transport.io();
        io.write_all(xml.as_bytes())?;
        io.flush()
    }

    /// Reads and throws away whatever arrives for `period` (for load clients that must keep
    /// the server's queue empty but have no use for what it sends).
    pub fn discard_for(&mut self, period: Duration) -> io::Result<()> {
        self.buf.clear();
        let deadline = Instant::now() + period;
        let mut chunk = [0u8; 16 * 1024];
        while Instant::now() < deadline {
            match self.transport.io().read(&mut chunk) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed")),
                Ok(_) => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Shortens the wait of each read (see [`discard_for`](Self::discard_for)).
    pub fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        match &mut self.transport {
            Transport::Plain(tcp) => tcp.set_read_timeout(Some(timeout)),
            Transport::Tls(tls) => tls.sock.set_read_timeout(Some(timeout)),
            Transport::Gone => Ok(()),
        }
    }

    /// A thread that reads and throws away everything until the connection closes: the
    /// connection stays open (and its server queue empty) for as long as the process runs.
    pub fn discard_in_background(mut self) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || while self.discard_for(Duration::from_secs(60)).is_ok() {})
    }

    /// Reads until `needle` arrives; returns everything up to and including it.
    pub fn read_until(&mut self, needle: &str, timeout: Duration) -> io::Result<String> {
        self.read_until_any(&[needle], timeout).map(|(_, s)| s)
    }

    /// Reads until one of `needles` arrives; returns its index and everything up to and
    /// including it. The rest stays buffered.
    pub fn read_until_any(&mut self, needles: &[&str], timeout: Duration) -> io::Result<(usize, String)> {
        let deadline = Instant::now() + timeout;
        loop {
            let text = String::from_utf8_lossy(&self.buf).into_owned();
            let hit = needles
                .iter()
                .enumerate()
                .filter_map(|(i, n)| text.find(n).map(|pos| (pos + n.len(), i)))
                .min();
            if let Some((end, i)) = hit {
                let consumed = text[..end].to_string();
                let consumed_bytes = consumed.len().min(self.buf.len());
                self.buf.drain(..consumed_bytes);
                return Ok((i, consumed));
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("waiting for {needles:?}; received so far: {text}"),
                ));
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.transport.io().read(&mut chunk) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("connection closed while waiting for {needles:?}; received: {text}"),
                    ))
                }
                Ok(n) => {
                    self.transcript.push_str(&String::from_utf8_lossy(&chunk[..n]));
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The features seen before STARTTLS (empty for direct TLS / plain).
    pub fn features_before_tls(&self) -> &str {
        &self.features_before_tls
    }

    /// Certificates the TLS peer presented, if on TLS.
    pub fn peer_certificates(&self) -> Vec<CertificateDer<'static>> {
        match &self.transport {
            Transport::Tls(s) => s
                .conn
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The negotiated TLS version, if on TLS.
    pub fn tls_version(&self) -> Option<String> {
        match &self.transport {
            Transport::Tls(s) => s.conn.protocol_version().map(|v| format!("{v:?}")),
            _ => None,
        }
    }

    /// A summary of this connection's TLS state.
    pub fn tls_probe(&self) -> TlsProbe {
        TlsProbe {
            features_before_tls: self.features_before_tls.clone(),
            features_after_tls: self.features.clone(),
            peer_certificates: self.peer_certificates(),
            protocol: self.tls_version().unwrap_or_default(),
        }
    }

    fn open_stream(&mut self, timeout: Duration) -> io::Result<()> {
        let header = stream_header(&self.domain);
        self.send(&header)?;
        let (_, got) = self.read_until_any(&["</stream:features>", "<stream:features/>"], timeout)?;
        let start = got.find("<stream:features").unwrap_or(0);
        self.features = got[start..].to_string();
        Ok(())
    }

    fn start_tls(&mut self, ca_pem: &str) -> io::Result<()> {
        let tcp = match std::mem::replace(&mut self.transport, Transport::Gone) {
            Transport::Plain(t) => t,
            _ => return Err(other("already on TLS".into())),
        };
        let name = ServerName::try_from(self.domain.clone()).map_err(|e| other(e.to_string()))?;
        let conn = ClientConnection::new(client_config(ca_pem), name).map_err(|e| other(e.to_string()))?;
        let mut tls = StreamOwned::new(conn, tcp);
        // Drive the handshake now so certificate errors surface here, not on first read.
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        self.transport = Transport::Tls(Box::new(tls));
        Ok(())
    }
}

fn other(msg: String) -> io::Error {
    io::Error::other(msg)
}

/// Parses `<item>` elements of a roster result (attributes quoted with ' or ").
pub fn parse_roster_items(xml: &str) -> Vec<RosterItem> {
    let mut items = Vec::new();
    let mut rest = xml;
    while let Some(pos) = rest.find("<item ").or_else(|| rest.find("<item>")) {
        rest = &rest[pos..];
        // `>` may appear unescaped inside attribute values (ejabberd sends it that way).
        let tag_end = match find_tag_end(rest) {
            Some(e) => e,
            None => break,
        };
        let tag = &rest[..tag_end];
        let self_closing = tag.ends_with('/');
        let attr = |name: &str| attr_value(tag, name);
        let mut item = RosterItem {
            jid: attr("jid").unwrap_or_default(),
            name: attr("name").filter(|n| !n.is_empty()),
            groups: Vec::new(),
            subscription: match attr("subscription").as_deref() {
                Some("both") => Subscription::Both,
                Some("to") => Subscription::To,
                Some("from") => Subscription::From,
                _ => Subscription::None,
            },
        };
        if self_closing {
            rest = &rest[tag_end + 1..];
        } else {
            let body_end = rest.find("</item>").unwrap_or(rest.len());
            let mut body = &rest[tag_end + 1..body_end];
            while let Some(g) = body.find("<group>") {
                let after = &body[g + 7..];
                let end = after.find("</group>").unwrap_or(after.len());
                item.groups.push(unescape(&after[..end]));
                body = &after[end..];
            }
            rest = &rest[body_end..];
        }
        items.push(item);
    }
    items
}

/// Index of the `>` closing the tag at the start of `s`, skipping quoted attribute values.
fn find_tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn attr_value(tag: &str, name: &str) -> Option<String> {
    for q in ['\'', '"'] {
        let pat = format!(" {name}={q}");
        if let Some(p) = tag.find(&pat) {
            let v = &tag[p + pat.len()..];
            let end = v.find(q)?;
            return Some(unescape(&v[..end]));
        }
    }
    None
}

/// Decodes the five predefined XML entities and numeric character references.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        let after = &rest[p..];
        let end = match after.find(';') {
            Some(e) => e,
            None => {
                out.push_str(after);
                return out;
            }
        };
        let ent = &after[1..end];
        let rep = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if ent.starts_with("#x") => u32::from_str_radix(&ent[2..], 16).ok().and_then(char::from_u32),
            _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match rep {
            Some(c) => out.push(c),
            None => out.push_str(&after[..=end]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Escapes text for XML attribute values and character data.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

/// A minimal HTTP/1.1 client for `http://host:port/path` URLs (no TLS, `Connection: close`,
/// handles `Content-Length` and chunked bodies). Returns (status, headers, body); header
/// names are lowercased. For poking the servers' upload services.
pub fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<(u16, Vec<(String, String)>, Vec<u8>)> {
    let rest = url.strip_prefix("http://").ok_or_else(|| other(format!("not an http:// URL: {url}")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut s = TcpStream::connect(authority)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req += &format!("{k}: {v}\r\n");
    }
    req += &format!("Content-Length: {}\r\n\r\n", body.len());
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| other(format!("no HTTP header end in {:?}", String::from_utf8_lossy(&resp))))?;
    let head = String::from_utf8_lossy(&resp[..split]).into_owned();
    let mut raw_body = resp[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| other(format!("bad status line: {head}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &raw_body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size_line = String::from_utf8_lossy(&rest[..eol]);
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("0").trim(), 16)
                .map_err(|e| other(format!("bad chunk size {size_line:?}: {e}")))?;
            if size == 0 {
                break;
            }
            let start = eol + 2;
            let end = (start + size).min(rest.len());
            out.extend_from_slice(&rest[start..end]);
            rest = rest.get(end + 2..).unwrap_or(&[]);
        }
        raw_body = out;
    }
    Ok((status, headers, raw_body))
}

impl RawClient {
    /// Sends an `<iq>` whose id is `id` and returns the response stanza (everything from its
    /// `<iq` to its end), skipping whatever was received before it.
    pub fn iq(&mut self, id: &str, iq_xml: &str) -> io::Result<String> {
        self.send(iq_xml)?;
        let (a, b) = (format!("id='{id}'"), format!("id=\"{id}\""));
        self.fill_until(|t| t.contains(&a) || t.contains(&b))?;
        let text = String::from_utf8_lossy(&self.buf).into_owned();
        let id_pos = text.find(&a).or_else(|| text.find(&b)).unwrap_or(0);
        let start = text[..id_pos].rfind("<iq").ok_or_else(|| other(format!("id {id} outside an <iq>: {text}")))?;
        self.buf.drain(..start);
        self.fill_until(|t| find_tag_end(t).is_some())?;
        let text = String::from_utf8_lossy(&self.buf).into_owned();
        let tag_end = find_tag_end(&text).unwrap_or(0);
        if text[..tag_end].ends_with('/') {
            self.buf.drain(..=tag_end);
            return Ok(text[..=tag_end].to_string());
        }
        self.read_until("</iq>", IO_TIMEOUT)
    }

    /// Reads more until `pred(buffered text)` holds, consuming nothing.
    fn fill_until(&mut self, pred: impl Fn(&str) -> bool) -> io::Result<()> {
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            let text = String::from_utf8_lossy(&self.buf).into_owned();
            if pred(&text) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, format!("received so far: {text}")));
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.transport.io().read(&mut chunk) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("closed; received: {text}"))),
                Ok(n) => {
                    self.transcript.push_str(&String::from_utf8_lossy(&chunk[..n]));
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(e),
            }
        }
    }
}
