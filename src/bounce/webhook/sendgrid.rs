//! SendGrid's Event Webhook with signature verification on: a JSON array
//! of events, signed with ECDSA P-256 / SHA-256 over the
//! `X-Twilio-Email-Event-Webhook-Timestamp` header followed by the body;
//! the signature (base64 DER) is in `X-Twilio-Email-Event-Webhook-Signature`
//! and the public key (base64 DER SubjectPublicKeyInfo) is the one SendGrid
//! shows when signing is turned on.
//!
//! Recorded: `bounce` (type `bounce` is a hard verdict, `blocked` a soft
//! one) and `spamreport`; other events (delivered, open, dropped…) are
//! acknowledged and ignored.

use base64::Engine as _;
use serde::Deserialize;
use spki::der::Decode;

use super::{check_fresh, now_secs, parse_json, Error, Event, Headers, What};

const SIGNATURE: &str = "x-twilio-email-event-webhook-signature";
const TIMESTAMP: &str = "x-twilio-email-event-webhook-timestamp";

#[derive(Deserialize)]
struct Item {
    email: Option<String>,
    event: Option<String>,
    sg_event_id: Option<String>,
    #[serde(rename = "smtp-id")]
    smtp_id: Option<String>,
    timestamp: Option<i64>,
    reason: Option<String>,
    status: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// The EC point of a base64 DER SubjectPublicKeyInfo.
pub fn public_key_point(base64_spki: &str) -> Result<Vec<u8>, String> {
    let der = base64::engine::general_purpose::STANDARD
        .decode(base64_spki.trim())
        .map_err(|e| format!("the SendGrid public key is not base64: {e}"))?;
    let spki = spki::SubjectPublicKeyInfoRef::from_der(&der)
        .map_err(|e| format!("the SendGrid public key is not a DER public key: {e}"))?;
    Ok(spki.subject_public_key.raw_bytes().to_vec())
}

/// Checks the signature and reads the events; (events, ignored).
pub fn parse(
    public_key: &[u8],
    headers: Headers<'_>,
    body: &[u8],
) -> Result<(Vec<Event>, usize), Error> {
    parse_at(public_key, headers, body, now_secs())
}

fn parse_at(
    public_key: &[u8],
    headers: Headers<'_>,
    body: &[u8],
    now: i64,
) -> Result<(Vec<Event>, usize), Error> {
    let (Some(sig), Some(ts)) = (headers(SIGNATURE), headers(TIMESTAMP)) else {
        return Err(Error::Unauthorized(
            "the X-Twilio-Email-Event-Webhook-Signature and -Timestamp headers are required".into(),
        ));
    };
    let sig = base64::engine::general_purpose::STANDARD
        .decode(sig.trim())
        .map_err(|_| Error::Unauthorized("the signature is not base64".into()))?;
    let mut signed = ts.trim().as_bytes().to_vec();
    signed.extend_from_slice(body);
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, public_key)
        .verify(&signed, &sig)
        .map_err(|_| Error::Unauthorized("the signature does not match".into()))?;
    let ts: i64 = ts
        .trim()
        .parse()
        .map_err(|_| Error::Unauthorized("the timestamp is not a number".into()))?;
    check_fresh(ts, super::REPLAY_WINDOW_SECS, now)?;
    let values: Vec<serde_json::Value> = parse_json(body)?;
    let mut out = Vec::new();
    let mut ignored = 0;
    for (i, value) in values.into_iter().enumerate() {
        let raw = serde_json::to_vec_pretty(&value).unwrap_or_default();
        let item: Item = serde_json::from_value(value)
            .map_err(|e| Error::Malformed(format!("event {i}: {e}")))?;
        let what = match (item.event.as_deref(), item.kind.as_deref()) {
            (Some("bounce"), Some("blocked")) => What::Bounce {
                permanent: Some(false),
            },
            (Some("bounce"), _) => What::Bounce {
                permanent: Some(true),
            },
            (Some("spamreport"), _) => What::Complaint,
            (Some(_), _) => {
                ignored += 1;
                continue;
            }
            (None, _) => return Err(Error::Malformed(format!("event {i} has no \"event\""))),
        };
        let (Some(email), Some(id)) = (item.email.filter(|e| e.contains('@')), item.sg_event_id)
        else {
            return Err(Error::Malformed(format!(
                "event {i} needs an \"email\" and an \"sg_event_id\""
            )));
        };
        out.push(Event {
            provider: "sendgrid",
            id,
            recipient: email,
            what,
            status: item.status,
            reply_code: None,
            diagnostic: item.reason,
            hint: None,
            message_id: item.smtp_id,
            verp_token: None,
            at: item.timestamp.map(|t| t * 1000),
            raw,
        });
    }
    Ok((out, ignored))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

    #[test]
    fn signed_events() {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let body = br#"[{"email":"x@y.example","event":"bounce","type":"bounce","sg_event_id":"e1","status":"5.1.1","reason":"550 5.1.1 unknown user","timestamp":1000},{"email":"x@y.example","event":"delivered","sg_event_id":"e2"}]"#;
        let mut signed = b"1000".to_vec();
        signed.extend_from_slice(body);
        let sig =
            base64::engine::general_purpose::STANDARD.encode(key.sign(&rng, &signed).unwrap());
        let headers = move |n: &str| match n {
            SIGNATURE => Some(sig.clone()),
            TIMESTAMP => Some("1000".to_string()),
            _ => None,
        };
        let point = key.public_key().as_ref().to_vec();
        let (ev, ignored) = parse_at(&point, &headers, body, 1010).unwrap();
        assert_eq!((ev.len(), ignored), (1, 1));
        assert!(matches!(
            parse_at(&point, &headers, &body[1..], 1010),
            Err(Error::Unauthorized(_))
        ));
        assert!(matches!(
            parse_at(&point, &headers, body, 9999),
            Err(Error::Stale(_))
        ));
        assert!(public_key_point("not base64!").is_err());
    }
}
