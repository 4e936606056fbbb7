//! Where to connect: a manual host/port, or the domain's SRV records (RFC 6120 `_xmpp-client`
//! for STARTTLS, XEP-0368 `_xmpps-client` for direct TLS), falling back to the domain itself.
//! Names learned here are only for connecting; the certificate is always checked against the
//! account's domain.

use std::time::Duration;

use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;
use tokio::net::TcpStream;

use crate::config::AccountConfig;
use crate::error::{EngineError, Result};

pub const DEFAULT_STARTTLS_PORT: u16 = 5222;
pub const DEFAULT_DIRECT_TLS_PORT: u16 = 5223;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub direct_tls: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub target: String,
    pub port: u16,
    pub direct_tls: bool,
}

/// Orders SRV records of both services: lower priority first, direct TLS before STARTTLS at equal
/// priority (XEP-0368), then higher weight. A target of "." means "service not offered".
pub fn order_srv_records(mut records: Vec<SrvRecord>) -> Vec<Target> {
    records.retain(|r| r.target != "." && !r.target.is_empty());
    records.sort_by_key(|r| (r.priority, !r.direct_tls, std::cmp::Reverse(r.weight)));
    records
        .into_iter()
        .map(|r| Target { host: r.target.trim_end_matches('.').to_owned(), port: r.port, direct_tls: r.direct_tls })
        .collect()
}

pub async fn targets(account: &AccountConfig, domain: &str) -> Vec<Target> {
    if let Some(host) = &account.host {
        let default_port = if account.direct_tls { DEFAULT_DIRECT_TLS_PORT } else { DEFAULT_STARTTLS_PORT };
        return vec![Target { host: host.clone(), port: account.port.unwrap_or(default_port), direct_tls: account.direct_tls }];
    }
    let mut targets = order_srv_records(lookup_srv(domain).await);
    if account.direct_tls {
        targets.push(Target { host: domain.into(), port: account.port.unwrap_or(DEFAULT_DIRECT_TLS_PORT), direct_tls: true });
    }
    targets.push(Target { host: domain.into(), port: account.port.unwrap_or(DEFAULT_STARTTLS_PORT), direct_tls: false });
    targets.dedup();
    targets
}

async fn lookup_srv(domain: &str) -> Vec<SrvRecord> {
    if domain.parse::<std::net::IpAddr>().is_ok() || domain == "localhost" {
        return Vec::new();
    }
    let Ok(builder) = TokioResolver::builder_tokio() else { return Vec::new() };
    let Ok(resolver) = builder.build() else { return Vec::new() };
    let mut records = Vec::new();
    for (service, direct_tls) in [("_xmpps-client._tcp", true), ("_xmpp-client._tcp", false)] {
        let name = format!("{service}.{domain}.");
        let Ok(lookup) = tokio::time::timeout(CONNECT_TIMEOUT, resolver.srv_lookup(name)).await else { continue };
        let Ok(lookup) = lookup else { continue };
        for record in lookup.answers() {
            if let RData::SRV(srv) = &record.data {
                records.push(SrvRecord {
                    priority: srv.priority,
                    weight: srv.weight,
                    target: srv.target.to_ascii(),
                    port: srv.port,
                    direct_tls,
                });
            }
        }
    }
    records
}

/// Opens a TCP connection to the first target that answers. The error of the best-informed
/// failure is returned when none does.
pub async fn connect_tcp(targets: &[Target]) -> Result<(TcpStream, Target)> {
    let mut last_error = EngineError::network("no address to connect to");
    for target in targets {
        match connect_one(target).await {
            Ok(stream) => return Ok((stream, target.clone())),
            Err(error) => last_error = error,
        }
    }
    Err(last_error)
}

async fn connect_one(target: &Target) -> Result<TcpStream> {
    let address = format!("{}:{}", target.host, target.port);
    let addresses = match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host(&address)).await {
        Err(_) => return Err(EngineError::Timeout { stage: format!("looking up {}", target.host) }),
        Ok(Err(_)) => return Err(EngineError::UnknownHost { host: target.host.clone() }),
        Ok(Ok(addresses)) => addresses.collect::<Vec<_>>(),
    };
    if addresses.is_empty() {
        return Err(EngineError::UnknownHost { host: target.host.clone() });
    }
    let mut last_error = EngineError::UnknownHost { host: target.host.clone() };
    for socket_address in addresses {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(socket_address)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last_error = EngineError::ConnectionRefused { address: address.clone() };
            }
            Ok(Err(e)) => last_error = EngineError::network(format!("{address}: {e}")),
            Err(_) => last_error = EngineError::Timeout { stage: format!("connecting to {address}") },
        }
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srv(priority: u16, weight: u16, target: &str, direct_tls: bool) -> SrvRecord {
        SrvRecord { priority, weight, target: target.into(), port: 1, direct_tls }
    }

    #[test]
    fn srv_records_are_ordered_by_priority_then_direct_tls_then_weight() {
        let ordered = order_srv_records(vec![
            srv(10, 5, "b.example.", false),
            srv(5, 1, "a.example.", false),
            srv(10, 5, "c.example.", true),
            srv(10, 50, "d.example.", false),
            srv(1, 1, ".", false),
        ]);
        let hosts: Vec<_> = ordered.iter().map(|t| t.host.as_str()).collect();
        assert_eq!(hosts, ["a.example", "c.example", "d.example", "b.example"]);
    }

    #[tokio::test]
    async fn a_manual_host_overrides_dns() {
        let mut account = AccountConfig::new("a@example.org").unwrap();
        account.host = Some("127.0.0.1".into());
        account.direct_tls = true;
        let targets = targets(&account, "example.org").await;
        assert_eq!(targets, vec![Target { host: "127.0.0.1".into(), port: 5223, direct_tls: true }]);
    }

    #[tokio::test]
    async fn refused_and_unknown_hosts_are_told_apart() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let refused = connect_tcp(&[Target { host: "127.0.0.1".into(), port, direct_tls: false }]).await;
        assert_eq!(refused.unwrap_err().code(), "connection_refused");
        let unknown = connect_tcp(&[Target { host: "no-such-host.invalid".into(), port, direct_tls: false }]).await;
        assert_eq!(unknown.unwrap_err().code(), "unknown_host");
    }
}
