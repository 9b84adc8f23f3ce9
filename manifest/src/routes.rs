//! Spin HTTP routes: exact (`/interactions`), one-segment parameters (`/runs/:id`), trailing
//! wildcards (`/bridge/...`) and private routes (reachable only by service chaining).
//! Exact routes win over parameterised ones, which win over wildcards; among wildcards the
//! longest prefix wins.

use std::fmt;

use anyhow::{Result, ensure};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Segments, where `:name` matches any one segment.
    Path(Vec<String>),
    /// Matches the prefix segments and anything below them.
    Wildcard(Vec<String>),
    Private,
}

impl Route {
    pub fn parse(route: &str) -> Result<Self> {
        ensure!(route.starts_with('/'), "route `{route}` must start with `/`");
        let trimmed = route.trim_end_matches('/');
        let (path, wildcard) = match trimmed.strip_suffix("/...") {
            Some(prefix) => (prefix, true),
            None if trimmed == "/..." || trimmed == "..." => ("", true),
            None => (trimmed, false),
        };
        let segments: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect();
        ensure!(!segments.iter().any(|s| s == "..."), "route `{route}`: `...` may only end a route");
        Ok(if wildcard { Self::Wildcard(segments) } else { Self::Path(segments) })
    }

    /// How well `path` matches: `None` for no match, otherwise a rank (higher wins).
    pub fn rank(&self, path: &str) -> Option<(u8, usize)> {
        let parts: Vec<&str> = path.split('?').next().unwrap_or("").split('/').filter(|s| !s.is_empty()).collect();
        match self {
            Self::Private => None,
            Self::Path(segments) => {
                let matches = segments.len() == parts.len()
                    && segments.iter().zip(&parts).all(|(s, p)| s.starts_with(':') || s == p);
                let exact = segments.iter().all(|s| !s.starts_with(':'));
                matches.then_some((if exact { 2 } else { 1 }, segments.len()))
            }
            Self::Wildcard(prefix) => {
                let matches =
                    parts.len() >= prefix.len() && prefix.iter().zip(&parts).all(|(s, p)| s.starts_with(':') || s == p);
                matches.then_some((0, prefix.len()))
            }
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(s) => write!(f, "/{}", s.join("/")),
            Self::Wildcard(s) if s.is_empty() => f.write_str("/..."),
            Self::Wildcard(s) => write!(f, "/{}/...", s.join("/")),
            Self::Private => f.write_str("(private)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_and_precedence() {
        let exact = Route::parse("/interactions").unwrap();
        let param = Route::parse("/runs/:id").unwrap();
        let wild = Route::parse("/bridge/...").unwrap();
        let all = Route::parse("/...").unwrap();
        assert!(exact.rank("/interactions").is_some());
        assert!(exact.rank("/interactions/x").is_none());
        assert!(param.rank("/runs/42").is_some());
        assert!(param.rank("/runs").is_none());
        assert!(wild.rank("/bridge").is_some());
        assert!(wild.rank("/bridge/kafka?x=1").is_some());
        assert!(wild.rank("/bridged").is_none());
        assert!(exact.rank("/interactions") > all.rank("/interactions"));
        assert!(wild.rank("/bridge/kafka") > all.rank("/bridge/kafka"));
        assert!(Route::Private.rank("/").is_none());
        assert_eq!(all.to_string(), "/...");
        assert!(Route::parse("interactions").is_err());
    }
}
