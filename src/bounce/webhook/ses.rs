//! Amazon SES bounce and complaint notifications, delivered by an Amazon
//! SNS topic to an HTTPS subscription.
//!
//! Every SNS message is checked as AWS documents ("Verifying the
//! signatures of Amazon SNS messages"): the signing certificate must come
//! from an `https://sns.<region>.amazonaws.com/….pem` URL (anything else is
//! refused before any request is made), the signature over the canonical
//! string of the message's fields is checked with the certificate's key —
//! SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA — and the
//! message's Timestamp must be recent. A `certificate` in the settings pins
//! the certificate (no fetch at all); the tests use that.
//!
//! A SubscriptionConfirmation is verified and its SubscribeURL logged for a
//! person to open (or fetched, with `confirm_subscriptions`). A
//! Notification carries the SES event as JSON in its Message.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Deserialize;
use x509_cert::der::DecodePem;

use super::{parse_json, Error, Event, What};
use crate::bounce::Reason;
use crate::config::SesWebhook;

/// SNS retries a failed delivery for up to an hour (its default HTTP
/// delivery policy is shorter; custom ones reach an hour) with the message
/// it first signed, so a shorter window would refuse honest retries.
/// Replays inside the window are caught by the event id.
pub const SNS_REPLAY_WINDOW_SECS: i64 = 3600;

#[derive(Deserialize)]
struct SnsMessage {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "MessageId")]
    message_id: String,
    #[serde(rename = "TopicArn")]
    topic_arn: String,
    #[serde(rename = "Subject")]
    subject: Option<String>,
    #[serde(rename = "Message")]
    message: String,
    #[serde(rename = "Timestamp")]
    timestamp: String,
    #[serde(rename = "SignatureVersion")]
    signature_version: String,
    #[serde(rename = "Signature")]
    signature: String,
    #[serde(rename = "SigningCertURL")]
    signing_cert_url: String,
    #[serde(rename = "SubscribeURL")]
    subscribe_url: Option<String>,
    #[serde(rename = "Token")]
    token: Option<String>,
}

/// What an SNS request was.
#[derive(Debug)]
pub enum Outcome {
    /// SES events; (events, ignored).
    Events(Vec<Event>, usize),
    /// The topic asks to confirm the subscription at `url`.
    Subscription {
        topic: String,
        url: String,
        confirmed: bool,
    },
    /// The subscription was removed.
    Unsubscribed { topic: String },
}

/// Checks SNS messages: the settings, a cache of fetched certificates'
/// keys, and the HTTPS client that fetches them.
pub struct Verifier {
    topic_arns: Vec<String>,
    pinned: Option<Vec<u8>>,
    confirm: bool,
    cache: Mutex<HashMap<String, Vec<u8>>>,
    client: reqwest::Client,
}

