//! Mailgun webhooks (JSON): `failed` events (permanent or temporary) and
//! `complained`. Each request carries `signature: {timestamp, token,
//! signature}`, the signature being the hex HMAC-SHA256 of timestamp +
//! token under the webhook signing key (Mailgun's "Securing webhooks").

use serde::Deserialize;

use super::{check_fresh, constant_time_eq, hmac_sha256, now_secs, parse_json, Error, Event, What};
use crate::bounce::Reason;

#[derive(Deserialize)]
struct Body {
    signature: Signature,
    #[serde(rename = "event-data")]
    event_data: serde_json::Value,
}

#[derive(Deserialize)]
struct Signature {
    timestamp: String,
    token: String,
    signature: String,
}

#[derive(Deserialize)]
struct EventData {
    id: String,
    event: String,
    severity: Option<String>,
    recipient: Option<String>,
    reason: Option<String>,
    timestamp: Option<f64>,
    #[serde(rename = "delivery-status")]
    delivery_status: Option<DeliveryStatus>,
    message: Option<MessageInfo>,
}

#[derive(Deserialize)]
struct DeliveryStatus {
    code: Option<serde_json::Value>,
    message: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct MessageInfo {
    headers: Option<std::collections::HashMap<String, serde_json::Value>>,
}

/// Checks the signature and reads the event; (events, ignored).
pub fn parse(signing_key: &str, body: &[u8]) -> Result<(Vec<Event>, usize), Error> {
    parse_at(signing_key, body, now_secs())
}

fn parse_at(signing_key: &str, body: &[u8], now: i64) -> Result<(Vec<Event>, usize), Error> {
    let parsed: Body = parse_json(body)?;
    let s = &parsed.signature;
    let expected = hmac_sha256(
        signing_key.as_bytes(),
        &[s.timestamp.as_bytes(), s.token.as_bytes()],
    );
    let given = hex::decode(s.signature.trim()).unwrap_or_default();
    if !constant_time_eq(&expected, &given) {
        return Err(Error::Unauthorized("the signature does not match".into()));
    }
    let ts: i64 = s
        .timestamp
        .parse()
        .map_err(|_| Error::Malformed("signature.timestamp is not a number".into()))?;
    check_fresh(ts, super::REPLAY_WINDOW_SECS, now)?;
    let raw = serde_json::to_vec_pretty(&parsed.event_data).unwrap_or_default();
    let e: EventData = serde_json::from_value(parsed.event_data)
        .map_err(|e| Error::Malformed(format!("event-data: {e}")))?;
    let what = match e.event.as_str() {
        "failed" => What::Bounce {
            permanent: e.severity.as_deref().map(|s| s == "permanent"),
        },
        "complained" => What::Complaint,
        _ => return Ok((Vec::new(), 1)),
    };
    let recipient = e
        .recipient
        .filter(|r| r.contains('@'))
        .ok_or_else(|| Error::Malformed("event-data.recipient is missing".into()))?;
    let status = e.delivery_status.as_ref();
    let code = status
        .and_then(|d| d.code.as_ref())
        .and_then(|c| {
            c.as_u64()
                .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
        })
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| *c >= 200);
    let diagnostic = status.and_then(|d| {
        let parts: Vec<&str> = [d.message.as_deref(), d.description.as_deref()]
            .into_iter()
            .flatten()
            .filter(|t| !t.trim().is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    let message_id = e.message.and_then(|m| m.headers).and_then(|h| {
        h.get("message-id")
            .and_then(|v| v.as_str().map(str::to_string))
    });
    // Mailgun's own suppression list refused the address: it bounced before.
    let hint = match e.reason.as_deref() {
        Some("suppress-bounce") => Some(Reason::UserUnknown),
        Some("suppress-complaint") => Some(Reason::Feedback),
        _ => None,
    };
    Ok((
        vec![Event {
            provider: "mailgun",
            id: e.id,
            recipient,
            what,
            status: None,
            reply_code: code,
            diagnostic,
            hint,
            message_id,
            verp_token: None,
            at: e.timestamp.map(|t| (t * 1000.0) as i64),
            raw,
        }],
        0,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(key: &str, ts: i64, event: &str) -> Vec<u8> {
        let sig = hex::encode(hmac_sha256(
            key.as_bytes(),
            &[ts.to_string().as_bytes(), b"tok"],
        ));
        format!(
            r#"{{"signature":{{"timestamp":"{ts}","token":"tok","signature":"{sig}"}},
               "event-data":{{"id":"e1","event":"{event}","severity":"permanent",
               "recipient":"x@y.example","delivery-status":{{"code":550,"message":"5.1.1 no such user"}},
               "message":{{"headers":{{"message-id":"1.2.ab@z.example"}}}}}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn signed_events() {
        let (ev, ignored) = parse_at("k", &body("k", 1000, "failed"), 1000).unwrap();
        assert_eq!((ev.len(), ignored), (1, 0));
        assert_eq!(ev[0].reply_code, Some(550));
        assert_eq!(ev[0].message_id.as_deref(), Some("1.2.ab@z.example"));
        assert!(matches!(
            parse_at("other", &body("k", 1000, "failed"), 1000),
            Err(Error::Unauthorized(_))
        ));
        assert!(matches!(
            parse_at("k", &body("k", 1000, "failed"), 5000),
            Err(Error::Stale(_))
        ));
        assert_eq!(
            parse_at("k", &body("k", 1000, "delivered"), 1000)
                .unwrap()
                .1,
            1
        );
        assert!(matches!(
            parse_at("k", b"{", 1000),
            Err(Error::Malformed(_))
        ));
    }
}
