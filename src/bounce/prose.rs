//! Bounces written for people: the notices of qmail, Exim, old Sendmail,
//! Gmail, Exchange, mobile carriers and many more, which name the failed
//! recipients and the remote server's answer in prose instead of (or
//! besides) RFC 3464 fields.
//!
//! No MTA is recognised by name. The text is cut where the returned
//! message begins; an address counts as a failed recipient where the line
//! introduces it as one (alone on its line, after a reply code, after
//! "to:" or "recipient:", before a reason); the lines after it, up to the
//! next recipient, are its diagnostic.

/// Lines where the report ends and the returned message (or its headers)
/// begins, lowercased.
const ORIGINAL_MARKERS: &[&str] = &[
    "this is a copy of the message",
    "below this line is a copy of the message",
    "original message follows",
    "original message -----",
    "unsent message follows",
    "returned message",
    "original mail as follows",
    "original message header",
    "original message headers",
    "headers of the original message",
    "header of the original message",
    "message headers follow",
    "------ original message",
    "----- original message",
    "-----original message-----",
    "the original message was",
    "content-type: message/rfc822",
    "--- original message follows",
    "message text follows",
    "a copy of the original message",
    "your message reads",
];

/// Splits a bounce's text where the returned message begins: (report, rest).
pub fn split_report(text: &str) -> (&str, &str) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let lower = line.trim().to_lowercase();
        if ORIGINAL_MARKERS.iter().any(|m| lower.contains(m))
            // "The original message was received at …" introduces the
            // report of old Sendmail, not the returned message.
            && !lower.contains("was received at")
        {
            return (&text[..offset], &text[offset..]);
        }
        offset += line.len();
    }
    (text, "")
}

/// One e-mail address found in text: its bytes and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub address: String,
    pub start: usize,
}

fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-=/'!#$&*?^`{|}~".contains(c)
}

fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-'
}

/// The e-mail addresses in one line, in order.
pub fn addresses(line: &str) -> Vec<Found> {
    let mut out = Vec::new();
    for (at, _) in line.match_indices('@') {
        let before = &line[..at];
        let start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_local_char(*c))
            .last()
            .map(|(i, _)| i);
        let Some(start) = start else { continue };
        let local = before[start..].trim_start_matches(['.', '\'', '=', '/']);
        let start = at - local.len();
        let after = &line[at + 1..];
        let end = after
            .char_indices()
            .find(|(_, c)| !is_domain_char(*c))
            .map(|(i, _)| i)
            .unwrap_or(after.len());
        let domain = after[..end].trim_end_matches(['.', '-']);
        if local.is_empty() || !domain.contains('.') || domain.starts_with('.') {
            continue;
        }
        // A quoted local part ("a b"@x) is kept whole.
        let address = format!("{local}@{domain}");
        if !out.iter().any(|f: &Found| f.start == start) {
            out.push(Found { address, start });
        }
    }
    out
}

/// How strongly a line presents an address as a failed recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Strength {
    /// Not a recipient (a sender, a contact address in the prose).
    No,
    /// Maybe (a `To:` line of a summary): used only when nothing better.
    Weak,
    Strong,
}

/// Words before an address that make it a sender or a contact, not a
/// failed recipient.
const SENDER_LEADS: &[&str] = &[
    "from",
    "from:",
    "sender",
    "sender:",
    "return-path:",
    "reply-to:",
    "envelope-from",
    "mail from:",
    "mail from",
    "contact",
    "cc:",
    "by",
    "for",
    "message-id:",
    "in-reply-to:",
    "references:",
    "id",
];

/// Words before an address that introduce a failed recipient.
const RECIPIENT_LEADS: &[&str] = &[
    "to",
    "to:",
    "rcpt to:",
    "rcpt to",
    "recipient:",
    "recipients:",
    "address:",
    "user:",
    "failed:",
    "errors:",
    "recipient address:",
    "addressee:",
    "mailbox:",
    "for recipient",
    "original-recipient:",
    "final-recipient:",
    "delivery to",
    "unknown user:",
    "account:",
];