impl Verifier {
    /// A verifier for `[webhooks.ses]`; a pinned certificate that cannot be
    /// read is an error naming its file.
    pub fn new(config: &SesWebhook) -> Result<Verifier, String> {
        let pinned = match &config.certificate {
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("[webhooks.ses] certificate {path}: {e}"))?;
                Some(
                    rsa_key_of(&pem)
                        .map_err(|e| format!("[webhooks.ses] certificate {path}: {e}"))?,
                )
            }
            None => None,
        };
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .https_only(true)
            .build()
            .map_err(|e| format!("cannot set up an HTTPS client: {e}"))?;
        Ok(Verifier {
            topic_arns: config.topic_arns.clone(),
            pinned,
            confirm: config.confirm_subscriptions.unwrap_or(false),
            cache: Mutex::new(HashMap::new()),
            client,
        })
    }

    /// Verifies one SNS request and reads what it carries.
    pub async fn handle(&self, body: &[u8]) -> Result<Outcome, Error> {
        self.handle_at(body, super::now_secs()).await
    }

    async fn handle_at(&self, body: &[u8], now: i64) -> Result<Outcome, Error> {
        let m: SnsMessage = parse_json(body)?;
        if !is_sns_url(&m.signing_cert_url, true) {
            return Err(Error::Unauthorized(format!(
                "SigningCertURL {:?} is not an https://sns.<region>.amazonaws.com/ certificate",
                m.signing_cert_url
            )));
        }
        let algorithm: &dyn ring::signature::VerificationAlgorithm =
            match m.signature_version.as_str() {
                "1" => &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                "2" => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                v => {
                    return Err(Error::Unauthorized(format!(
                        "SignatureVersion {v:?} is neither 1 nor 2"
                    )))
                }
            };
        let text = string_to_sign(&m)?;
        let key = self.key_for(&m.signing_cert_url).await?;
        let sig = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            m.signature.trim(),
        )
        .map_err(|_| Error::Unauthorized("the Signature is not base64".into()))?;
        ring::signature::UnparsedPublicKey::new(algorithm, &key)
            .verify(text.as_bytes(), &sig)
            .map_err(|_| Error::Unauthorized("the SNS signature does not match".into()))?;
        let at = chrono::DateTime::parse_from_rfc3339(&m.timestamp).map_err(|_| {
            Error::Malformed(format!("Timestamp {:?} is not RFC 3339", m.timestamp))
        })?;
        super::check_fresh(at.timestamp(), SNS_REPLAY_WINDOW_SECS, now)?;
        if !self.topic_arns.is_empty() && !self.topic_arns.contains(&m.topic_arn) {
            return Err(Error::Unauthorized(format!(
                "TopicArn {} is not one of [webhooks.ses] topic_arns",
                m.topic_arn
            )));
        }
        match m.kind.as_str() {
            "SubscriptionConfirmation" => {
                let url = m.subscribe_url.clone().unwrap_or_default();
                let confirmed =
                    self.confirm && is_sns_url(&url, false) && self.fetch(&url).await.is_ok();
                tracing::warn!(
                    "SNS topic {} asks to confirm the subscription{}: {url}",
                    m.topic_arn,
                    if confirmed {
                        " (confirmed)"
                    } else {
                        "; open this URL to confirm"
                    }
                );
                Ok(Outcome::Subscription {
                    topic: m.topic_arn,
                    url,
                    confirmed,
                })
            }
            "UnsubscribeConfirmation" => {
                tracing::warn!("SNS topic {} removed this subscription", m.topic_arn);
                Ok(Outcome::Unsubscribed { topic: m.topic_arn })
            }
            "Notification" => {
                let (events, ignored) = ses_events(&m.message, &m.message_id)?;
                Ok(Outcome::Events(events, ignored))
            }
            other => Err(Error::Malformed(format!(
                "SNS message Type {other:?} is unknown"
            ))),
        }
    }

    /// The RSA key of the certificate at `url`: the pinned one, a cached
    /// one, or fetched.
    async fn key_for(&self, url: &str) -> Result<Vec<u8>, Error> {
        if let Some(k) = &self.pinned {
            return Ok(k.clone());
        }
        if let Some(k) = self.cache.lock().ok().and_then(|c| c.get(url).cloned()) {
            return Ok(k);
        }
        let pem = self.fetch(url).await?;
        let key = rsa_key_of(&pem).map_err(|e| Error::Unavailable(format!("{url}: {e}")))?;
        if let Ok(mut c) = self.cache.lock() {
            c.insert(url.to_string(), key.clone());
        }
        Ok(key)
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>, Error> {
        let fail = |e: String| Error::Unavailable(format!("cannot fetch {url}: {e}"));
        let r = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !r.status().is_success() {
            return Err(fail(r.status().to_string()));
        }
        Ok(r.bytes().await.map_err(|e| fail(e.to_string()))?.to_vec())
    }
}

