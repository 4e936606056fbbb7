//! Scripted hostile XMPP servers for what real servers can't be made to do.
//!
//! A [`FakeServer`] listens on 127.0.0.1 (random port) and runs its own single-threaded
//! tokio runtime on a background thread, so it works from plain `#[test]`s and from any
//! async runtime alike. Every accepted connection follows the same [`Behaviour`]. What
//! clients send is recorded (see [`FakeServer::received`]), e.g. to assert that a client
//! never sent a password over an unencrypted stream. Dropping it closes all connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use crate::ca::CertPair;

/// What the fake server does with each connection.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Answers the client's stream header with features that offer SASL PLAIN but NOT
    /// STARTTLS, then only records what the client sends.
    NoStartTls,
    /// After the client's stream header, writes these raw bytes (e.g. a DTD/billion-laughs
    /// document, garbage, or an element that never ends) and keeps the socket open.
    Payload(Vec<u8>),
    /// After the client's stream header, writes `prefix`, then `chunk` over and over until
    /// `max_bytes` were written in total or the client goes away (a never-ending element or
    /// text node). Bounded, as every load on this machine must be.
    Flood {
        /// Written once first, e.g. a stream header and `<message><body>`.
        prefix: Vec<u8>,
        /// Repeated.
        chunk: Vec<u8>,
        /// Upper bound of bytes written per connection.
        max_bytes: usize,
    },
    /// Offers STARTTLS (required), answers `<starttls/>` with `<proceed/>` and handshakes
    /// with `cert` (e.g. from an untrusted CA), then sends a stream header and SASL features.
    StartTls {
        /// The certificate and key presented.
        cert: CertPair,
    },
    /// Direct TLS (XEP-0368) with `cert`: the TLS handshake comes first, then a stream
    /// header and SASL features.
    DirectTls {
        /// The certificate and key presented.
        cert: CertPair,
    },
    /// Accepts TCP and never writes anything (timeout tests).
    Silent,
}

#[derive(Default)]
struct Stats {
    connections: AtomicUsize,
    tls_ok: AtomicUsize,
    tls_failed: AtomicUsize,
    received: Mutex<Vec<u8>>,
}

/// Only this much of what clients send is kept.
const RECORD_LIMIT: usize = 1 << 20;

/// A scripted fake XMPP server; see the module docs.
pub struct FakeServer {
    port: u16,
    stats: Arc<Stats>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// Binds 127.0.0.1:0 and starts serving `behaviour`.
    pub fn start(behaviour: Behaviour) -> FakeServer {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fake server");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let port = std_listener.local_addr().expect("local addr").port();
        let stats = Arc::new(Stats::default());
        let (tx, rx) = oneshot::channel();
        let acceptor = match &behaviour {
            Behaviour::StartTls { cert } | Behaviour::DirectTls { cert } => Some(tls_acceptor(cert)),
            _ => None,
        };
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name(format!("fake-xmpp-{port}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async move {
                    let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                    let mut rx = rx;
                    loop {
                        tokio::select! {
                            _ = &mut rx => break,
                            accepted = listener.accept() => {
                                let Ok((sock, _)) = accepted else { continue };
                                thread_stats.connections.fetch_add(1, Ordering::SeqCst);
                                let (b, s, a) = (behaviour.clone(), thread_stats.clone(), acceptor.clone());
                                tokio::spawn(async move { let _ = serve(sock, b, s, a).await; });
                            }
                        }
                    }
                });
                // Dropping the runtime cancels the connection tasks and closes their sockets.
            })
            .expect("spawn fake server thread");
        FakeServer { port, stats, shutdown: Some(tx), thread: Some(thread) }
    }

    /// The listening port (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `"127.0.0.1"`.
    pub fn host(&self) -> &str {
        "127.0.0.1"
    }

    /// How many TCP connections were accepted.
    pub fn connections(&self) -> usize {
        self.stats.connections.load(Ordering::SeqCst)
    }

    /// How many TLS handshakes completed (for `StartTls` / `DirectTls`).
    pub fn tls_handshakes(&self) -> usize {
        self.stats.tls_ok.load(Ordering::SeqCst)
    }

    /// How many TLS handshakes failed (e.g. the client rejected the certificate).
    pub fn tls_failures(&self) -> usize {
        self.stats.tls_failed.load(Ordering::SeqCst)
    }

    /// Everything clients sent (decrypted for TLS; all connections concatenated; first MiB).
    pub fn received(&self) -> Vec<u8> {
        self.stats.received.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// [`received`](Self::received) as (lossy) text.
    pub fn received_text(&self) -> String {
        String::from_utf8_lossy(&self.received()).into_owned()
    }

    /// Polls (up to `timeout`) until `pred` holds for this server; returns whether it did.
    pub fn wait_for(&self, timeout: Duration, mut pred: impl FnMut(&FakeServer) -> bool) -> bool {
        crate::process::poll_until(timeout, || pred(self).then_some(())).is_some()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn tls_acceptor(cert: &CertPair) -> TlsAcceptor {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert_der()], cert.key_der())
        .expect("fake server certificate");
    TlsAcceptor::from(Arc::new(config))
}

