//! Sending: planning a send (audience − suppressed, every message rendered
//! and checked first), the durable queue of deliveries (claim with a lease,
//! retry with backoff, `uncertain` after a crash), rate limits shared by
//! every worker, and the transports (SMTP through lettre, or an outbox
//! folder of .eml files).
//!
//! `release/` builds messages; this module only moves them.

pub mod bundle;
pub mod dkim;
pub mod owner;
pub mod plan;
pub mod scrub;
pub mod store;
pub mod test_send;
pub mod timeouts;
pub mod tokens;
pub mod transport;
pub mod worker;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, HasKind};

/// An error of sending.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Contacts(#[from] crate::contacts::Error),
    #[error(transparent)]
    Release(#[from] crate::release::Error),
    /// Bad input: a flag, a URL, a setting; the message says what to do.
    #[error("{0}")]
    Input(String),
    /// No send with this id.
    #[error("there is no send {0}")]
    NoSuchSend(i64),
    /// The SMTP relay could not be reached, or did not answer in time:
    /// trying again later may succeed.
    #[error("{0}")]
    Connection(String),
    /// The relay cannot be used as the SMTP URL says (it offers no
    /// STARTTLS, it refuses the login): the URL or the relay must change,
    /// so it counts as bad input, and retrying would only burn the queue.
    #[error("{0}")]
    Relay(String),
    /// A send paused itself because of `cause` (a [`Error::Relay`]), whose
    /// message this one begins with.
    #[error("{cause}\nsend {send} is paused until the SMTP URL or the relay is fixed")]
    Paused { send: i64, cause: Box<Error> },
    /// One of the worker's sending tasks ended abnormally (a bug).
    #[error("a sending task failed: {0}")]
    Task(String),
}

impl Error {
    /// Whether the error is the user's input (exit 2) rather than a failure (exit 1).
    pub fn is_bad_input(&self) -> bool {
        self.kind() == ErrorKind::BadInput
    }
}

impl HasKind for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Input(_) | Error::NoSuchSend(_) | Error::Relay(_) => ErrorKind::BadInput,
            Error::Release(_) => ErrorKind::BadInput,
            Error::Contacts(e) => e.kind(),
            Error::Db(e) => crate::error::db_kind(e),
            Error::Paused { cause, .. } => cause.kind(),
            Error::Connection(_) | Error::Task(_) => ErrorKind::Failure,
        }
    }
}

/// Where a send stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SendState {
    /// Waiting for `--at`.
    Scheduled,
    /// Workers deliver it.
    Running,
    /// Stopped by `sends pause` or by repeated connection failures.
    Paused,
    /// Every delivery reached a final state.
    Finished,
    Cancelled,
}

impl SendState {
    pub fn as_str(self) -> &'static str {
        match self {
            SendState::Scheduled => "scheduled",
            SendState::Running => "running",
            SendState::Paused => "paused",
            SendState::Finished => "finished",
            SendState::Cancelled => "cancelled",
        }
    }
}

impl FromStr for SendState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "scheduled" | "planned" => SendState::Scheduled,
            "running" => SendState::Running,
            "paused" => SendState::Paused,
            "finished" => SendState::Finished,
            "cancelled" => SendState::Cancelled,
            _ => return Err(format!("unknown send state {s:?}")),
        })
    }
}

impl fmt::Display for SendState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one contact's copy stands (ARCHITECTURE.md "Delivery states").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryState {
    Queued,
    Sending,
    Sent,
    Deferred,
    Failed,
    /// Was being transmitted when its worker died: never resent silently.
    Uncertain,
    Skipped,
    Cancelled,
    Bounced,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 9] = [
        DeliveryState::Queued,
        DeliveryState::Sending,
        DeliveryState::Sent,
        DeliveryState::Deferred,
        DeliveryState::Failed,
        DeliveryState::Uncertain,
        DeliveryState::Skipped,
        DeliveryState::Cancelled,
        DeliveryState::Bounced,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Deferred => "deferred",
            DeliveryState::Failed => "failed",
            DeliveryState::Uncertain => "uncertain",
            DeliveryState::Skipped => "skipped",
            DeliveryState::Cancelled => "cancelled",
            DeliveryState::Bounced => "bounced",
        }
    }

    /// Whether nothing more will happen to the delivery by itself.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            DeliveryState::Queued | DeliveryState::Sending | DeliveryState::Deferred
        )
    }
}

