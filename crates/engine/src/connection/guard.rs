//! A byte-level guard under the XML parser: bounds the size of one stanza (every top-level
//! element inside the stream) and the nesting depth, so a hostile server cannot make us buffer
//! an endless element (memory exhaustion). DTDs and entity declarations are already refused by
//! the parser (rxml).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Servers cap stanzas far lower (Prosody: 256 KiB by default).
pub const MAX_STANZA_BYTES: usize = 1024 * 1024;
pub const MAX_DEPTH: u32 = 48;
/// A `<stream:error/>` longer than this is not worth reading.
const MAX_STREAM_ERROR_BYTES: usize = 4096;

/// Where the guard leaves the server's last stream error (tokio-xmpp only logs it).
pub type StreamErrorSlot = Arc<Mutex<Option<crate::error::EngineError>>>;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Text,
    /// Just after `<`.
    Open,
    /// Inside a start tag (`closing` for `</…`, `special` for `<?…`/`<!…`).
    Tag { closing: bool, special: bool, slash: bool },
    Quoted { quote: u8, closing: bool, special: bool },
}

/// Tracks element depth over raw bytes, counting the bytes of the current stanza.
#[derive(Debug, Default)]
pub struct XmlLimits {
    state: State,
    depth: u32,
    stanza_bytes: usize,
    /// Name of the start tag being read (only its first bytes matter).
    name: Vec<u8>,
    name_done: bool,
    /// The content of a `<stream:error>` being read, and where to report it.
    stream_error: Option<Vec<u8>>,
    stream_errors: Option<StreamErrorSlot>,
}

impl XmlLimits {
    pub fn feed(&mut self, bytes: &[u8]) -> io::Result<()> {
        for &byte in bytes {
            if let Some(captured) = self.stream_error.as_mut().filter(|c| c.len() < MAX_STREAM_ERROR_BYTES) {
                captured.push(byte);
            }
            self.step(byte)?;
            if self.depth >= 2 || (self.depth == 1 && self.state != State::Text) {
                self.stanza_bytes += 1;
                if self.stanza_bytes > MAX_STANZA_BYTES {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "a stanza from the server exceeds the size limit"));
                }
            }
        }
        Ok(())
    }

    fn step(&mut self, byte: u8) -> io::Result<()> {
        self.state = match (self.state, byte) {
            (State::Text, b'<') => State::Open,
            (State::Text, _) => State::Text,
            (State::Open, b'/') => State::Tag { closing: true, special: false, slash: false },
            (State::Open, b'?' | b'!') => State::Tag { closing: false, special: true, slash: false },
            (State::Open, b'>') => State::Text,
            (State::Open, _) => {
                self.name.clear();
                self.name.push(byte);
                self.name_done = false;
                State::Tag { closing: false, special: false, slash: false }
            }
            (State::Tag { closing, special, .. }, b'"' | b'\'') => State::Quoted { quote: byte, closing, special },
            (State::Quoted { quote, closing, special }, b) if b == quote => State::Tag { closing, special, slash: false },
            (quoted @ State::Quoted { .. }, _) => quoted,
            (State::Tag { closing, special, slash }, b'>') => {
                self.end_tag(closing, special, slash)?;
                State::Text
            }
            (State::Tag { closing, special, .. }, b'/') => State::Tag { closing, special, slash: true },
            (State::Tag { closing, special, .. }, _) => {
                if byte.is_ascii_whitespace() {
                    self.name_done = true;
                } else if !self.name_done && self.name.len() < 32 {
                    self.name.push(byte);
                }
                State::Tag { closing, special, slash: false }
            }
        };
        Ok(())
    }

    fn end_tag(&mut self, closing: bool, special: bool, self_closing: bool) -> io::Result<()> {
        if special || (self_closing && !closing) {
            return self.maybe_stanza_done();
        }
        if closing {
            self.depth = self.depth.saturating_sub(1);
            if self.depth == 1 {
                self.report_stream_error();
            }
            return self.maybe_stanza_done();
        }
        if self.depth == 1 && self.name == b"stream:error" && self.stream_errors.is_some() {
            self.stream_error = Some(Vec::new());
        }
        if self.name == b"stream:stream" || self.name.ends_with(b":stream") || self.name == b"stream" {
            // A (re)started stream: a new document, whatever came before.
            self.depth = 1;
            self.stanza_bytes = 0;
            return Ok(());
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "XML from the server is nested too deeply"));
        }
        Ok(())
    }

    fn report_stream_error(&mut self) {
        let (Some(captured), Some(slot)) = (self.stream_error.take(), &self.stream_errors) else { return };
        let error = parse_stream_error(&String::from_utf8_lossy(&captured));
        tracing::warn!(%error, "the server sent a stream error");
        *slot.lock().unwrap() = Some(error);
    }

    fn maybe_stanza_done(&mut self) -> io::Result<()> {
        if self.depth <= 1 {
            self.stanza_bytes = 0;
        }
        Ok(())
    }
}

