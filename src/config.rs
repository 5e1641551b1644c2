//! Settings: command-line flags win over `PRESSWIRE_*` environment
//! variables (both handled by clap), which win over `presswire.toml`, which
//! wins over the defaults here.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The settings file presswire reads when `--config` names none.
pub const DEFAULT_FILE: &str = "presswire.toml";

/// A settings file that cannot be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// The contents of presswire.toml. Unknown keys are errors, so a typo does
/// not silently fall back to a default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Database URL: `sqlite://FILE` or `postgres://…`.
    pub db: Option<String>,
    #[serde(default)]
    pub smtp: SmtpConfig,
    #[serde(default)]
    pub send: SendConfig,
    #[serde(default)]
    pub release: ReleaseConfig,
    /// `[dkim]`: signing of outgoing messages.
    pub dkim: Option<DkimConfig>,
    #[serde(default)]
    pub bounces: BouncesConfig,
    #[serde(default)]
    pub imap: ImapConfig,
    #[serde(default)]
    pub serve: ServeConfig,
    #[serde(default)]
    pub webhooks: WebhooksConfig,
}

/// `[serve]`: the HTTP server of `presswire serve` (one-click unsubscribe,
/// bounce webhooks, dashboard).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Address to listen on, e.g. "127.0.0.1:8025" (the default).
    pub listen: Option<String>,
    /// The path under which a reverse proxy publishes the server, e.g.
    /// "/presswire" when the proxy strips it; links start with it.
    pub prefix: Option<String>,
    /// Argon2 hash (PHC string) of the dashboard password; without one the
    /// dashboard is off. `presswire serve --hash-password` makes one.
    pub password_hash: Option<String>,
    /// Hours a dashboard login lasts (default 12).
    pub session_hours: Option<u64>,
    /// Take the client address from the last X-Forwarded-For entry (set
    /// this only behind a reverse proxy that writes it).
    pub trust_forwarded: Option<bool>,
    /// Leave out the Secure flag of cookies: only for plain http on a
    /// loopback address (the browser on the same machine).
    pub insecure_http: Option<bool>,
    /// The largest CSV the API takes for an import, in megabytes (default 200).
    pub max_upload_mb: Option<u64>,
}

/// `[webhooks.*]`: providers that report bounces over HTTP. A webhook
/// whose table is missing is off (404).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    pub generic: Option<GenericWebhook>,
    pub ses: Option<SesWebhook>,
    pub sendgrid: Option<SendgridWebhook>,
    pub postmark: Option<PostmarkWebhook>,
    pub mailgun: Option<MailgunWebhook>,
}

/// `[webhooks.generic]`: presswire's own JSON schema (docs/serving.md).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericWebhook {
    /// Sent as `Authorization: Bearer SECRET`, or used as the key of the
    /// `X-Presswire-Signature` HMAC.
    pub secret: String,
}

/// `[webhooks.ses]`: Amazon SES notifications through an SNS topic.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SesWebhook {
    /// Topics accepted (TopicArn); empty: any topic.
    #[serde(default)]
    pub topic_arns: Vec<String>,
    /// A PEM certificate used instead of fetching SigningCertURL (pinning
    /// AWS's current certificate; the tests' own).
    pub certificate: Option<String>,
    /// Confirm SNS subscriptions by fetching their SubscribeURL (default:
    /// only log it, for a person to open).
    pub confirm_subscriptions: Option<bool>,
}

/// `[webhooks.sendgrid]`: SendGrid's signed event webhook.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendgridWebhook {
    /// The verification key SendGrid shows (base64 of an ECDSA P-256 public key).
    pub public_key: String,
}

/// `[webhooks.postmark]`: Postmark's bounce and spam-complaint webhooks,
/// with HTTP basic auth credentials put in the webhook URL.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostmarkWebhook {
    pub username: String,
    pub password: String,
}

/// `[webhooks.mailgun]`: Mailgun's signed webhooks.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailgunWebhook {
    /// The HTTP webhook signing key.
    pub signing_key: String,
}

// Secrets never appear in logs or error messages, not even in debug output.
macro_rules! redacted_debug {
    ($($t:ty),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($t), "(***)"))
            }
        }
    )*};
}
redacted_debug!(
    GenericWebhook,
    SesWebhook,
    SendgridWebhook,
    PostmarkWebhook,
    MailgunWebhook
);

/// `[bounces]`: what a bounce does to a contact (see `bounce::policy`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BouncesConfig {
    /// Soft bounces (distinct messages) that suppress an address…
    pub soft_limit: Option<u32>,
    /// …when they came within this many days, with no delivery between.
    pub soft_window_days: Option<u32>,
    /// A bounce that names only its recipient is matched to the latest
    /// delivery to that address sent at most this many days before it.
    pub match_window_days: Option<u32>,
}

/// `[imap]`: the mailbox `presswire bounces poll` reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    /// `imaps://user:password@host:993/INBOX`.
    pub url: Option<String>,
    /// The folder handled messages are moved to (created when missing).
    pub move_to: Option<String>,
    /// Between two polls: seconds, or "30s", "5m", "1h".
    pub interval: Option<Interval>,
}

