//! `allowed_outbound_hosts` as Spin enforces it: `scheme://host[:port]` entries, where the
//! scheme, the host (or its leftmost label, `*.example.com`) and the port (`*`, a number or
//! a range `a..b`) may be wildcards; a missing port means the scheme's well-known port.
//! `http://<id>.spin.internal` (or `*.spin.internal`) permits service chaining, whatever
//! the scheme. Empty means no outbound access at all.

use anyhow::{Result, anyhow, bail, ensure};

#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    allow_all: bool,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    scheme: Option<String>,
    host: HostPattern,
    ports: Option<(u16, u16)>,
}

#[derive(Debug, Clone)]
enum HostPattern {
    Any,
    /// `*.example.com` is stored as `.example.com`.
    Subdomain(String),
    Exact(String),
}

/// The parts of an outbound address that permissions look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl Target {
    /// Parses `scheme://host[:port][/path]`, filling in the scheme's default port.
    pub fn parse(url: &str) -> Result<Self> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| anyhow!("`{url}` has no scheme"))?;
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let (host, port) = split_port(authority)?;
        let port = match port {
            Some(p) => p.parse().map_err(|_| anyhow!("`{url}` has an invalid port"))?,
            None => default_port(scheme).ok_or_else(|| anyhow!("`{url}` needs a port"))?,
        };
        ensure!(!host.is_empty(), "`{url}` has no host");
        Ok(Self { scheme: scheme.to_ascii_lowercase(), host: host.to_ascii_lowercase(), port })
    }

    /// The component id if this is a service-chaining address (`<id>.spin.internal`).
    pub fn chained_component(&self) -> Option<&str> {
        self.host.strip_suffix(".spin.internal")
    }
}

impl AllowedHosts {
    /// Parses entries that are already free of `{{ templates }}`.
    pub fn parse(entries: &[String]) -> Result<Self> {
        let mut hosts = Self::default();
        for raw in entries {
            if raw == "insecure:allow-all" {
                hosts.allow_all = true;
                continue;
            }
            let (scheme, rest) = raw
                .split_once("://")
                .ok_or_else(|| anyhow!("allowed_outbound_hosts `{raw}`: missing scheme, e.g. `https://{raw}`"))?;
            let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
            ensure!(path.is_empty(), "allowed_outbound_hosts `{raw}`: must not have a path");
            let (host, port) = split_port(authority)?;
            let ports = match port {
                Some("*") => None,
                Some(p) => Some(match p.split_once("..") {
                    Some((lo, hi)) => (parse_port(raw, lo)?, parse_port(raw, hi)?),
                    None => {
                        let p = parse_port(raw, p)?;
                        (p, p)
                    }
                }),
                None if host.ends_with(".spin.internal") => None,
                None => {
                    let p = (scheme != "*").then(|| default_port(scheme)).flatten().ok_or_else(|| {
                        anyhow!("allowed_outbound_hosts `{raw}`: a port is required for scheme `{scheme}`")
                    })?;
                    Some((p, p))
                }
            };
            let host = match host {
                "*" => HostPattern::Any,
                h if h.starts_with("*.") => HostPattern::Subdomain(h[1..].to_ascii_lowercase()),
                h if h.contains('*') => {
                    bail!("allowed_outbound_hosts `{raw}`: `*` may only replace the whole host or its first label")
                }
                h => HostPattern::Exact(h.to_ascii_lowercase()),
            };
            let scheme = (scheme != "*").then(|| scheme.to_ascii_lowercase());
            hosts.entries.push(Entry { scheme, host, ports });
        }
        Ok(hosts)
    }