const STREAM_HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' id='fake-stream' from='localhost' \
    version='1.0' xml:lang='en'>";
const SASL_FEATURES: &str = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
    <mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms></stream:features>";
const STARTTLS_FEATURES: &str = "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>\
    <required/></starttls></stream:features>";

fn record(stats: &Stats, data: &[u8]) {
    let mut r = stats.received.lock().unwrap_or_else(|e| e.into_inner());
    let room = RECORD_LIMIT.saturating_sub(r.len());
    r.extend_from_slice(&data[..data.len().min(room)]);
}

/// Reads (and records) until the tag starting with `needle` is complete (a `>` follows it)
/// in the bytes read by this call. `Ok(false)` on EOF.
async fn read_until<S: AsyncRead + Unpin>(s: &mut S, stats: &Stats, needle: &[u8]) -> std::io::Result<bool> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(false);
        }
        record(stats, &buf[..n]);
        seen.extend_from_slice(&buf[..n]);
        if let Some(p) = find(&seen, needle) {
            if seen[p..].contains(&b'>') {
                return Ok(true);
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads and records until EOF.
async fn drain<S: AsyncRead + Unpin>(s: &mut S, stats: &Stats) {
    let mut buf = [0u8; 8192];
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 {
            break;
        }
        record(stats, &buf[..n]);
    }
}

async fn after_tls<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, stats: &Stats) -> std::io::Result<()> {
    if !read_until(&mut s, stats, b"<stream:stream").await? {
        return Ok(());
    }
    s.write_all(STREAM_HEADER.as_bytes()).await?;
    s.write_all(SASL_FEATURES.as_bytes()).await?;
    s.flush().await?;
    drain(&mut s, stats).await;
    Ok(())
}

async fn serve(
    mut sock: tokio::net::TcpStream,
    behaviour: Behaviour,
    stats: Arc<Stats>,
    acceptor: Option<TlsAcceptor>,
) -> std::io::Result<()> {
    match behaviour {
        Behaviour::Silent => {
            drain(&mut sock, &stats).await;
        }
        Behaviour::NoStartTls => {
            if read_until(&mut sock, &stats, b"<stream:stream").await? {
                sock.write_all(STREAM_HEADER.as_bytes()).await?;
                sock.write_all(SASL_FEATURES.as_bytes()).await?;
                drain(&mut sock, &stats).await;
            }
        }
        Behaviour::Payload(bytes) => {
            if read_until(&mut sock, &stats, b"<stream:stream").await? {
                sock.write_all(&bytes).await?;
                sock.flush().await?;
                drain(&mut sock, &stats).await;
            }
        }
        Behaviour::Flood { prefix, chunk, max_bytes } => {
            if read_until(&mut sock, &stats, b"<stream:stream").await? {
                sock.write_all(&prefix).await?;
                let mut written = prefix.len();
                while written < max_bytes && !chunk.is_empty() {
                    // A write error means the client hung up: stop.
                    sock.write_all(&chunk).await?;
                    written += chunk.len();
                }
                sock.flush().await?;
                drain(&mut sock, &stats).await;
            }
        }
        Behaviour::StartTls { .. } => {
            if !read_until(&mut sock, &stats, b"<stream:stream").await? {
                return Ok(());
            }
            sock.write_all(STREAM_HEADER.as_bytes()).await?;
            sock.write_all(STARTTLS_FEATURES.as_bytes()).await?;
            if !read_until(&mut sock, &stats, b"<starttls").await? {
                return Ok(());
            }
            sock.write_all(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").await?;
            sock.flush().await?;
            tls_then_stream(sock, &stats, acceptor.expect("acceptor")).await?;
        }
        Behaviour::DirectTls { .. } => {
            tls_then_stream(sock, &stats, acceptor.expect("acceptor")).await?;
        }
    }
    Ok(())
}

async fn tls_then_stream(sock: tokio::net::TcpStream, stats: &Stats, acceptor: TlsAcceptor) -> std::io::Result<()> {
    match acceptor.accept(sock).await {
        Ok(tls) => {
            stats.tls_ok.fetch_add(1, Ordering::SeqCst);
            after_tls(tls, stats).await
        }
        Err(e) => {
            stats.tls_failed.fetch_add(1, Ordering::SeqCst);
            Err(e)
        }
    }
}
