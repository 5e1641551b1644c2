//! DKIM signing (RFC 6376) of outgoing messages with the key of `[dkim]`:
//! reading the key file in the forms the tools write (PKCS#8 PEM, "BEGIN
//! PRIVATE KEY", from `openssl genrsa` / `openssl genpkey` /
//! `opendkim-genkey`; PKCS#1 PEM, "BEGIN RSA PRIVATE KEY"; an Ed25519 seed
//! in base64), RSA-SHA256 or Ed25519-SHA256 (RFC 8463), and handing it to
//! lettre's signer, which takes RSA keys as PKCS#1 and Ed25519 keys as
//! their seed. The key never shows in output, logs or errors.

use std::fmt;

use base64::Engine as _;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::HeaderName;

use super::Error;

/// RFC 8301 §3.2: verifiers must refuse RSA keys under 1024 bits.
const RSA_MIN_BITS: usize = 1024;

/// A DKIM signer whose key never shows in logs or errors.
pub struct Dkim(DkimConfig);

impl fmt::Debug for Dkim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Dkim(***)")
    }
}

/// A private key in the form lettre takes it, with its algorithm.
struct Key {
    algorithm: DkimSigningAlgorithm,
    /// PKCS#1 PEM for RSA, the base64 seed for Ed25519.
    text: zeroize::Zeroizing<String>,
}

impl Dkim {
    /// Reads and checks the key of a `[dkim]` section. The key says which
    /// algorithm it is for; `algorithm`, when given, must agree.
    pub fn load(c: &crate::config::DkimConfig) -> Result<Dkim, Error> {
        let file = &c.key_file;
        let bad =
            |what: String| Error::Input(format!("presswire.toml [dkim] key_file {file}: {what}"));
        let wanted = match c.algorithm.as_deref() {
            None => None,
            Some("rsa-sha256" | "rsa") => Some(DkimSigningAlgorithm::Rsa),
            Some("ed25519-sha256" | "ed25519") => Some(DkimSigningAlgorithm::Ed25519),
            Some(other) => {
                return Err(Error::Input(format!(
                "presswire.toml [dkim] algorithm: {:?} is neither rsa-sha256 nor ed25519-sha256 \
                     (or leave it out: the key says which)",
                other.chars().take(40).collect::<String>()
            )))
            }
        };
        let text =
            zeroize::Zeroizing::new(std::fs::read_to_string(file).map_err(|e| bad(e.to_string()))?);
        let key = read_key(text.trim()).map_err(bad)?;
        if let Some(wanted) = wanted.filter(|w| w.to_string() != key.algorithm.to_string()) {
            return Err(bad(format!(
                "the file holds an {} key, but [dkim] algorithm says {wanted}-sha256; \
                 leave `algorithm` out (the key says which) or point key_file at the right key",
                key.algorithm
            )));
        }
        let signing = DkimSigningKey::new(&key.text, key.algorithm)
            .map_err(|_| bad(format!("not a usable {} private key", key.algorithm)))?;
        // Not Content-Type: lettre signs only the message's own headers, and
        // the Content-Type of a multipart message belongs to its body there,
        // so a signature listing it never verifies (seen with mail-auth).
        // The body hash still covers every part and boundary.
        let headers = [
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "Reply-To",
            "List-Unsubscribe",
            "List-Unsubscribe-Post",
            "MIME-Version",
        ]
        .into_iter()
        .map(HeaderName::new_from_ascii_str)
        .collect();
        Ok(Dkim(DkimConfig::new(
            c.selector.clone(),
            c.domain.clone(),
            signing,
            headers,
            DkimCanonicalization {
                header: DkimCanonicalizationType::Relaxed,
                body: DkimCanonicalizationType::Relaxed,
            },
        )))
    }

    /// Signs a message in place.
    pub fn sign(&self, message: &mut lettre::Message) {
        message.sign(&self.0);
    }
}

