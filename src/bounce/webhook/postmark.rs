//! Postmark's bounce and spam-complaint webhooks (JSON, one record per
//! request). Postmark signs nothing: the webhook URL carries HTTP basic
//! auth credentials (`https://USER:PASSWORD@host/webhooks/postmark`), which
//! are checked here.

use base64::Engine as _;
use serde::Deserialize;

use super::{constant_time_eq, parse_json, Error, Event, Headers, What};
use crate::bounce::Reason;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Record {
    record_type: String,
    #[serde(rename = "ID")]
    id: serde_json::Value,
    #[serde(rename = "Type")]
    kind: Option<String>,
    email: String,
    details: Option<String>,
    bounced_at: Option<String>,
}

/// Checks the credentials and reads the record; (events, ignored).
pub fn parse(
    username: &str,
    password: &str,
    headers: Headers<'_>,
    body: &[u8],
) -> Result<(Vec<Event>, usize), Error> {
    let auth = headers("authorization")
        .ok_or_else(|| Error::Unauthorized("HTTP basic auth credentials are required".into()))?;
    let given = auth
        .strip_prefix("Basic ")
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .unwrap_or_default();
    let expected = format!("{username}:{password}");
    if !constant_time_eq(&given, expected.as_bytes()) {
        return Err(Error::Unauthorized("wrong credentials".into()));
    }
    let value: serde_json::Value = parse_json(body)?;
    let raw = serde_json::to_vec_pretty(&value).unwrap_or_default();
    let r: Record = serde_json::from_value(value)
        .map_err(|e| Error::Malformed(format!("the body is not a Postmark record: {e}")))?;
    let id = match &r.id {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) if !s.is_empty() => s.clone(),
        _ => return Err(Error::Malformed("ID must be a number or a string".into())),
    };
    let kind = r.kind.as_deref().unwrap_or("");
    // Postmark's bounce types (its "Bounce types" list): the ones that say
    // the message was not delivered, and what they mean.
    let (what, hint) = match (r.record_type.as_str(), kind) {
        ("SpamComplaint", _) | (_, "SpamComplaint") => (What::Complaint, None),
        ("Bounce", "HardBounce" | "BadEmailAddress") => (
            What::Bounce {
                permanent: Some(true),
            },
            Some(Reason::UserUnknown),
        ),
        ("Bounce", "SoftBounce" | "Transient") => (
            What::Bounce {
                permanent: Some(false),
            },
            None,
        ),
        ("Bounce", "DnsError") => (
            What::Bounce {
                permanent: Some(false),
            },
            Some(Reason::NetworkError),
        ),
        ("Bounce", "Blocked") => (
            What::Bounce {
                permanent: Some(false),
            },
            Some(Reason::Blocked),
        ),
        ("Bounce", "SpamNotification") => (
            What::Bounce {
                permanent: Some(false),
            },
            Some(Reason::SpamDetected),
        ),
        ("Bounce", _) => return Ok((Vec::new(), 1)),
        (other, _) => {
            return Err(Error::Malformed(format!(
                "RecordType {other:?} is neither Bounce nor SpamComplaint"
            )))
        }
    };
    if !r.email.contains('@') {
        return Err(Error::Malformed(format!(
            "Email {:?} is not an e-mail address",
            r.email
        )));
    }
    let at = r
        .bounced_at
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_millis());
    Ok((
        vec![Event {
            provider: "postmark",
            id,
            recipient: r.email,
            what,
            status: None,
            reply_code: None,
            diagnostic: r.details.filter(|d| !d.trim().is_empty()),
            hint,
            message_id: None,
            verp_token: None,
            at,
            raw,
        }],
        0,
    ))
}
