//! E-mail addresses: normalisation, validation and the case-insensitive key.
//!
//! An address is trimmed, its domain lower-cased and converted from Unicode
//! (IDN) to punycode, and checked with the `email_address` crate (RFC 5321 /
//! RFC 5322 syntax, at least two labels in the domain). The local part keeps
//! its case, as written; uniqueness uses [`Address::key`], the whole address
//! lower-cased, so `Jane.Doe@X.org` and `jane.doe@x.org` are one contact.

use std::fmt;

use email_address::{EmailAddress, Options};
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};

/// A normalised, valid e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    email: String,
    at: usize,
}

/// Why a text is not an e-mail address; the message is written for a press officer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidAddress(pub String);

impl Address {
    /// Parses `raw`, accepting the forms real exports contain: surrounding
    /// spaces, a `mailto:` prefix and `Name <address>`.
    pub fn parse(raw: &str) -> Result<Address, InvalidAddress> {
        Address::parse_with(raw, checked_domain)
    }

    /// [`Address::parse`] with the domain checked by `domain` (a
    /// [`checked_domain`], perhaps remembered: see [`Parser`]).
    fn parse_with(
        raw: &str,
        check_domain: impl FnOnce(&str) -> Result<String, DomainError>,
    ) -> Result<Address, InvalidAddress> {
        let mut text = raw.trim();
        if let (Some(open), true) = (text.rfind('<'), text.ends_with('>')) {
            text = text[open + 1..text.len() - 1].trim();
        }
        if text
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("mailto:"))
        {
            text = text[7..].trim();
        }
        let bad = |why: &str| InvalidAddress(format!("{raw:?} is not an e-mail address ({why})"));
        if text.is_empty() {
            return Err(InvalidAddress("no e-mail address".into()));
        }
        if text.chars().any(char::is_whitespace) {
            return Err(bad("it contains a space"));
        }
        let Some(at) = text.rfind('@') else {
            return Err(bad("no @"));
        };
        let (local, domain) = (&text[..at], &text[at + 1..]);
        if local.is_empty() {
            return Err(bad("nothing before the @"));
        }
        if domain.is_empty() {
            return Err(bad("no domain after the @"));
        }
        let checked = check_domain(domain);
        let domain = match &checked {
            Err(DomainError::Malformed) => return Err(bad("the domain is not valid")),
            Ok(domain) | Err(DomainError::Refused(domain, _)) => domain,
        };
        let email = format!("{local}@{domain}");
        // What `EmailAddress::parse_with_options(&email, address_options())`
        // checks, in its order: the local part, then the domain. (It also
        // looks for a display name, " <…>", which cannot be here: the text
        // has no space.) Checking the parts apart lets a domain's verdict
        // be remembered; the crate's own words say what is wrong.
        if !EmailAddress::is_valid_local_part(local) {
            let why = EmailAddress::parse_with_options(&email, address_options())
                .err()
                .map_or_else(
                    || "the local part is not valid".to_string(),
                    |e| e.to_string(),
                );
            return Err(bad(&why));
        }
        if let Err(DomainError::Refused(_, why)) = &checked {
            return Err(bad(why.as_str()));
        }
        Ok(Address {
            at: local.len(),
            email,
        })
    }

    /// The address as stored and shown: local part as written, domain normalised.
    pub fn as_str(&self) -> &str {
        &self.email
    }

    /// The normalised address, as a `String` of its own.
    pub fn into_string(self) -> String {
        self.email
    }

    /// The key that makes addresses unique without regard to case.
    pub fn key(&self) -> String {
        self.email.to_lowercase()
    }

    /// The normalised domain (lower-case, punycode).
    pub fn domain(&self) -> &str {
        &self.email[self.at + 1..]
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.email)
    }
}

/// Lower-cases a domain and converts Unicode labels to punycode (UTS #46).
/// How `email_address` is asked to check an address: a domain with at
/// least two labels, no `[literal]`, no display name.
fn address_options() -> Options {
    Options::default()
        .with_required_tld()
        .without_domain_literal()
        .without_display_text()
}

/// Why an address's domain is refused.
#[derive(Debug, Clone)]
enum DomainError {
    /// [`normalise_domain`] refused it.
    Malformed,
    /// `email_address` refused it (normalised), saying why.
    Refused(String, String),
}

/// An address's domain normalised ([`normalise_domain`]) and checked by
/// `email_address`.
fn checked_domain(raw: &str) -> Result<String, DomainError> {
    let domain = normalise_domain(raw).map_err(|_| DomainError::Malformed)?;
    match EmailAddress::parse_with_options(&format!("x@{domain}"), address_options()) {
        Ok(_) => Ok(domain),
        Err(e) => Err(DomainError::Refused(domain, e.to_string())),
    }
}

/// Parses many addresses, remembering what each domain became: the
/// addresses of an import share a few thousand domains, and normalising
/// and checking a domain (IDNA, then `email_address`) cost as much as the
/// rest of a row. The same results as [`Address::parse`].
#[derive(Default)]
pub struct Parser {
    domains: FxHashMap<String, Result<String, DomainError>>,
}

impl Parser {
    /// Domains remembered at most; then it starts again.
    const DOMAINS: usize = 50_000;