/// Whether `url` is an https URL of Amazon SNS (`sns.<region>.amazonaws.com`,
/// or `.com.cn`), with no credentials or port; `pem`: a certificate file.
pub fn is_sns_url(url: &str, pem: bool) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else {
        return false;
    };
    let host = u.host_str().unwrap_or("");
    let region = host.strip_prefix("sns.").and_then(|h| {
        h.strip_suffix(".amazonaws.com")
            .or_else(|| h.strip_suffix(".amazonaws.com.cn"))
    });
    u.scheme() == "https"
        && u.username().is_empty()
        && u.password().is_none()
        && u.port().is_none()
        && region.is_some_and(|r| {
            !r.is_empty()
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        && (!pem || u.path().ends_with(".pem"))
}

/// The RSAPublicKey DER of a PEM certificate that is valid now.
fn rsa_key_of(pem: &[u8]) -> Result<Vec<u8>, String> {
    let cert =
        x509_cert::Certificate::from_pem(pem).map_err(|e| format!("not a PEM certificate: {e}"))?;
    let validity = &cert.tbs_certificate.validity;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    if validity.not_after.to_unix_duration() < now || validity.not_before.to_unix_duration() > now {
        return Err("the certificate is not valid now".into());
    }
    Ok(cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
        .to_vec())
}

/// The canonical text SNS signs: "Key\nvalue\n" for each field of the
/// message's type, in this order.
fn string_to_sign(m: &SnsMessage) -> Result<String, Error> {
    let mut fields: Vec<(&str, &str)> = vec![("Message", &m.message), ("MessageId", &m.message_id)];
    match m.kind.as_str() {
        "Notification" => {
            if let Some(s) = &m.subject {
                fields.push(("Subject", s));
            }
            fields.push(("Timestamp", &m.timestamp));
        }
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            let (Some(url), Some(token)) = (&m.subscribe_url, &m.token) else {
                return Err(Error::Malformed(format!(
                    "a {} needs SubscribeURL and Token",
                    m.kind
                )));
            };
            fields.push(("SubscribeURL", url));
            fields.push(("Timestamp", &m.timestamp));
            fields.push(("Token", token));
        }
        other => {
            return Err(Error::Malformed(format!(
                "SNS message Type {other:?} is unknown"
            )))
        }
    }
    fields.push(("TopicArn", &m.topic_arn));
    fields.push(("Type", &m.kind));
    Ok(fields.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect())
}

