//! Machine-readable report fields: the `message/delivery-status` body of a
//! DSN (RFC 3464 §2) and the `message/feedback-report` body of an ARF
//! complaint (RFC 5965 §3). Both are header-style fields; a DSN has one
//! per-message group and one group per recipient, separated by blank lines.

/// One field, name lowercased, value unfolded and trimmed.
pub type Field = (String, String);

/// Splits header-style `text` into groups of fields, one group per
/// paragraph, unfolding continuation lines (RFC 5322 §2.2.3).
pub fn field_groups(text: &str) -> Vec<Vec<Field>> {
    let mut groups = Vec::new();
    let mut group: Vec<Field> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !group.is_empty() {
                groups.push(std::mem::take(&mut group));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = group.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if !name.is_empty() && !name.contains(' ') {
                group.push((name.to_ascii_lowercase(), value.trim().to_string()));
            }
        }
    }
    if !group.is_empty() {
        groups.push(group);
    }
    groups
}

/// One recipient's fields of a DSN.
#[derive(Debug, Clone, Default)]
pub struct DsnRecipient {
    pub final_recipient: Option<String>,
    pub original_recipient: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    pub remote_mta: Option<String>,
    pub diagnostic: Option<String>,
    /// The Diagnostic-Code's type: "smtp", or "x-unix" for a local mailer.
    pub diagnostic_type: Option<String>,
    /// The words after the Status code, if any.
    pub status_comment: Option<String>,
}

impl DsnRecipient {
    /// The recipient's address: Final-Recipient, else Original-Recipient;
    /// a Final-Recipient rewritten to an internal name (a source route,
    /// a host without a domain) gives way to the Original-Recipient.
    pub fn address(&self) -> Option<&str> {
        let internal =
            |a: &str| a.starts_with('@') || !a.rsplit('@').next().is_some_and(|d| d.contains('.'));
        match (&self.final_recipient, &self.original_recipient) {
            (Some(f), Some(o)) if internal(f) && !internal(o) => Some(o),
            (Some(f), _) => Some(f),
            (None, o) => o.as_deref(),
        }
    }
}

/// A DSN's fields.
#[derive(Debug, Clone, Default)]
pub struct Dsn {
    pub reporting_mta: Option<String>,
    pub recipients: Vec<DsnRecipient>,
}

/// Reads the fields of a `message/delivery-status` body. A group without
/// any recipient field is per-message; a repeated recipient field inside a
/// group starts the next recipient (some MTAs leave out the blank line).
pub fn parse_dsn(text: &str) -> Dsn {
    let mut dsn = Dsn::default();
    for group in field_groups(text) {
        let mut current: Option<DsnRecipient> = None;
        // Fields before the group's first recipient field belong to it
        // (some MTAs put Diagnostic-Code or Status first).
        let mut early: Vec<(String, String)> = Vec::new();
        for (name, value) in group {
            let recipient_field = matches!(
                name.as_str(),
                "final-recipient" | "original-recipient" | "x-actual-recipient"
            );
            let starts_new = match (&current, name.as_str()) {
                (Some(r), "final-recipient") => r.final_recipient.is_some(),
                (Some(r), "original-recipient") => r.original_recipient.is_some(),
                (None, _) => recipient_field,
                _ => false,
            };
            if starts_new {
                let fresh = current.is_none();
                if let Some(r) = current.take() {
                    dsn.recipients.push(r);
                }
                let mut r = DsnRecipient::default();
                if fresh {
                    for (n, v) in early.drain(..) {
                        apply(&mut r, &n, &v);
                    }
                }
                current = Some(r);
            }
            if name == "reporting-mta" {
                dsn.reporting_mta = Some(typed_value(&value));
            }
            match current.as_mut() {
                Some(r) => apply(r, &name, &value),
                None => early.push((name, value)),
            }
        }
        if let Some(r) = current {
            dsn.recipients.push(r);
        }
    }
    dsn.recipients.retain(|r| r.address().is_some());
    dsn
}

