//! Suppressions: addresses and whole domains that must not be mailed,
//! whatever list they are on. A suppressed contact stays in the database
//! (and is marked in `contacts list`); sends skip it.

use serde::Serialize;

use super::email::{forgotten_hash, normalise_domain, Address};
use super::{format_time, Error};
use crate::db::{now_ms, Db};
use crate::team::audit::{self, Action};

/// What a suppression covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Address,
    Domain,
    /// A forgotten address: only its hash is kept.
    Forgotten,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Address => "address",
            Kind::Domain => "domain",
            Kind::Forgotten => "forgotten",
        }
    }
}

/// One suppression as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Suppression {
    pub kind: Kind,
    /// The address, the domain, or the SHA-256 of a forgotten address.
    pub value: String,
    pub reason: String,
    pub source: Option<String>,
    pub created_at: String,
}

/// What a `suppress add|remove` argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Address(Address),
    Domain(String),
}

impl Target {
    /// `jane@x.org` is an address; `x.org` and `@x.org` are domains.
    pub fn parse(raw: &str) -> Result<Target, Error> {
        let raw = raw.trim();
        if raw.starts_with('@') || !raw.contains('@') {
            normalise_domain(raw)
                .map(Target::Domain)
                .map_err(|e| Error::BadInput(e.to_string()))
        } else {
            Address::parse(raw)
                .map(Target::Address)
                .map_err(|e| Error::BadInput(e.to_string()))
        }
    }

    fn kind_value(&self) -> (Kind, String) {
        match self {
            Target::Address(a) => (Kind::Address, a.key()),
            Target::Domain(d) => (Kind::Domain, d.clone()),
        }
    }
}

/// Suppresses an address or domain. Returns false when it already was
/// (the reason is then updated). `actor` is who did it, for the audit log.
pub async fn add(
    db: &Db,
    actor: &str,
    target: &Target,
    reason: &str,
    source: &str,
) -> Result<bool, Error> {
    let (kind, value) = target.kind_value();
    let mut tx = db.begin_write().await?;
    // One row per address or domain; adding again refreshes the reason.
    let existed: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM suppressions WHERE kind = $1 AND value = $2")
            .bind(kind.as_str())
            .bind(&value)
            .fetch_optional(&mut *tx)
            .await?;
    sqlx::query(
        "INSERT INTO suppressions (kind, value, reason, source, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (kind, value) DO UPDATE SET reason = excluded.reason, source = excluded.source",
    )
    .bind(kind.as_str())
    .bind(&value)
    .bind(reason)
    .bind(source)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    let summary = format!("suppressed {} {value} ({reason})", kind.as_str());
    audit::record(
        &mut tx,
        actor,
        Action::SuppressionAdd,
        Some(&value),
        &summary,
    )
    .await?;
    tx.commit().await?;
    Ok(existed.is_none())
}

/// Lifts the suppression of an address or domain; `forgotten` lifts the
/// hash kept by `contacts forget` instead. Returns whether one was removed.
/// `actor` is who did it, for the audit log.
pub async fn remove(db: &Db, actor: &str, target: &Target, forgotten: bool) -> Result<bool, Error> {
    let (kind, value) = match (target, forgotten) {
        (Target::Address(a), true) => (Kind::Forgotten, forgotten_hash(&a.key())),
        (Target::Domain(_), true) => {
            return Err(Error::BadInput(
                "--forgotten takes an e-mail address, not a domain".into(),
            ))
        }
        _ => target.kind_value(),
    };
    let mut tx = db.begin_write().await?;
    let n = sqlx::query("DELETE FROM suppressions WHERE kind = $1 AND value = $2")
        .bind(kind.as_str())
        .bind(&value)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n > 0 {
        // A forgotten address is named by its hash only, here too.
        let summary = format!("lifted the suppression of {} {value}", kind.as_str());
        audit::record(
            &mut tx,
            actor,
            Action::SuppressionRemove,
            Some(&value),
            &summary,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(n > 0)
}

/// Every suppression, newest first.
pub async fn list(db: &Db) -> Result<Vec<Suppression>, Error> {
    let rows: Vec<(String, String, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT kind, value, reason, source, created_at FROM suppressions ORDER BY created_at DESC, id DESC",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, value, reason, source, at)| Suppression {
            kind: match kind.as_str() {
                "domain" => Kind::Domain,
                "forgotten" => Kind::Forgotten,
                _ => Kind::Address,
            },
            value,
            reason,
            source,
            created_at: format_time(at),
        })
        .collect())
}