/// The key in `text`, whatever form the tools wrote it in; the error says
/// what the file holds instead (never any of its content).
fn read_key(text: &str) -> Result<Key, String> {
    use ed25519_dalek::pkcs8::DecodePrivateKey as _;
    use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
    use rsa::traits::PublicKeyParts as _;
    let rsa = |key: rsa::RsaPrivateKey| -> Result<Key, String> {
        let bits = key.size() * 8;
        if bits < RSA_MIN_BITS {
            return Err(format!(
                "an RSA key of {bits} bits: verifiers refuse keys under {RSA_MIN_BITS} bits \
                 (RFC 8301 §3.2); make a 2048-bit one (README, \"DKIM\")"
            ));
        }
        let text = key
            .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
            .map_err(|_| "the RSA key cannot be re-encoded".to_string())?;
        Ok(Key {
            algorithm: DkimSigningAlgorithm::Rsa,
            text: zeroize::Zeroizing::new(text.to_string()),
        })
    };
    if text.contains("-----BEGIN RSA PRIVATE KEY-----") {
        let key = rsa::RsaPrivateKey::from_pkcs1_pem(text)
            .map_err(|_| "not a readable PKCS#1 RSA private key".to_string())?;
        return rsa(key);
    }
    if text.contains("-----BEGIN PRIVATE KEY-----") {
        if let Ok(key) = <rsa::RsaPrivateKey as rsa::pkcs8::DecodePrivateKey>::from_pkcs8_pem(text)
        {
            return rsa(key);
        }
        if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_pem(text) {
            return Ok(Key {
                algorithm: DkimSigningAlgorithm::Ed25519,
                text: zeroize::Zeroizing::new(
                    base64::engine::general_purpose::STANDARD.encode(key.to_bytes()),
                ),
            });
        }
        return Err(
            "a PKCS#8 private key that is neither RSA nor Ed25519 (DKIM signs with those two)"
                .into(),
        );
    }
    for (label, what) in [
        (
            "ENCRYPTED PRIVATE KEY",
            "an encrypted key; presswire needs it unencrypted (`openssl pkey -in KEY -out dkim.pem` \
             asks for the passphrase once), readable only by the sending user",
        ),
        (
            "EC PRIVATE KEY",
            "an ECDSA key; DKIM signs with RSA or Ed25519",
        ),
        (
            "OPENSSH PRIVATE KEY",
            "an OpenSSH key; make a DKIM key with openssl (README, \"DKIM\")",
        ),
        (
            "PUBLIC KEY",
            "a public key; key_file needs the private half (the public one goes into DNS)",
        ),
    ] {
        if text.contains(&format!("-----BEGIN {label}-----")) {
            return Err(what.into());
        }
    }
    // An Ed25519 seed in base64, as presswire first took it.
    match base64::engine::general_purpose::STANDARD.decode(text) {
        Ok(seed) if seed.len() == 32 => Ok(Key {
            algorithm: DkimSigningAlgorithm::Ed25519,
            text: zeroize::Zeroizing::new(text.to_string()),
        }),
        _ => Err(
            "not a private key presswire reads: PKCS#8 PEM (\"BEGIN PRIVATE KEY\"), PKCS#1 PEM \
             (\"BEGIN RSA PRIVATE KEY\") or an Ed25519 seed in base64"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_are_not_private_keys_say_what_they_are() {
        for (text, says) in [
            (
                "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----",
                "a public key",
            ),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----",
                "encrypted",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----",
                "neither RSA nor Ed25519",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----",
                "PKCS#1",
            ),
            ("hunter2", "not a private key"),
        ] {
            let e = read_key(text).err().expect("refused");
            assert!(e.contains(says), "{e}");
            assert!(!e.contains("hunter2") && !e.contains("AAAA"), "{e}");
        }
        // A seed of 32 bytes is an Ed25519 key.
        let seed = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(read_key(&seed).unwrap().algorithm.to_string(), "ed25519");
    }
}
