//! Certificate policy: the account's domain checked against the system roots plus an optional
//! extra CA; or, after an explicit user decision, exactly one pinned certificate.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::config::AccountConfig;
use crate::error::{EngineError, Result};

/// SHA-256 of a DER certificate as upper-case hex pairs joined by colons.
pub fn fingerprint(der: &[u8]) -> String {
    colon_hex(&Sha256::digest(der))
}

fn colon_hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 3);
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 {
            text.push(':');
        }
        let _ = write!(text, "{byte:02X}");
    }
    text
}

/// Accepts "AB:CD…", "abcd…" or with spaces; returns the canonical form or an error.
pub fn normalize_fingerprint(input: &str) -> Result<String> {
    let hex: String = input.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(EngineError::invalid("certificate fingerprint", "expected 32 hex-encoded bytes (SHA-256)"));
    }
    let bytes: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
    Ok(colon_hex(&bytes))
}

#[derive(Debug)]
pub struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    pinned: Option<String>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    /// Fingerprint of the last certificate the server presented, so a refusal can show it.
    pub presented: Mutex<Option<String>>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let presented = fingerprint(end_entity);
        *self.presented.lock().unwrap() = Some(presented.clone());
        if let Some(pinned) = &self.pinned {
            return if *pinned == presented {
                Ok(ServerCertVerified::assertion())
            } else {
                Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
            };
        }
        match &self.webpki {
            Some(webpki) => webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now),
            None => Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn root_store(account: &AccountConfig) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = &account.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| EngineError::invalid("CA file", format!("{}: {e}", path.display())))?;
        let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| EngineError::invalid("CA file", format!("{}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(EngineError::invalid("CA file", format!("{} holds no PEM certificate", path.display())));
        }
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(EngineError::invalid("CA file", format!("{} holds no usable CA certificate", path.display())));
        }
    }
    Ok(roots)
}

/// The TLS client configuration for one account, and the verifier (to read the presented
/// certificate's fingerprint after a refusal).
pub fn client_config(account: &AccountConfig) -> Result<(Arc<ClientConfig>, Arc<Verifier>)> {
    let provider = provider();
    let pinned = account.pinned_certificate.as_deref().map(normalize_fingerprint).transpose()?;
    let roots = Arc::new(root_store(account)?);
    let webpki = if roots.is_empty() {
        None
    } else {
        Some(
            WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| EngineError::TlsFailed { detail: e.to_string() })?,
        )
    };
    let verifier = Arc::new(Verifier { webpki, pinned, provider: provider.clone(), presented: Mutex::new(None) });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| EngineError::TlsFailed { detail: e.to_string() })?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    Ok((Arc::new(config), verifier))
}

/// Turns a failed handshake into a typed error; certificate problems carry the fingerprint.
pub fn handshake_error(error: std::io::Error, verifier: &Verifier) -> EngineError {
    let rustls_error = error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(problem)) => EngineError::UntrustedCertificate {
            fingerprint: verifier.presented.lock().unwrap().clone().unwrap_or_default(),
            reason: describe_certificate_error(problem, verifier.pinned.is_some()),
        },
        Some(other) => EngineError::TlsFailed { detail: other.to_string() },
        None => EngineError::TlsFailed { detail: error.to_string() },
    }
}

fn describe_certificate_error(problem: &CertificateError, pinned: bool) -> String {
    match problem {
        CertificateError::ApplicationVerificationFailure if pinned => {
            "it is not the certificate you chose to trust for this account".into()
        }
        CertificateError::UnknownIssuer => "issued by an unknown authority".into(),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "expired".into(),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "issued for another server name".into()
        }
        CertificateError::BadSignature => "bad signature".into(),
        CertificateError::Revoked => "revoked".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_normalized() {
        let canonical = fingerprint(b"x");
        assert_eq!(canonical.len(), 95);
        assert_eq!(normalize_fingerprint(&canonical.to_lowercase().replace(':', "")).unwrap(), canonical);
        assert_eq!(normalize_fingerprint("abc").unwrap_err().code(), "invalid_input");
        assert_eq!(normalize_fingerprint(&"zz".repeat(32)).unwrap_err().code(), "invalid_input");
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_a_clear_error() {
        let mut account = AccountConfig::new("a@example.org").unwrap();
        account.ca_file = Some("/nonexistent/ca.pem".into());
        assert_eq!(client_config(&account).unwrap_err().code(), "invalid_input");
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "not a certificate").unwrap();
        account.ca_file = Some(file.path().into());
        assert_eq!(client_config(&account).unwrap_err().code(), "invalid_input");
    }
}