/// A duration written as seconds (`300`) or with a unit (`"5m"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval(pub std::time::Duration);

impl std::str::FromStr for Interval {
    type Err = String;
    fn from_str(s: &str) -> Result<Interval, String> {
        let s = s.trim();
        let bad = || format!("{s:?} is not a duration; write e.g. 300, \"30s\", \"5m\" or \"1h\"");
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (n, unit) = s.split_at(split);
        let n: u64 = n.parse().map_err(|_| bad())?;
        let secs = match unit.trim() {
            "" | "s" => n,
            "m" => n * 60,
            "h" => n * 3600,
            _ => return Err(bad()),
        };
        if secs == 0 {
            return Err(bad());
        }
        Ok(Interval(std::time::Duration::from_secs(secs)))
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Interval, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(n) => n.to_string().parse(),
            Raw::Text(t) => t.parse(),
        }
        .map_err(serde::de::Error::custom)
    }
}

/// `[dkim]`: sign every message with this key (the public half is
/// published as `SELECTOR._domainkey.DOMAIN`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimConfig {
    pub domain: String,
    pub selector: String,
    /// A PKCS#8 or PKCS#1 PEM file (RSA or Ed25519), or one holding an
    /// Ed25519 seed in base64.
    pub key_file: String,
    /// "rsa-sha256" or "ed25519-sha256"; when given, the key must be one.
    pub algorithm: Option<String>,
}

/// `[release]`: what release files may use.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseConfig {
    /// Folders attachments may come from besides the release file's own
    /// (a shared folder of logos and factsheets); relative ones are taken
    /// from the folder of this settings file.
    #[serde(default)]
    pub attachment_dirs: Vec<PathBuf>,
}

/// `[smtp]`: the relay.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// `smtp://user:password@host:port?tls=starttls`.
    pub url: Option<String>,
    /// How long every step of an SMTP session may take, instead of RFC
    /// 5321's limit for each (see `send::timeouts`).
    pub timeout: Option<Interval>,
}

/// `[send]`: defaults of `presswire send` and `presswire worker`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendConfig {
    /// Overall rate, e.g. "5/s".
    pub rate: Option<String>,
    /// Per recipient domain, e.g. "30/m".
    pub per_domain: Option<String>,
    pub daily_cap: Option<u32>,
    pub concurrency: Option<u32>,
    /// Hours after which a deferred delivery fails.
    pub max_age_hours: Option<u64>,
    /// Domain of VERP bounce addresses (default: the sender's domain).
    pub bounce_domain: Option<String>,
    /// Base URL of `presswire serve` for one-click unsubscribe.
    pub unsubscribe_url: Option<String>,
    /// Seconds between retries; the last repeats.
    pub retry_delays: Option<Vec<u64>>,
    /// Where .eml files go when no SMTP relay is configured.
    pub outbox: Option<String>,
}

impl Config {
    /// Loads `path`, or presswire.toml in the working directory when it
    /// exists; no file means defaults. A file named explicitly must exist.
    pub fn load(path: Option<&Path>) -> Result<Config, Error> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_FILE), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Config::default())
            }
            Err(e) => {
                return Err(Error::Invalid {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })
            }
        };
        let mut config: Config = toml::from_str(&text).map_err(|e| Error::Invalid {
            path: path.display().to_string(),
            message: e.to_string().trim_end().replace('\n', "\n  "),
        })?;
        let here = path.parent().unwrap_or(Path::new(""));
        for dir in &mut config.release.attachment_dirs {
            *dir = here.join(&*dir);
        }
        Ok(config)
    }
}

/// The commented presswire.toml that `presswire init` writes.
pub const STARTER: &str = r##"# presswire settings.
# Command-line flags win over PRESSWIRE_* environment variables, which win
# over this file. Remove the leading "# " of a line to use it.

# Where contacts, sends and bounces are kept: a SQLite file (the default)
# or a PostgreSQL database shared by a team or several sending machines.
# Environment: PRESSWIRE_DB. Flag: --db.
# db = "sqlite://presswire.db"
# db = "postgres://presswire@db.example.org/presswire"

# The SMTP relay. Without one, `presswire send` writes each message as an
# .eml file into outbox/. STARTTLS is required unless the relay is on this
# machine or the URL says ?tls=none. Environment: PRESSWIRE_SMTP_URL.
[smtp]
# url = "smtp://press%40example.org:PASSWORD@mail.example.org:587?tls=starttls"
# How long presswire waits for the relay at each step before it closes the
# connection and defers the message (default: RFC 5321's limits, 2 to 10
# minutes a step). Environment: PRESSWIRE_SMTP_TIMEOUT. Flag: --smtp-timeout.
# timeout = "30s"

