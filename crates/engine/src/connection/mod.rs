//! Opening an authenticated XMPP stream: resolve → TCP → TLS (STARTTLS or direct) → SASL →
//! stream restart. The result is handed to tokio-xmpp's `StanzaStream`, which binds the
//! resource and runs stream management.

pub mod guard;
pub mod resolve;
pub mod sasl;
pub mod tls;

use std::borrow::Cow;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, BufStream};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_xmpp::stanzastream::Connection;
use tokio_xmpp::xmlstream::{
    initiate_stream, PendingFeaturesRecv, ReadError, RecvFeaturesError, StreamHeader, Timeouts,
    XmppStream, XmppStreamElement,
};
use xmpp_parsers::jid::{FullJid, Jid};
use xmpp_parsers::starttls;
use xmpp_parsers::stream_error::StreamError;
use xmpp_parsers::stream_features::StreamFeatures;

use crate::config::AccountConfig;
use crate::error::{EngineError, Result};

const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How the session's stream notices a dead connection: after `read_timeout` of silence it
/// probes the server, and gives up when no answer comes within `response_timeout`.
pub fn session_timeouts() -> Timeouts {
    Timeouts { read_timeout: Duration::from_secs(90), response_timeout: Duration::from_secs(30) }
}

/// What a successful sign-in learned, besides the stream itself.
#[derive(Debug, Clone)]
pub struct LoginInfo {
    pub sasl_mechanism: &'static str,
    pub channel_binding: bool,
    pub direct_tls: bool,
    pub address: String,
    /// Filled when the server ends this connection with a stream error.
    pub stream_error: guard::StreamErrorSlot,
}

/// Connects and authenticates; `identity` may carry the resource we would like bound.
pub async fn login(account: &AccountConfig, password: &str, identity: &FullJid) -> Result<(Connection, LoginInfo)> {
    login_with_timeout(account, password, identity, LOGIN_TIMEOUT).await
}

pub async fn login_with_timeout(account: &AccountConfig, password: &str, identity: &FullJid, timeout: Duration) -> Result<(Connection, LoginInfo)> {
    tokio::time::timeout(timeout, login_inner(account, password, identity))
        .await
        .unwrap_or_else(|_| Err(EngineError::Timeout { stage: "signing in".into() }))
}

async fn login_inner(account: &AccountConfig, password: &str, identity: &FullJid) -> Result<(Connection, LoginInfo)> {
    let domain = identity.domain().as_str().to_owned();
    let (tls_config, verifier) = tls::client_config(account)?;
    let targets = resolve::targets(account, &domain).await;
    let (tcp, target) = resolve::connect_tcp(&targets).await?;
    let tcp = if target.direct_tls { tcp } else { negotiate_starttls(tcp, &domain).await? };
    let server_name = rustls::pki_types::ServerName::try_from(domain.clone())
        .map_err(|e| EngineError::InvalidJid { input: domain.clone(), reason: e.to_string() })?;
    let tls_stream = TlsConnector::from(tls_config)
        .connect(server_name, tcp)
        .await
        .map_err(|e| tls::handshake_error(e, &verifier))?;
    let exporter = tls_exporter(tls_stream.get_ref().1);
    let stream_error = guard::StreamErrorSlot::default();
    let stream = BufStream::new(guard::Guarded::reporting(tls_stream, stream_error.clone()));
    let (features, stream) = recv_features(open_stream(stream, &domain).await?).await?;

    let choice = sasl::choose(&sasl::Offer {
        mechanisms: &features.sasl_mechanisms,
        binding_types: features.sasl_cb.as_ref().map(|cb| cb.types.as_slice()),
        exporter_available: exporter.is_some(),
        binding_seen_before: account.channel_binding_seen,
    })?;
    let username = identity.node().map(|n| n.as_str()).unwrap_or_default();
    let restarted = sasl::authenticate(stream, choice, username, password, exporter, &features.sasl_mechanisms).await?;
    let pending = restarted.send_header(header(&domain)).await.map_err(EngineError::network)?;
    let (features, stream) = recv_features(pending).await?;
    if !features.can_bind() {
        return Err(EngineError::protocol("the server offers no resource binding after sign-in"));
    }
    let info = LoginInfo {
        sasl_mechanism: choice.name(),
        channel_binding: choice.uses_channel_binding(),
        direct_tls: target.direct_tls,
        address: format!("{}:{}", target.host, target.port),
        stream_error,
    };
    let connection = Connection { stream: stream.box_stream(), features, identity: Jid::from(identity.clone()) };
    Ok((connection, info))
}