    pub fn parse(&mut self, raw: &str) -> Result<Address, InvalidAddress> {
        let domains = &mut self.domains;
        Address::parse_with(raw, |domain| {
            if let Some(checked) = domains.get(domain) {
                return checked.clone();
            }
            if domains.len() >= Parser::DOMAINS {
                domains.clear();
            }
            let checked = checked_domain(domain);
            domains.insert(domain.to_string(), checked.clone());
            checked
        })
    }
}

pub fn normalise_domain(domain: &str) -> Result<String, InvalidAddress> {
    let domain = domain.trim().trim_start_matches('@').trim_end_matches('.');
    let ascii = idna::domain_to_ascii(domain)
        .map_err(|_| InvalidAddress(format!("{domain:?} is not a valid domain")))?;
    if ascii.is_empty() || !ascii.contains('.') || ascii.split('.').any(str::is_empty) {
        return Err(InvalidAddress(format!("{domain:?} is not a valid domain")));
    }
    if !ascii
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(InvalidAddress(format!("{domain:?} is not a valid domain")));
    }
    Ok(ascii)
}

/// The one-way hash kept for a forgotten address: SHA-256 of its key, in hex.
pub fn forgotten_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_spaces_do_not_make_a_new_contact() {
        let a = Address::parse("  Jane.Doe@X.org ").unwrap();
        let b = Address::parse("jane.doe@x.org").unwrap();
        assert_eq!(a.as_str(), "Jane.Doe@x.org");
        assert_eq!(a.key(), b.key());
        assert_eq!(a.domain(), "x.org");
    }

    #[test]
    fn idn_domains_become_punycode() {
        let a = Address::parse("info@Bücher.example").unwrap();
        assert_eq!(a.as_str(), "info@xn--bcher-kva.example");
    }

    #[test]
    fn export_forms_are_accepted() {
        assert_eq!(
            Address::parse("Jane Doe <jane@x.org>").unwrap().as_str(),
            "jane@x.org"
        );
        assert_eq!(
            Address::parse("mailto:jane@x.org").unwrap().as_str(),
            "jane@x.org"
        );
    }

    #[test]
    fn broken_addresses_are_refused_with_a_reason() {
        for bad in [
            "jane@",
            "@x.org",
            "jane",
            "jane@localhost",
            "jane doe@x.org",
            "jane@@x.org",
            "jane@x..org",
            "",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(
            Address::parse("jane@").unwrap_err().to_string(),
            "\"jane@\" is not an e-mail address (no domain after the @)"
        );
    }

    /// Text shaped like the address cells of real exports: a display name,
    /// `mailto:`, Unicode and punctuation in both parts, stray spaces.
    fn address_like() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let local = "[a-zA-Z0-9._%+!#'=?`{|}~\\-]{0,12}|\"[a-z @.<>]{0,6}\"|[a-zäöüÄÖÜßİ.]{1,8}";
        let domain = "[a-zA-Z0-9.\\-]{0,16}|[a-zäöüß\\-]{1,10}\\.[a-z]{2,6}\\.?|xn--[a-z0-9\\-]{0,10}\\.example";
        let prefix = prop_oneof![
            4 => Just(String::new()),
            1 => Just("mailto:".to_string()),
            1 => Just("MAILTO: ".to_string()),
            1 => Just("Jane Doe <".to_string()),
            1 => Just("<".to_string()),
            1 => Just(" ".to_string()),
        ];
        let suffix = prop_oneof![
            4 => Just(""),
            1 => Just(">"),
            1 => Just(" "),
            1 => Just("."),
            1 => Just("@"),
        ];
        let at = prop_oneof![
            6 => Just("@"),
            1 => Just("@@"),
            1 => Just(" @"),
            1 => Just(""),
        ];
        (prefix, local, at, domain, suffix).prop_map(|(p, l, a, d, s)| format!("{p}{l}{a}{d}{s}"))
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(raw in proptest::prelude::any::<String>()) {
            let _ = Address::parse(&raw);
        }

        #[test]
        fn address_like_text_never_panics(raw in address_like()) {
            let _ = Address::parse(&raw);
        }

        /// An address parse accepts, `email_address` accepts as a whole;
        /// a parser that remembers domains answers as parse does, also for
        /// a domain it has seen.
        #[test]
        fn remembered_domains_change_no_verdict(raws in proptest::collection::vec(address_like(), 1..8)) {
            let mut parser = Parser::default();
            for raw in raws.iter().chain(&raws) {
                let fresh = Address::parse(raw);
                if let Ok(a) = &fresh {
                    let whole = EmailAddress::parse_with_options(a.as_str(), address_options());
                    proptest::prop_assert!(whole.is_ok(), "{raw:?}: {whole:?}");
                }
                proptest::prop_assert_eq!(parser.parse(raw), fresh);
            }
        }

        /// What parse stores, parse reads back as the same contact.
        #[test]
        fn parsed_addresses_parse_again_to_the_same_key(raw in address_like()) {
            if let Ok(a) = Address::parse(&raw) {
                let again = Address::parse(a.as_str());
                proptest::prop_assert!(again.is_ok(), "{raw:?} → {:?} → {again:?}", a.as_str());
                let again = again.unwrap_or_else(|_| a.clone());
                proptest::prop_assert_eq!(again.key(), a.key());
                proptest::prop_assert_eq!(again.as_str(), a.as_str());
                proptest::prop_assert_eq!(again.domain(), a.domain());
            }
        }
    }
}
