//! URLs of mail servers: the SMTP relay (`smtp[s]://…`, see
//! `send::transport`) and the bounce mailbox (`imap[s]://…`, see
//! `bounce::imap`) are written the same way,
//! `SCHEME://user:password@host:port/PATH?tls=none|starttls|tls`, and
//! follow the same TLS rule. This module reads them; what a server does
//! with a path (a mailbox, or nothing) is its own.
//!
//! Not the `url` crate: it would accept every URL form (and normalise
//! hosts), while these URLs take one; and each error here must say what to
//! write instead without ever repeating the password.

use std::net::IpAddr;

/// How to talk TLS to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text: only asked for with `tls=none`, or on loopback.
    None,
    /// STARTTLS, required.
    StartTls,
    /// TLS from the first byte (SMTPS, IMAPS).
    Tls,
}

impl TlsMode {
    /// The value of `tls=` that asks for this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::None => "none",
            TlsMode::StartTls => "starttls",
            TlsMode::Tls => "tls",
        }
    }
}

/// The schemes of one protocol and their default ports.
pub struct Protocol {
    /// The plain scheme ("smtp", "imap"): STARTTLS unless `tls=` says otherwise.
    pub plain: &'static str,
    /// The implicit-TLS scheme ("smtps", "imaps").
    pub tls: &'static str,
    /// The default port for a plain or STARTTLS connection.
    pub plain_port: u16,
    /// The default port for implicit TLS.
    pub tls_port: u16,
}

/// A server URL, read.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerUrl {
    pub host: String,
    pub port: u16,
    /// The user name, percent-decoded; `None` without `user@`.
    pub user: Option<String>,
    /// The password, percent-decoded; `None` without `user:password@`.
    pub password: Option<String>,
    pub tls: TlsMode,
    /// Whether the URL chose the TLS mode (`tls=`, or the TLS scheme):
    /// loopback servers may go without TLS unless asked.
    pub tls_explicit: bool,
    /// What follows the host and port, percent-decoded, without its slashes.
    pub path: String,
}

/// Reads `url` as a URL of `protocol`. `bad` turns a reason into the
/// caller's error (which names the URL without its password and says what
/// to write).
pub fn parse<E>(url: &str, protocol: &Protocol, bad: impl Fn(&str) -> E) -> Result<ServerUrl, E> {
    let (scheme, rest) = url
        .trim()
        .split_once("://")
        .ok_or_else(|| bad("not a URL"))?;
    let implicit_tls = if scheme == protocol.tls {
        true
    } else if scheme == protocol.plain {
        false
    } else {
        return Err(bad(&format!(
            "the scheme must be {} or {}",
            protocol.plain, protocol.tls
        )));
    };
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    // The path starts at the first '/' after the user info: a password may
    // hold a '/' of its own.
    let host_start = rest.rfind('@').map_or(0, |at| at + 1);
    let (authority, path) = match rest[host_start..].find('/') {
        Some(i) => rest.split_at(host_start + i),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (user, password) = match userinfo.map(|u| u.split_once(':').ok_or(u)) {
        Some(Ok((u, p))) => (Some(percent_decode(u)), Some(percent_decode(p))),
        Some(Err(u)) => (Some(percent_decode(u)), None),
        None => (None, None),
    };
    let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
        let (h, p) = h.split_once(']').ok_or_else(|| bad("unclosed ["))?;
        (h.to_string(), p.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let mut tls = if implicit_tls {
        TlsMode::Tls
    } else {
        TlsMode::StartTls
    };
    let mut tls_explicit = implicit_tls;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("tls", v)) => {
                tls_explicit = true;
                tls = match v {
                    "none" => TlsMode::None,
                    "starttls" => TlsMode::StartTls,
                    "tls" => TlsMode::Tls,
                    _ => return Err(bad("tls= takes none, starttls or tls")),
                }
            }
            _ => return Err(bad(&format!("unknown option {pair:?}"))),
        }
    }
    let port = match port {
        Some(p) => p.parse().map_err(|_| bad("the port is not a number"))?,
        None if tls == TlsMode::Tls => protocol.tls_port,
        None => protocol.plain_port,
    };
    Ok(ServerUrl {
        host,
        port,
        user,
        password,
        tls,
        tls_explicit,
        path: percent_decode(path.trim_matches('/')),
    })
}

/// Whether a host is this machine (127.0.0.0/8, ::1, localhost).
pub fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The TLS rule for a plain connection: STARTTLS is required, unless the
/// server is loopback (and `tls=starttls` was not asked for) or the URL
/// says `tls=none`. Implicit TLS is encrypted from the start.
pub fn requires_starttls(tls: TlsMode, tls_explicit: bool, host: &str) -> bool {
    tls == TlsMode::StartTls && (tls_explicit || !is_loopback(host))
}

/// `%XX` escapes decoded; anything else kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMTP: Protocol = Protocol {
        plain: "smtp",
        tls: "smtps",
        plain_port: 587,
        tls_port: 465,
    };

    #[test]
    fn the_parts_of_a_url() {
        let u = parse(
            "smtp://a%40b.example:p/a%3Ass@[::1]:2525/x%20y/?tls=none",
            &SMTP,
            |w| w.to_string(),
        )
        .unwrap();
        assert_eq!(u.user.as_deref(), Some("a@b.example"));
        assert_eq!(u.password.as_deref(), Some("p/a:ss"));
        assert_eq!((u.host.as_str(), u.port), ("::1", 2525));
        assert_eq!((u.tls, u.tls_explicit), (TlsMode::None, true));
        assert_eq!(u.path, "x y");
        assert!(is_loopback(&u.host));
        let u = parse("smtps://h.example", &SMTP, |w| w.to_string()).unwrap();
        assert_eq!((u.user, u.port, u.tls), (None, 465, TlsMode::Tls));
        for (url, why) in [
            ("h.example", "not a URL"),
            ("imap://h", "the scheme must be smtp or smtps"),
            ("smtp://u@[::1", "unclosed ["),
            ("smtp://u:p@:25", "no host"),
            ("smtp://h:x", "the port is not a number"),
            ("smtp://h?tls=maybe", "tls= takes none, starttls or tls"),
            ("smtp://h?x=1", "unknown option \"x=1\""),
        ] {
            let e = parse(url, &SMTP, |w| w.to_string()).err();
            assert_eq!(e.as_deref(), Some(why), "{url}");
        }
    }
}