fn header(domain: &str) -> StreamHeader<'_> {
    StreamHeader { to: Some(Cow::Borrowed(domain)), from: None, id: None }
}

async fn open_stream<S: AsyncRead + AsyncWrite + Unpin>(stream: BufStream<S>, domain: &str) -> Result<PendingFeaturesRecv<BufStream<S>>> {
    initiate_stream(stream, xmpp_parsers::ns::JABBER_CLIENT, header(domain), session_timeouts())
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => EngineError::protocol(e),
            _ => EngineError::network(e),
        })
}

async fn recv_features<S: AsyncRead + AsyncWrite + Unpin>(pending: PendingFeaturesRecv<BufStream<S>>) -> Result<(StreamFeatures, XmppStream<BufStream<S>>)> {
    pending.recv_features().await.map_err(|e| match e {
        RecvFeaturesError::StreamError(error) => stream_error(&error.0),
        RecvFeaturesError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => EngineError::protocol(e),
        RecvFeaturesError::Io(e) => EngineError::network(e),
    })
}

/// STARTTLS (RFC 6120 §5): refuses to continue when the server does not offer it.
async fn negotiate_starttls(tcp: TcpStream, domain: &str) -> Result<TcpStream> {
    let (features, mut stream) = recv_features(open_stream(BufStream::new(guard::Guarded::new(tcp)), domain).await?).await?;
    if !features.can_starttls() {
        return Err(EngineError::TlsUnavailable);
    }
    let request = XmppStreamElement::Starttls(starttls::Nonza::Request(starttls::Request));
    stream.send(&request).await.map_err(EngineError::network)?;
    loop {
        match stream.next().await.map(|item| item.map(|e| e.into_read_error()).and_then(|e| e)) {
            Some(Ok(XmppStreamElement::Starttls(starttls::Nonza::Proceed(_)))) => break,
            Some(Ok(XmppStreamElement::Starttls(starttls::Nonza::Failure(_)))) => return Err(EngineError::TlsUnavailable),
            Some(Ok(XmppStreamElement::StreamError(error))) => return Err(stream_error(&error.0)),
            Some(Ok(_)) | Some(Err(ReadError::SoftTimeout)) => {}
            Some(Err(ReadError::ParseError(e))) => return Err(EngineError::protocol(e)),
            Some(Err(ReadError::HardError(e))) => return Err(EngineError::network(e)),
            Some(Err(ReadError::StreamFooterReceived)) | None => {
                return Err(EngineError::network("the server closed the connection before TLS"))
            }
        }
    }
    Ok(stream.into_inner().into_inner().into_inner())
}

/// RFC 9266 tls-exporter channel-binding data (TLS 1.3 only).
fn tls_exporter(connection: &rustls::ClientConnection) -> Option<Vec<u8>> {
    if connection.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
        return None;
    }
    connection.export_keying_material(vec![0u8; 32], b"EXPORTER-Channel-Binding", None).ok()
}

pub fn stream_error(error: &StreamError) -> EngineError {
    let text = error.texts.values().next().cloned();
    let condition = xmpp_parsers::minidom::Element::from(error.condition.clone()).name().to_owned();
    stream_error_from_parts(&condition, text)
}

/// `condition` is the XML name, e.g. `conflict`.
pub fn stream_error_from_parts(condition: &str, text: Option<String>) -> EngineError {
    match condition {
        "policy-violation" => EngineError::PolicyViolation { text: text.unwrap_or_default() },
        condition => EngineError::StreamError { condition: crate::config::truncate(condition, 64), text },
    }
}