/// Sets one per-recipient field.
fn apply(r: &mut DsnRecipient, name: &str, value: &str) {
    match name {
        "final-recipient" => r.final_recipient = address_value(value),
        "original-recipient" => r.original_recipient = address_value(value),
        "x-actual-recipient" if r.final_recipient.is_none() => {
            r.final_recipient = address_value(value)
        }
        "action" => r.action = Some(value.to_ascii_lowercase()),
        "status" => {
            r.status = super::classify::find_status(value).or(r.status.take());
            // "5.2.1 (mailbox disabled, not accepting messages)": the words
            // after the code say why, like a diagnostic does.
            let comment = value
                .split_once('(')
                .map(|(_, c)| c.trim_end_matches(')').trim());
            r.status_comment = comment.filter(|c| !c.is_empty()).map(str::to_string);
        }
        "remote-mta" => r.remote_mta = Some(typed_value(value)),
        "diagnostic-code" => {
            r.diagnostic_type = value
                .split_once(';')
                .map(|(t, _)| t.trim().to_ascii_lowercase());
            r.diagnostic = Some(typed_value(value));
        }
        _ => {}
    }
}

/// `rfc822; jane@example.org` → `jane@example.org`; the type names what
/// kind of value follows (RFC 3464 §2.1.2), the value is what we want.
fn typed_value(value: &str) -> String {
    match value.split_once(';') {
        Some((kind, rest)) if !kind.contains(' ') && kind.len() < 20 => rest.trim().to_string(),
        _ => value.trim().to_string(),
    }
}

/// The address of a `*-Recipient` field, without type, brackets or quotes
/// around it; `None` when it holds no address.
fn address_value(value: &str) -> Option<String> {
    let v = typed_value(value);
    let v = v
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    let v = v.split_whitespace().next().unwrap_or("");
    let v = v.trim_start_matches('<').trim_end_matches('>');
    v.contains('@').then(|| v.to_string())
}

/// An ARF report's fields (RFC 5965 §3.1).
#[derive(Debug, Clone, Default)]
pub struct Feedback {
    pub feedback_type: Option<String>,
    pub reporting_mta: Option<String>,
    /// Original-Rcpt-To, in order (may repeat).
    pub recipients: Vec<String>,
}

/// Reads the fields of a `message/feedback-report` body.
pub fn parse_feedback(text: &str) -> Feedback {
    let mut f = Feedback::default();
    for (name, value) in field_groups(text).into_iter().flatten() {
        match name.as_str() {
            "feedback-type" => f.feedback_type = Some(value.to_ascii_lowercase()),
            "reporting-mta" => f.reporting_mta = Some(typed_value(&value)),
            "original-rcpt-to" | "removal-recipient" => {
                if let Some(a) = address_value(&value) {
                    if !f.recipients.contains(&a) {
                        f.recipients.push(a);
                    }
                }
            }
            _ => {}
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_with_and_without_blank_lines() {
        let text = "Reporting-MTA: dns; mx.example.org\n\n\
            Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n\
            Diagnostic-Code: smtp; 550 5.1.1 no\n  such user\n\
            Final-Recipient: rfc822;<b@example.org>\nAction: delayed\nStatus: 4.4.1 (timeout)\n";
        let dsn = parse_dsn(text);
        assert_eq!(dsn.reporting_mta.as_deref(), Some("mx.example.org"));
        assert_eq!(dsn.recipients.len(), 2);
        assert_eq!(dsn.recipients[0].address(), Some("a@example.org"));
        assert_eq!(
            dsn.recipients[0].diagnostic.as_deref(),
            Some("550 5.1.1 no such user")
        );
        assert_eq!(dsn.recipients[1].address(), Some("b@example.org"));
        assert_eq!(dsn.recipients[1].status.as_deref(), Some("4.4.1"));
        assert_eq!(dsn.recipients[1].action.as_deref(), Some("delayed"));
    }

    #[test]
    fn feedback_fields() {
        let f = parse_feedback(
            "Feedback-Type: abuse\nUser-Agent: x/1\nVersion: 1\n\
             Original-Rcpt-To: <a@example.org>\nOriginal-Rcpt-To: b@example.org\n",
        );
        assert_eq!(f.feedback_type.as_deref(), Some("abuse"));
        assert_eq!(f.recipients, ["a@example.org", "b@example.org"]);
    }
}