/// The SES events of a Notification's Message (SES "notification" or
/// "event publishing" JSON); (events, ignored).
fn ses_events(message: &str, sns_id: &str) -> Result<(Vec<Event>, usize), Error> {
    let Ok(n) = serde_json::from_str::<serde_json::Value>(message) else {
        // SES's first test message is plain text.
        return Ok((Vec::new(), 1));
    };
    let raw = serde_json::to_vec_pretty(&n).unwrap_or_default();
    let kind = n
        .get("notificationType")
        .or_else(|| n.get("eventType"))
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let text =
        |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let mail = n.get("mail").cloned().unwrap_or_default();
    // Our Message-ID, when SES passes the headers on.
    let message_id = mail
        .get("commonHeaders")
        .and_then(|h| text(h, "messageId"))
        .or_else(|| {
            mail.get("headers")?.as_array()?.iter().find_map(|h| {
                (text(h, "name")?.eq_ignore_ascii_case("message-id")).then(|| text(h, "value"))?
            })
        });
    // The envelope sender is our VERP address: bounces+TOKEN@domain.
    let verp_token = text(&mail, "source")
        .and_then(|s| s.split_once('@').map(|(l, _)| l.to_string()))
        .and_then(|l| l.split_once('+').map(|(_, t)| t.to_string()));
    let at = |v: &serde_json::Value| {
        text(v, "timestamp")
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.timestamp_millis())
    };
    let mut events = Vec::new();
    match kind {
        "Bounce" => {
            let b = n.get("bounce").ok_or_else(|| {
                Error::Malformed("a Bounce notification without \"bounce\"".into())
            })?;
            let permanent = match text(b, "bounceType").as_deref() {
                Some("Permanent") => Some(true),
                Some("Transient") => Some(false),
                _ => None,
            };
            // SES's sub-types (its "bounce types" table), where the
            // diagnostic says nothing.
            let hint = match text(b, "bounceSubType").as_deref() {
                Some("NoEmail" | "Suppressed" | "OnAccountSuppressionList") => {
                    Some(Reason::UserUnknown)
                }
                Some("MailboxFull") => Some(Reason::MailboxFull),
                Some("MessageTooLarge") => Some(Reason::MesgTooBig),
                Some("ContentRejected" | "AttachmentRejected") => Some(Reason::ContentError),
                _ => None,
            };
            let id = text(b, "feedbackId").unwrap_or_else(|| sns_id.to_string());
            let recipients = b
                .get("bouncedRecipients")
                .and_then(|r| r.as_array())
                .ok_or_else(|| Error::Malformed("bounce.bouncedRecipients is missing".into()))?;
            for r in recipients {
                let Some(email) = text(r, "emailAddress") else {
                    return Err(Error::Malformed(
                        "a bounced recipient without emailAddress".into(),
                    ));
                };
                events.push(Event {
                    provider: "ses",
                    id: id.clone(),
                    recipient: email,
                    what: What::Bounce { permanent },
                    status: text(r, "status"),
                    reply_code: None,
                    diagnostic: text(r, "diagnosticCode"),
                    hint,
                    message_id: message_id.clone(),
                    verp_token: verp_token.clone(),
                    at: at(b),
                    raw: raw.clone(),
                });
            }
        }
        "Complaint" => {
            let c = n.get("complaint").ok_or_else(|| {
                Error::Malformed("a Complaint notification without \"complaint\"".into())
            })?;
            let id = text(c, "feedbackId").unwrap_or_else(|| sns_id.to_string());
            let recipients = c
                .get("complainedRecipients")
                .and_then(|r| r.as_array())
                .ok_or_else(|| {
                    Error::Malformed("complaint.complainedRecipients is missing".into())
                })?;
            for r in recipients {
                let Some(email) = text(r, "emailAddress") else {
                    return Err(Error::Malformed(
                        "a complained recipient without emailAddress".into(),
                    ));
                };
                events.push(Event {
                    provider: "ses",
                    id: id.clone(),
                    recipient: email,
                    what: What::Complaint,
                    status: None,
                    reply_code: None,
                    diagnostic: text(c, "complaintFeedbackType"),
                    hint: None,
                    message_id: message_id.clone(),
                    verp_token: verp_token.clone(),
                    at: at(c),
                    raw: raw.clone(),
                });
            }
        }
        _ => return Ok((Vec::new(), 1)),
    }
    Ok((events, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sns_certificate_urls() {
        assert!(is_sns_url(
            "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem",
            true
        ));
        assert!(is_sns_url(
            "https://sns.cn-north-1.amazonaws.com.cn/x.pem",
            true
        ));
        for bad in [
            "http://sns.eu-west-1.amazonaws.com/x.pem",
            "https://sns.eu-west-1.amazonaws.com.evil.example/x.pem",
            "https://evil.example/sns.eu-west-1.amazonaws.com/x.pem",
            "https://sns.eu-west-1.amazonaws.com:8443/x.pem",
            "https://user@sns.eu-west-1.amazonaws.com/x.pem",
            "https://sns..amazonaws.com/x.pem",
            "https://sns.eu_west.amazonaws.com/x.pem",
            "https://sns.eu-west-1.amazonaws.com/x.txt",
            "not a url",
        ] {
            assert!(!is_sns_url(bad, true), "{bad}");
        }
    }

    #[test]
    fn ses_bounce_and_complaint() {
        let bounce = r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General",
            "bouncedRecipients":[{"emailAddress":"a@x.example","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}],
            "timestamp":"2026-01-01T00:00:00.000Z","feedbackId":"f1"},
            "mail":{"source":"bounces+d7-abc@us.example","commonHeaders":{"messageId":"<1.7.s@us.example>"}}}"#;
        let (ev, ignored) = ses_events(bounce, "sns1").unwrap();
        assert_eq!((ev.len(), ignored), (1, 0));
        assert_eq!(ev[0].verp_token.as_deref(), Some("d7-abc"));
        assert_eq!(ev[0].id, "f1");
        assert_eq!(ev[0].message_id.as_deref(), Some("<1.7.s@us.example>"));
        let complaint = r#"{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"a@x.example"}],"feedbackId":"f2"},"mail":{}}"#;
        assert_eq!(
            ses_events(complaint, "sns2").unwrap().0[0].what,
            What::Complaint
        );
        assert_eq!(ses_events("Successfully validated", "x").unwrap().1, 1);
        assert!(ses_events(r#"{"notificationType":"Bounce"}"#, "x").is_err());
    }
}
