//! Signed tokens: the VERP bounce address that names a delivery, and the
//! unsubscribe token that names a contact and a send. Both carry an
//! HMAC-SHA256 signature under a secret kept in the database (made on first
//! use, shared by every machine of a team, never printed), so a forged
//! bounce or unsubscribe request changes nothing.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::db::Db;

/// The signing key, held as HMAC-SHA256 already keyed: each signature
/// clones it instead of hashing the key again (two of a signature's four
/// SHA-256 blocks).
#[derive(Clone)]
pub struct Signer {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(***)")
    }
}

/// Signature length in hex digits: 64 bits is plenty against forgery of a
/// single token, and keeps addresses short.
const SIG_HEX: usize = 16;

impl Signer {
    /// The team's signing key, made on first use.
    pub async fn load(db: &Db) -> Result<Signer, sqlx::Error> {
        let fresh = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let value = super::store::signing_key(db, &fresh).await?;
        Ok(Signer::from_key(value.as_bytes()))
    }

    /// A signer with a given key (the stored one, or a fixed one in tests).
    pub fn from_key(key: &[u8]) -> Signer {
        Signer {
            mac: Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length"),
        }
    }

    /// The keyed MAC fed with `purpose:data`.
    fn mac(&self, purpose: &str, data: &str) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(purpose.as_bytes());
        mac.update(b":");
        mac.update(data.as_bytes());
        mac
    }

    fn sign(&self, purpose: &str, data: &str) -> String {
        let sig = self.mac(purpose, data).finalize().into_bytes();
        hex::encode(&sig[..SIG_HEX / 2])
    }

    fn verify(&self, purpose: &str, data: &str, sig: &str) -> bool {
        let mac = self.mac(purpose, data);
        let Ok(sig) = hex::decode(sig) else {
            return false;
        };
        sig.len() * 2 == SIG_HEX && mac.verify_truncated_left(&sig).is_ok()
    }

    /// The VERP token of a delivery: `d<id>-<signature>`.
    pub fn verp_token(&self, delivery_id: i64) -> String {
        let data = delivery_id.to_string();
        format!("d{data}-{}", self.sign("verp", &data))
    }

    /// The delivery a VERP token names, if its signature holds.
    pub fn verify_verp(&self, token: &str) -> Option<i64> {
        let (data, sig) = token.strip_prefix('d')?.split_once('-')?;
        let id: i64 = data.parse().ok()?;
        self.verify("verp", data, sig).then_some(id)
    }

    /// The bounce address of a delivery: `bounces+TOKEN@DOMAIN`.
    pub fn verp_address(&self, delivery_id: i64, domain: &str) -> String {
        format!("bounces+{}@{domain}", self.verp_token(delivery_id))
    }

    /// The unsubscribe token of a contact for a send: `u<contact>.<send>.<signature>`.
    pub fn unsubscribe_token(&self, contact_id: i64, send_id: i64) -> String {
        let data = format!("{contact_id}.{send_id}");
        format!("u{data}.{}", self.sign("unsubscribe", &data))
    }

    /// (contact, send) of an unsubscribe token, if its signature holds.
    pub fn verify_unsubscribe(&self, token: &str) -> Option<(i64, i64)> {
        let rest = token.strip_prefix('u')?;
        let (data, sig) = rest.rsplit_once('.')?;
        let (c, s) = data.split_once('.')?;
        let ids = (c.parse().ok()?, s.parse().ok()?);
        self.verify("unsubscribe", data, sig).then_some(ids)
    }

    /// A signature of `data` for another `purpose` (the dashboard's
    /// session and form tokens): the purpose keeps a token made for one use
    /// from being valid for another.
    pub fn sign_for(&self, purpose: &str, data: &str) -> String {
        self.sign(purpose, data)
    }

    /// Whether `sig` is [`Signer::sign_for`]'s signature of `data` for `purpose`.
    pub fn verify_for(&self, purpose: &str, data: &str, sig: &str) -> bool {
        self.verify(purpose, data, sig)
    }

    /// A Message-ID for a delivery, the same on every retry.
    pub fn message_id(&self, send_id: i64, delivery_id: i64, domain: &str) -> String {
        let data = format!("{send_id}.{delivery_id}");
        format!("{data}.{}@{domain}", self.sign("message-id", &data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_forgeries_fail() {
        let s = Signer::from_key(b"k");
        let t = s.verp_token(42);
        assert_eq!(s.verify_verp(&t), Some(42));
        assert_eq!(s.verify_verp(&t.replace("d42", "d43")), None);
        assert_eq!(Signer::from_key(b"other").verify_verp(&t), None);
        assert_eq!(s.verify_verp("d42-"), None);
        assert_eq!(s.verify_verp("nonsense"), None);
        let u = s.unsubscribe_token(7, 3);
        assert_eq!(s.verify_unsubscribe(&u), Some((7, 3)));
        assert_eq!(s.verify_unsubscribe(&u.replacen("u7", "u8", 1)), None);
        assert!(s.verp_address(5, "x.example").starts_with("bounces+d5-"));
        assert_eq!(s.message_id(1, 2, "x.org"), s.message_id(1, 2, "x.org"));
    }
}
