//! presswire's own webhook schema, for a relay or a script that knows of
//! bounces and is none of the providers below.
//!
//! ```json
//! {"events": [{
//!   "id": "evt-0001",                 // unique per event: repeats are recorded once
//!   "type": "bounce",                 // or "complaint"
//!   "email": "jane@example.org",
//!   "permanent": true,                // optional: the sender's hard/soft verdict
//!   "status": "5.1.1",                // optional: enhanced status code
//!   "diagnostic": "550 5.1.1 user unknown",   // optional: the server's reply
//!   "message_id": "<1.2.abc@example.org>",     // optional: our Message-ID
//!   "timestamp": "2026-05-10T09:00:00Z"        // optional: RFC 3339 or Unix seconds
//! }]}
//! ```
//!
//! Authentication, either of:
//! - `Authorization: Bearer SECRET`;
//! - `X-Presswire-Signature: t=UNIX_SECONDS,v1=HEX`, where HEX is the
//!   HMAC-SHA256 under SECRET of `UNIX_SECONDS.` followed by the body, and
//!   the timestamp is within the replay window.

use serde::Deserialize;

use super::{
    check_fresh, constant_time_eq, hmac_sha256, now_secs, parse_json, Error, Event, Headers, What,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    events: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    email: String,
    permanent: Option<bool>,
    status: Option<String>,
    diagnostic: Option<String>,
    message_id: Option<String>,
    timestamp: Option<Timestamp>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Timestamp {
    Secs(i64),
    Text(String),
}

/// Checks the request's secret or signature and reads its events.
pub fn parse(secret: &str, headers: Headers<'_>, body: &[u8]) -> Result<Vec<Event>, Error> {
    authenticate(secret, headers, body, now_secs())?;
    let parsed: Body = parse_json(body)?;
    let mut out = Vec::new();
    for (i, value) in parsed.events.into_iter().enumerate() {
        let raw = serde_json::to_vec_pretty(&value).unwrap_or_default();
        let item: Item = serde_json::from_value(value)
            .map_err(|e| Error::Malformed(format!("events[{i}]: {e}")))?;
        let what = match item.kind.as_str() {
            "bounce" => What::Bounce {
                permanent: item.permanent,
            },
            "complaint" => What::Complaint,
            other => {
                return Err(Error::Malformed(format!(
                    "events[{i}].type: {other:?} is neither \"bounce\" nor \"complaint\""
                )))
            }
        };
        if item.id.trim().is_empty() {
            return Err(Error::Malformed(format!("events[{i}].id is empty")));
        }
        if !item.email.contains('@') {
            return Err(Error::Malformed(format!(
                "events[{i}].email: {:?} is not an e-mail address",
                item.email
            )));
        }
        let at = match item.timestamp {
            None => None,
            Some(Timestamp::Secs(s)) => Some(s * 1000),
            Some(Timestamp::Text(t)) => Some(
                chrono::DateTime::parse_from_rfc3339(&t)
                    .map_err(|e| Error::Malformed(format!("events[{i}].timestamp {t:?}: {e}")))?
                    .timestamp_millis(),
            ),
        };
        out.push(Event {
            provider: "generic",
            id: item.id,
            recipient: item.email,
            what,
            status: item.status,
            reply_code: None,
            diagnostic: item.diagnostic,
            hint: None,
            message_id: item.message_id,
            verp_token: None,
            at,
            raw,
        });
    }
    Ok(out)
}

fn authenticate(secret: &str, headers: Headers<'_>, body: &[u8], now: i64) -> Result<(), Error> {
    if let Some(sig) = headers("x-presswire-signature") {
        let mut t = None;
        let mut v1 = None;
        for part in sig.split(',') {
            match part.trim().split_once('=') {
                Some(("t", v)) => t = v.parse::<i64>().ok(),
                Some(("v1", v)) => v1 = hex::decode(v).ok(),
                _ => {}
            }
        }
        let (Some(t), Some(v1)) = (t, v1) else {
            return Err(Error::Unauthorized(
                "X-Presswire-Signature must read t=UNIX_SECONDS,v1=HEX".into(),
            ));
        };
        let expected = hmac_sha256(secret.as_bytes(), &[t.to_string().as_bytes(), b".", body]);
        if !constant_time_eq(&expected, &v1) {
            return Err(Error::Unauthorized("the signature does not match".into()));
        }
        return check_fresh(t, super::REPLAY_WINDOW_SECS, now);
    }
    match headers("authorization") {
        Some(auth) => match auth.strip_prefix("Bearer ") {
            Some(token) if constant_time_eq(token.trim().as_bytes(), secret.as_bytes()) => Ok(()),
            _ => Err(Error::Unauthorized("wrong credentials".into())),
        },
        None => Err(Error::Unauthorized(
            "send Authorization: Bearer SECRET or an X-Presswire-Signature".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        let body = br#"{"events":[]}"#;
        let sig = hex::encode(hmac_sha256(b"s3", &[b"1000.", body]));
        let h = |v: String| move |n: &str| (n == "x-presswire-signature").then(|| v.clone());
        let good = h(format!("t=1000,v1={sig}"));
        assert!(authenticate("s3", &good, body, 1100).is_ok());
        assert!(matches!(
            authenticate("s3", &good, body, 2000),
            Err(Error::Stale(_))
        ));
        assert!(authenticate("other", &good, body, 1100).is_err());
        assert!(authenticate("s3", &good, br#"{"events":[1]}"#, 1100).is_err());
        let bearer = |n: &str| (n == "authorization").then(|| "Bearer s3".to_string());
        assert!(authenticate("s3", &bearer, body, 0).is_ok());
        assert!(authenticate("s4", &bearer, body, 0).is_err());
        assert!(authenticate("s3", &|_: &str| None, body, 0).is_err());
    }
}