# How sends go out (flags of `presswire send` override these).
[send]
# rate = "5/s"              # overall: N/s, N/m, N/h or "unlimited"
# per_domain = "60/m"       # per recipient domain (gmail.com, one newsroom…)
# daily_cap = 10000         # at most this many messages a day
# concurrency = 2           # SMTP connections
# max_age_hours = 24        # deferred deliveries fail after this long
# retry_delays = [60, 300, 1800, 7200]   # seconds; the last repeats
# bounce_domain = "example.org"          # VERP: bounces+TOKEN@this domain
# unsubscribe_url = "https://press.example.org/presswire"   # see `presswire serve`
# outbox = "outbox"

# Release files. Attachments must be inside the release file's folder, or
# in one of these folders (relative to this file); anything else, symlinks
# included, is refused by `release check` and `send`.
[release]
# attachment_dirs = ["/srv/press/shared"]

# What bounces do (`presswire bounces import|poll`, and refusals while
# sending). A hard bounce (the address does not exist) suppresses the
# address at once; a complaint (marked as spam) too. Soft bounces (mailbox
# full, blocked, …) suppress it after `soft_limit` of them within
# `soft_window_days`, unless a message was delivered in between. Auto-replies
# and delay notices are recorded, never counted; "has moved" marks the
# contact needs-update.
[bounces]
# soft_limit = 3
# soft_window_days = 30
# match_window_days = 30    # a bounce naming only its recipient matches the
#                           # latest message sent to it this many days before

# The mailbox that receives bounces (the bounces+TOKEN@ addresses), read by
# `presswire bounces poll`. imaps:// is TLS from the first byte; imap://
# requires STARTTLS unless the server is on this machine or the URL ends in
# ?tls=none. The password is never printed. Handled messages are moved to
# `move_to` (created when missing); what cannot be read stays where it is.
# Environment: PRESSWIRE_IMAP_URL.
[imap]
# url = "imaps://bounces%40example.org:PASSWORD@mail.example.org:993/INBOX"
# move_to = "presswire-processed"
# interval = "5m"           # between polls, without --once

# `presswire serve`: one-click unsubscribe (point [send] unsubscribe_url at
# it), bounce webhooks and a read-only dashboard. Run it behind a reverse
# proxy that terminates TLS (see docs/serving.md). Flag: --listen.
[serve]
# listen = "127.0.0.1:8025"
# prefix = "/presswire"       # the path the proxy publishes it under, if any
# password_hash = "$argon2id$v=19$..."   # dashboard login; make one with
#                                        # `presswire serve --hash-password`
# session_hours = 12
# trust_forwarded = true      # client address from X-Forwarded-For (behind a proxy)
# insecure_http = true        # no Secure cookies: plain http on loopback only

# Bounce webhooks (POST /webhooks/NAME). Each is off until its table is
# here; every request must carry the provider's signature or the secret.
# [webhooks.generic]          # presswire's own JSON (README "Webhooks")
# secret = "a long random string"
# [webhooks.ses]              # Amazon SES through an SNS topic
# topic_arns = ["arn:aws:sns:eu-west-1:123456789012:presswire-bounces"]
# [webhooks.sendgrid]         # Event Webhook with signature verification on
# public_key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE..."
# [webhooks.postmark]         # URL https://USER:PASSWORD@host/webhooks/postmark
# username = "postmark"
# password = "a long random string"
# [webhooks.mailgun]
# signing_key = "key-..."

# DKIM signing (RFC 6376; RSA-SHA256 or Ed25519-SHA256). The key file is
# read by every worker; it is never printed. PKCS#8 PEM ("BEGIN PRIVATE
# KEY", from `openssl genrsa 2048`, `openssl genpkey -algorithm ed25519` or
# `opendkim-genkey`) or PKCS#1 PEM; docs/sending.md shows the DNS record.
# [dkim]
# domain = "example.org"
# selector = "press2026"
# key_file = "/etc/presswire/dkim.pem"
# algorithm = "rsa-sha256"  # optional: the key says which
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starter_parses_and_unknown_keys_are_refused() {
        let c: Config = toml::from_str(STARTER).unwrap();
        assert!(c.db.is_none());
        assert!(c.smtp.url.is_none());
        assert!(c.imap.url.is_none() && c.bounces.soft_limit.is_none());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.toml");
        std::fs::write(&p, "db = \"sqlite://x.db\"\ndatabase = 1\n").unwrap();
        let e = Config::load(Some(&p)).unwrap_err().to_string();
        assert!(e.contains("p.toml") && e.contains("database"), "{e}");
    }

    #[test]
    fn intervals() {
        let c: Config = toml::from_str("[smtp]\ntimeout = \"30s\"\n").unwrap();
        assert_eq!(c.smtp.timeout.unwrap().0.as_secs(), 30);
        let c: Config = toml::from_str("[imap]\ninterval = 90\n").unwrap();
        assert_eq!(c.imap.interval.unwrap().0.as_secs(), 90);
        let c: Config = toml::from_str("[imap]\ninterval = \"5m\"\n").unwrap();
        assert_eq!(c.imap.interval.unwrap().0.as_secs(), 300);
        assert!(toml::from_str::<Config>("[imap]\ninterval = \"soon\"\n").is_err());
        assert!(toml::from_str::<Config>("[bounces]\nsoft_limt = 2\n").is_err());
    }
}