    pub fn allows(&self, target: &Target) -> bool {
        if self.allow_all {
            return true;
        }
        let chained = target.chained_component().is_some();
        self.entries.iter().any(|e| {
            let host = match &e.host {
                HostPattern::Any => !chained,
                HostPattern::Subdomain(suffix) => target.host.ends_with(suffix.as_str()),
                HostPattern::Exact(h) => *h == target.host,
            };
            // Service chaining ignores scheme and port.
            host && (chained
                || (e.scheme.as_deref().is_none_or(|s| s == target.scheme)
                    && e.ports.is_none_or(|(lo, hi)| (lo..=hi).contains(&target.port))))
        })
    }
}

fn split_port(authority: &str) -> Result<(&str, Option<&str>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| anyhow!("bad IPv6 address in `{authority}`"))?;
        return Ok((host, after.strip_prefix(':')));
    }
    Ok(match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

fn parse_port(raw: &str, port: &str) -> Result<u16> {
    port.parse().map_err(|_| anyhow!("allowed_outbound_hosts `{raw}`: `{port}` is not a port"))
}

fn default_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "http" => 80,
        "https" => 443,
        "redis" | "rediss" => 6379,
        "mysql" => 3306,
        "postgres" => 5432,
        "mqtt" => 1883,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entries: &[&str], url: &str) -> bool {
        let entries: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        AllowedHosts::parse(&entries).unwrap().allows(&Target::parse(url).unwrap())
    }

    #[test]
    fn exact_hosts_and_default_ports() {
        assert!(allowed(&["https://discord.com"], "https://discord.com/api/v10/x"));
        assert!(allowed(&["https://discord.com"], "https://discord.com:443/"));
        assert!(!allowed(&["https://discord.com"], "http://discord.com/"), "scheme matters");
        assert!(!allowed(&["https://discord.com"], "https://discord.com:8443/"), "port matters");
        assert!(!allowed(&["https://discord.com"], "https://evil.com/"));
        assert!(!allowed(&[], "https://discord.com/"), "empty denies all");
    }

    #[test]
    fn wildcards() {
        assert!(allowed(&["*://127.0.0.1:*"], "http://127.0.0.1:4000/"));
        assert!(allowed(&["http://*:8080"], "http://anything:8080/"));
        assert!(allowed(&["https://*.example.com"], "https://api.example.com/"));
        assert!(!allowed(&["https://*.example.com"], "https://example.com/"));
        assert!(allowed(&["http://127.0.0.1:4000..4010"], "http://127.0.0.1:4005/"));
        assert!(!allowed(&["http://127.0.0.1:4000..4010"], "http://127.0.0.1:4011/"));
        assert!(allowed(&["insecure:allow-all"], "ftp://x:1/"));
    }

    #[test]
    fn service_chaining() {
        assert!(allowed(&["http://help.spin.internal"], "http://help.spin.internal/interactions"));
        assert!(allowed(&["http://help.spin.internal"], "https://help.spin.internal/"), "scheme is ignored");
        assert!(!allowed(&["http://help.spin.internal"], "http://plan.spin.internal/"));
        assert!(allowed(&["http://*.spin.internal"], "http://plan.spin.internal/"));
        assert!(!allowed(&["http://*:*"], "http://plan.spin.internal/"), "a host wildcard does not grant chaining");
    }

    #[test]
    fn redis_addresses() {
        assert!(allowed(&["redis://127.0.0.1:6379"], "redis://127.0.0.1:6379"));
        assert!(allowed(&["redis://127.0.0.1"], "redis://:secret@127.0.0.1"));
        assert!(!allowed(&["redis://127.0.0.1:6380"], "redis://127.0.0.1:6379"));
    }

    #[test]
    fn malformed_entries() {
        assert!(AllowedHosts::parse(&["discord.com".into()]).is_err());
        assert!(AllowedHosts::parse(&["https://discord.com/api".into()]).is_err());
        assert!(AllowedHosts::parse(&["*://host".into()]).is_err());
        assert!(AllowedHosts::parse(&["https://dis*cord.com".into()]).is_err());
        assert!(AllowedHosts::parse(&["https://discord.com:x".into()]).is_err());
    }
}