impl FromStr for DeliveryState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DeliveryState::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("unknown delivery state {s:?}"))
    }
}

/// A rate: messages per period, or unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// Messages per `per_ms`; `None` = unlimited.
    pub count: Option<u32>,
    pub per_ms: u64,
}

impl Rate {
    pub const UNLIMITED: Rate = Rate {
        count: None,
        per_ms: 1000,
    };

    /// The spacing between two messages, or `None` when unlimited.
    pub fn interval(&self) -> Option<Duration> {
        self.count
            .filter(|c| *c > 0)
            .map(|c| Duration::from_micros(self.per_ms * 1000 / u64::from(c)))
    }

    /// Messages per second (infinite when unlimited).
    pub fn per_second(&self) -> f64 {
        match self.count {
            Some(c) => f64::from(c) * 1000.0 / self.per_ms as f64,
            None => f64::INFINITY,
        }
    }
}

impl FromStr for Rate {
    type Err = String;
    /// `5/s`, `300/m`, `1000/h`, `unlimited`.
    fn from_str(s: &str) -> Result<Rate, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("unlimited") || s == "0" {
            return Ok(Rate::UNLIMITED);
        }
        let err = || format!("{s:?} is not a rate; write N/s, N/m, N/h or unlimited (e.g. 5/s)");
        let (n, unit) = s.split_once('/').ok_or_else(err)?;
        let count: u32 = n.trim().parse().map_err(|_| err())?;
        let per_ms = match unit.trim() {
            "s" | "sec" | "second" => 1000,
            "m" | "min" | "minute" => 60_000,
            "h" | "hour" => 3_600_000,
            _ => return Err(err()),
        };
        if count == 0 {
            return Err(err());
        }
        Ok(Rate {
            count: Some(count),
            per_ms,
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.count {
            None => f.write_str("unlimited"),
            Some(c) => {
                let unit = match self.per_ms {
                    1000 => "s",
                    60_000 => "m",
                    _ => "h",
                };
                write!(f, "{c}/{unit}")
            }
        }
    }
}

/// How a send goes out; stored with the send so every worker uses the same.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub rate: Rate,
    pub per_domain: Rate,
    /// At most this many messages per UTC day (across sends), if set.
    pub daily_cap: Option<u32>,
    /// SMTP connections per worker.
    pub concurrency: u32,
    /// After this long since the send started, a deferred delivery fails.
    pub max_age_secs: u64,
    /// Consecutive connection failures after which the send pauses itself.
    pub pause_after_failures: u32,
    /// Domain of VERP bounce addresses (`bounces+TOKEN@DOMAIN`).
    pub bounce_domain: String,
    /// Base of the one-click unsubscribe URL, if the web endpoint is set up.
    pub unsubscribe_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(
            "5/s".parse::<Rate>().unwrap().interval(),
            Some(Duration::from_millis(200))
        );
        assert_eq!("120/m".parse::<Rate>().unwrap().per_second(), 2.0);
        assert_eq!("unlimited".parse::<Rate>().unwrap(), Rate::UNLIMITED);
        assert_eq!("3600/h".parse::<Rate>().unwrap().to_string(), "3600/h");
        assert!("5/d".parse::<Rate>().is_err());
        assert!("x/s".parse::<Rate>().is_err());
        assert!("0/s".parse::<Rate>().is_err());
    }
}