/// Reads the condition (the first child element's name) and the optional `<text>` of a stream
/// error's content, without a namespace-aware parser (the `stream` prefix is declared on the
/// stream header, outside the captured bytes).
pub fn parse_stream_error(content: &str) -> crate::error::EngineError {
    let condition = content
        .split('<')
        .skip(1)
        .map(|tag| tag.split(|c: char| c.is_whitespace() || c == '/' || c == '>').next().unwrap_or(""))
        .find(|name| !name.is_empty() && *name != "text" && !name.starts_with('/'))
        .unwrap_or("undefined-condition");
    let text = content
        .find("<text")
        .and_then(|start| content[start..].find('>').map(|end| start + end + 1))
        .and_then(|start| content[start..].find("</text>").map(|end| &content[start..start + end]))
        .map(|t| crate::pipeline::clean_text(t, 500))
        .filter(|t| !t.is_empty());
    super::stream_error_from_parts(condition, text)
}

/// Wraps the connection's read side with [`XmlLimits`]. A new stream header (after SASL) resets
/// the depth, as it starts a new document.
pub struct Guarded<S> {
    inner: S,
    limits: XmlLimits,
}

impl<S> Guarded<S> {
    pub fn new(inner: S) -> Self {
        Self { inner, limits: XmlLimits::default() }
    }

    /// Also reports the server's stream errors into `slot`.
    pub fn reporting(inner: S, slot: StreamErrorSlot) -> Self {
        Self { inner, limits: XmlLimits { stream_errors: Some(slot), ..XmlLimits::default() } }
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let Self { inner, limits } = &mut *self;
        let result = Pin::new(inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            limits.feed(&buf.filled()[before..])?;
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[u8] = b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

    #[test]
    fn ordinary_traffic_passes_and_resets_per_stanza() {
        let mut limits = XmlLimits::default();
        limits.feed(HEADER).unwrap();
        let stanza = format!("<message to='a@b' x='1>2'><body>{}</body><c/></message>", "x".repeat(600 * 1024));
        for _ in 0..5 {
            limits.feed(stanza.as_bytes()).unwrap();
        }
        assert_eq!(limits.depth, 1);
        assert_eq!(limits.stanza_bytes, 0);
    }

    #[test]
    fn an_endless_stanza_is_cut_off() {
        let mut limits = XmlLimits::default();
        limits.feed(HEADER).unwrap();
        limits.feed(b"<message><body>").unwrap();
        let chunk = vec![b'a'; 64 * 1024];
        let error = (0..100).find_map(|_| limits.feed(&chunk).err()).expect("cut off");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut limits = XmlLimits::default();
        limits.feed(HEADER).unwrap();
        let deep = "<a>".repeat(MAX_DEPTH as usize + 1);
        assert!(limits.feed(deep.as_bytes()).is_err());
    }

    #[test]
    fn a_restarted_stream_starts_over() {
        let mut limits = XmlLimits::default();
        limits.feed(HEADER).unwrap();
        limits.feed(b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>").unwrap();
        limits.feed(HEADER).unwrap();
        limits.feed(b"<stream:features><bind/></stream:features>").unwrap();
        assert_eq!(limits.depth, 1);
        assert_eq!(limits.stanza_bytes, 0);
    }

    #[test]
    fn a_stream_error_is_captured_with_its_condition_and_text() {
        let slot = StreamErrorSlot::default();
        let mut limits = XmlLimits { stream_errors: Some(slot.clone()), ..XmlLimits::default() };
        limits.feed(HEADER).unwrap();
        limits.feed(b"<message><body>hi</body></message>").unwrap();
        assert!(slot.lock().unwrap().is_none());
        limits
            .feed(b"<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced by new connection</text></stream:error>")
            .unwrap();
        assert_eq!(
            slot.lock().unwrap().clone(),
            Some(crate::EngineError::StreamError { condition: "conflict".into(), text: Some("Replaced by new connection".into()) })
        );
        assert_eq!(parse_stream_error("<policy-violation xmlns='x'/>"), crate::EngineError::PolicyViolation { text: String::new() });
        assert_eq!(parse_stream_error("garbage").code(), "stream_error");
    }

    #[test]
    fn a_stanza_split_across_reads_is_tracked() {
        let mut limits = XmlLimits::default();
        let whole = [HEADER, b"<iq type='result' id='1'><query xmlns='x'/></iq>"].concat();
        for byte in whole.chunks(1) {
            limits.feed(byte).unwrap();
        }
        assert_eq!(limits.depth, 1);
    }
}
