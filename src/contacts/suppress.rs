//! Suppressions: addresses and whole domains that must not be mailed,
//! whatever list they are on. A suppressed contact stays in the database
//! (and is marked in `contacts list`); sends skip it.

use serde::Serialize;

use super::email::{forgotten_hash, normalise_domain, Address};
use super::{format_time, store, Error};
use crate::db::Db;

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
pub enum AddressOrDomain {
    Address(Address),
    Domain(String),
}

impl AddressOrDomain {
    /// `jane@x.org` is an address; `x.org` and `@x.org` are domains.
    pub fn parse(raw: &str) -> Result<AddressOrDomain, Error> {
        let raw = raw.trim();
        if raw.starts_with('@') || !raw.contains('@') {
            normalise_domain(raw)
                .map(AddressOrDomain::Domain)
                .map_err(|e| Error::BadInput(e.to_string()))
        } else {
            Address::parse(raw)
                .map(AddressOrDomain::Address)
                .map_err(|e| Error::BadInput(e.to_string()))
        }
    }

    fn kind_value(&self) -> (Kind, String) {
        match self {
            AddressOrDomain::Address(a) => (Kind::Address, a.key()),
            AddressOrDomain::Domain(d) => (Kind::Domain, d.clone()),
        }
    }
}

/// Suppresses an address or domain. Returns false when it already was
/// (the reason is then updated). `actor` is who did it, for the audit log.
pub async fn add(
    db: &Db,
    actor: &str,
    target: &AddressOrDomain,
    reason: &str,
    source: &str,
) -> Result<bool, Error> {
    let (kind, value) = target.kind_value();
    Ok(store::suppressions::upsert(db, actor, kind.as_str(), &value, reason, source).await?)
}

/// Lifts the suppression of an address or domain; `forgotten` lifts the
/// hash kept by `contacts forget` instead. Returns whether one was removed.
/// `actor` is who did it, for the audit log.
pub async fn remove(
    db: &Db,
    actor: &str,
    target: &AddressOrDomain,
    forgotten: bool,
) -> Result<bool, Error> {
    let (kind, value) = match (target, forgotten) {
        (AddressOrDomain::Address(a), true) => (Kind::Forgotten, forgotten_hash(&a.key())),
        (AddressOrDomain::Domain(_), true) => {
            return Err(Error::BadInput(
                "--forgotten takes an e-mail address, not a domain".into(),
            ))
        }
        _ => target.kind_value(),
    };
    Ok(store::suppressions::delete(db, actor, kind.as_str(), &value).await?)
}

/// Every suppression, newest first.
pub async fn list(db: &Db) -> Result<Vec<Suppression>, Error> {
    let rows = store::suppressions::all(db).await?;
    Ok(rows
        .into_iter()
        .map(|row| Suppression {
            kind: match row.kind.as_str() {
                "domain" => Kind::Domain,
                "forgotten" => Kind::Forgotten,
                _ => Kind::Address,
            },
            value: row.value,
            reason: row.reason,
            source: row.source,
            created_at: format_time(row.created_at),
        })
        .collect())
}
