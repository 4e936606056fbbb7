//! Throwaway X.509 material for the test servers, generated in-process with `rcgen`.
//!
//! Surprising but measured: rustls rejects a server certificate that has no
//! `basicConstraints` extension or has `CA:TRUE` as `CaUsedAsEndEntity`, so every leaf made
//! here carries a critical `basicConstraints` with `CA:FALSE` (rcgen's `IsCa::ExplicitNoCa`).
//!
//! Also measured: rcgen's default validity (1975..4096) crashes ejabberd 23.01's `pkix`
//! server (it arms an Erlang timer for the expiry warning, and a timer that far out is a
//! `badarg`), after which every TLS connection fails with `no_certfile`. Hence the short
//! [`validity`] on everything made here.

use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The names every test server answers for: the XMPP domain, its MUC and upload components,
/// and the loopback address the harness binds to.
pub const SERVER_NAMES: &[&str] = &["localhost", "muc.localhost", "upload.localhost", "127.0.0.1"];

/// A certificate and its private key, both PEM.
#[derive(Clone, Debug)]
pub struct CertPair {
    /// The certificate (leaf only), PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8, ECDSA P-256), PEM.
    pub key_pem: String,
}

impl CertPair {
    /// A self-signed end-entity certificate for `names` (DNS names or IP addresses).
    /// It is its own issuer, so no client trusting a CA should accept it.
    pub fn self_signed(names: &[&str]) -> CertPair {
        let key = KeyPair::generate().expect("generate key");
        let mut params = leaf_params(names);
        params.distinguished_name = dn(&format!("Rapport self-signed {}", names.first().unwrap_or(&"")));
        let cert = params.self_signed(&key).expect("self-sign certificate");
        CertPair { cert_pem: cert.pem(), key_pem: key.serialize_pem() }
    }

    /// The certificate as DER, for rustls.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).expect("parse certificate PEM")
    }

    /// The private key as DER, for rustls.
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).expect("parse key PEM")
    }
}

/// Paths of the TLS files written into a server instance directory.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// `ca.pem`: the certificate a client must trust.
    pub ca_file: PathBuf,
    /// `server.crt`: the server's leaf certificate.
    pub cert_file: PathBuf,
    /// `server.key`: the leaf's private key.
    pub key_file: PathBuf,
}

/// A throwaway certificate authority. Every call to [`TestCa::new`] makes a new, unrelated
/// CA, so a second one is what "untrusted certificate" tests need.
pub struct TestCa {
    name: String,
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    /// A new CA with a random key; `name` goes into its subject CN.
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().expect("generate CA key");
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        (params.not_before, params.not_after) = validity();
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("self-sign CA");
        TestCa { name: name.to_string(), cert_pem: cert.pem(), issuer: Issuer::new(params, key) }
    }

    /// The CA's subject CN.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CA certificate, PEM (what a client trusts).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate as DER.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).expect("parse CA PEM")
    }

    /// An end-entity (`CA:FALSE`, serverAuth) certificate for `names`, signed by this CA.
    /// Entries that parse as IP addresses become IP SANs, the rest DNS SANs; the first
    /// name is the subject CN.
    pub fn issue(&self, names: &[&str]) -> CertPair {
        let key = KeyPair::generate().expect("generate leaf key");
        let mut params = leaf_params(names);
        params.distinguished_name = dn(names.first().copied().unwrap_or("localhost"));
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        CertPair { cert_pem: cert.pem(), key_pem: key.serialize_pem() }
    }

    /// The standard test-server certificate: `localhost`, `muc.localhost`,
    /// `upload.localhost` and `127.0.0.1` (see [`SERVER_NAMES`]).
    pub fn issue_server_cert(&self) -> CertPair {
        self.issue(SERVER_NAMES)
    }

    /// Writes `ca.pem` (this CA), `server.crt` and `server.key` (a fresh
    /// [`issue_server_cert`](Self::issue_server_cert)) into `dir`.
    pub fn write_server_files(&self, dir: &Path) -> io::Result<TlsFiles> {
        let leaf = self.issue_server_cert();
        let files = TlsFiles {
            ca_file: dir.join("ca.pem"),
            cert_file: dir.join("server.crt"),
            key_file: dir.join("server.key"),
        };
        fs::write(&files.ca_file, &self.cert_pem)?;
        fs::write(&files.cert_file, &leaf.cert_pem)?;
        fs::write(&files.key_file, &leaf.key_pem)?;
        Ok(files)
    }
}

/// Validity of every certificate made here: from a day ago (clock skew) to 30 days ahead.
/// Keep `not_after` under ~49 days: ejabberd's expiry timer must fit Erlang's timer range.
pub fn validity() -> (time::OffsetDateTime, time::OffsetDateTime) {
    let now = time::OffsetDateTime::now_utc();
    (now - time::Duration::days(1), now + time::Duration::days(30))
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "Rapport test harness");
    dn
}

fn leaf_params(names: &[&str]) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName((*n).to_string().try_into().expect("valid DNS name")),
        })
        .collect();
    (params.not_before, params.not_after) = validity();
    // Critical basicConstraints CA:FALSE — see the module comment.
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params
}