fn strength(line: &str, found: &Found) -> Strength {
    let prefix = line[..found.start]
        .trim_end_matches(['<', '"', '\'', '[', ' ', '\t'])
        .trim();
    let lower = prefix.to_lowercase();
    // A reply code, maybe with a status: "550 <a@b>... User unknown".
    let is_code = |s: &str| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit());
    let words: Vec<&str> = lower.split_whitespace().collect();
    if words.is_empty() || (words.len() <= 2 && words.first().is_some_and(|w| is_code(w))) {
        return Strength::Strong;
    }
    if SENDER_LEADS.iter().any(|l| lower.ends_with(l)) {
        return Strength::No;
    }
    if lower.ends_with("to:") && words.len() == 1 {
        // "To: a@b" is a header of a summary or of the returned message.
        return Strength::Weak;
    }
    if RECIPIENT_LEADS.iter().any(|l| {
        lower.ends_with(l) && lower[..lower.len() - l.len()].ends_with([' ', '>', ':', '-'])
    }) || RECIPIENT_LEADS.contains(&lower.as_str())
        || lower.ends_with(':')
    {
        return Strength::Strong;
    }
    Strength::No
}

/// One failed recipient of a prose bounce and the text about it.
#[derive(Debug, Clone)]
pub struct ProseRecipient {
    pub address: String,
    /// The recipient's lines: from its first mention to the next
    /// recipient's (or the end of the report).
    pub text: String,
}

/// The failed recipients of a prose `report` (the part before the returned
/// message), in the order they first appear. `senders` are addresses never
/// taken as recipients (the bounce's own recipient, the original sender).
pub fn recipients(report: &str, senders: &[String]) -> Vec<ProseRecipient> {
    let lines: Vec<&str> = report.lines().collect();
    let mut seen: Vec<(usize, String, Strength)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        for found in addresses(line) {
            let lower = found.address.to_lowercase();
            if senders.iter().any(|s| s.eq_ignore_ascii_case(&lower)) || is_system_address(&lower) {
                continue;
            }
            let s = strength(line, &found);
            if s == Strength::No {
                continue;
            }
            match seen
                .iter_mut()
                .find(|(_, a, _)| a.eq_ignore_ascii_case(&lower))
            {
                Some(entry) if entry.2 < s => {
                    entry.2 = s;
                }
                Some(_) => {}
                None => seen.push((i, found.address.clone(), s)),
            }
        }
    }
    let best = seen.iter().map(|(_, _, s)| *s).max();
    seen.retain(|(_, _, s)| Some(*s) == best);
    let mut out = Vec::new();
    for (n, (line, address, _)) in seen.iter().enumerate() {
        let end = seen.get(n + 1).map(|(l, _, _)| *l).unwrap_or(lines.len());
        let end = end.max(line + 1);
        out.push(ProseRecipient {
            address: address.clone(),
            text: lines[*line..end].join("\n"),
        });
    }
    out
}

/// Addresses of mail systems that bounces name but that never are the
/// failed recipient.
fn is_system_address(lower: &str) -> bool {
    let local = lower.split('@').next().unwrap_or("");
    matches!(local, "mailer-daemon" | "mailer_daemon")
}

/// The lines of the report before its first recipient: the introduction,
/// which often says whether the failure is permanent or a delay.
pub fn introduction<'a>(report: &'a str, first: Option<&ProseRecipient>) -> &'a str {
    match first.and_then(|r| report.find(r.text.lines().next().unwrap_or(""))) {
        Some(at) => &report[..at],
        None => report,
    }
}

/// Collapses runs of whitespace into one space.
pub fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_addresses() {
        let a = addresses("550 <kijitora@example.org>... User unknown (a@b)");
        assert_eq!(a[0].address, "kijitora@example.org");
        assert_eq!(a.len(), 1, "a@b has no dot in its domain");
        assert!(addresses("see example.org for more").is_empty());
    }

    #[test]
    fn qmail_style() {
        let report = "Hi. This is the qmail-send program at mx.example.jp.\n\
            I'm afraid I wasn't able to deliver your message.\n\n\
            <a@example.net>:\n192.0.2.1 does not like recipient.\n\
            Remote host said: 550 5.1.1 unknown\n\n\
            <b@example.net>:\nmailbox full\n";
        let r = recipients(report, &[]);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].address, "a@example.net");
        assert!(r[0].text.contains("550 5.1.1"));
        assert!(r[1].text.contains("mailbox full"));
    }

    #[test]
    fn senders_and_contacts_are_no_recipients() {
        let report = "For help, please contact <help@isp.example>\n\
            SMTP error from remote server after MAIL FROM:<me@example.jp>:\n\
              you@example.com\n    retry timeout exceeded\n";
        let r = recipients(report, &["me@example.jp".to_string()]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].address, "you@example.com");
    }

    #[test]
    fn cuts_at_the_returned_message() {
        let (report, rest) = split_report(
            "a\nb\n------ This is a copy of the message, including all the headers.\nc\n",
        );
        assert_eq!(report, "a\nb\n");
        assert!(rest.starts_with("------"));
    }
}
