//! What a relay said, made safe to store, print and log. A relay's reply
//! is text a stranger wrote: it may echo what presswire sent it, the AUTH
//! exchange included, where the password travels base64-encoded (AUTH
//! PLAIN's `\0user\0password`, AUTH LOGIN's password; RFC 4954 §4, RFC
//! 4616 §2), and it may be long (lettre reads up to 100 KB). So the
//! password is replaced by `***` wherever it stands as written or inside
//! anything that decodes from base64, and the text is cut: to
//! [`STORED_CHARS`] before it is stored with a delivery or a bounce, to
//! [`QUOTED_CHARS`] where an error quotes it.
//!
//! This module owns the scrubbing; the transport applies it to every reply
//! and error text it hands on.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use memchr::memmem;

/// The most of a relay's reply kept with a delivery: every reply a real
/// relay writes (a four-line refusal is about 300 characters), not a
/// hostile 100 KB one.
pub const STORED_CHARS: usize = 1000;

/// The most of a relay's reply an error or a message quotes.
pub const QUOTED_CHARS: usize = 200;

/// `text` with `password` removed (see the module's comment), cut to `max`
/// characters (an ellipsis marks the cut).
pub fn scrub(text: &str, password: Option<&str>, max: usize) -> String {
    let text = match password.filter(|p| !p.is_empty()) {
        Some(p) => without_password(text, p.as_bytes()),
        None => text.to_string(),
    };
    cut(&text, max)
}

/// `text` cut to `max` characters, an ellipsis marking the cut.
pub fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Decodes base64 with or without padding, ignoring the bits of a last,
/// partial group: an echo may be cut anywhere.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

fn without_password(text: &str, password: &[u8]) -> String {
    let finder = memmem::Finder::new(password);
    // As written (the password is not secret in a shorter form: it must
    // be found whole).
    let text = match std::str::from_utf8(password) {
        Ok(p) => text.replace(p, "***"),
        Err(_) => text.to_string(),
    };
    // Encoded: every run of base64 characters that decodes, at any of the
    // four alignments (the echo may start inside a group, or be glued to a
    // word), to bytes holding the password.
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find(is_base64) {
        out.push_str(&rest[..start]);
        let run = &rest[start..];
        let len = run.find(|c| !is_base64(c)).unwrap_or(run.len());
        let (token, after) = run.split_at(len);
        if hides(token, &finder) {
            out.push_str("***");
        } else {
            out.push_str(token);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Characters of base64 (standard and URL-safe alphabets) and its padding.
fn is_base64(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_' | '=')
}

/// Whether a run of base64 characters decodes to bytes holding the
/// password. `=` ends an encoding, so each piece between them is tried.
fn hides(token: &str, password: &memmem::Finder<'_>) -> bool {
    let needed = password.needle().len() * 4 / 3;
    token.split('=').filter(|p| p.len() >= needed).any(|piece| {
        (0..4).any(|skip| {
            let Some(aligned) = piece.get(skip..) else {
                return false;
            };
            // A last group of one character holds no whole byte.
            let aligned = match aligned.len() % 4 {
                1 => &aligned[..aligned.len() - 1],
                _ => aligned,
            };
            [&STANDARD, &URL_SAFE].iter().any(|engine| {
                engine
                    .decode(aligned)
                    .is_ok_and(|bytes| password.find(&bytes).is_some())
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose;

    fn b64(bytes: &[u8]) -> String {
        general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn the_password_goes_as_written_and_encoded_in_auth_plain_and_login() {
        let plain = b64(b"\0press@ngo.example\0hunter2");
        let login = b64(b"hunter2");
        let reply = format!(
            "535 5.7.8 Authentication failed for {plain} ({login}); password hunter2 refused"
        );
        let s = scrub(&reply, Some("hunter2"), STORED_CHARS);
        assert!(!s.contains("hunter2") && !s.contains(&plain) && !s.contains(&login));
        assert_eq!(
            s,
            "535 5.7.8 Authentication failed for *** (***); password *** refused"
        );
    }

    #[test]
    fn an_echo_cut_glued_unpadded_or_url_safe_is_found() {
        let blob = b64(b"\0press\0hunter2");
        let unpadded = blob.trim_end_matches('=');
        // Any alignment: glued to a word of one to three characters.
        for prefix in ["", "x", "xy", "xyz", "blob:"] {
            let reply = format!("451 {prefix}{unpadded} try later");
            let s = scrub(&reply, Some("hunter2"), STORED_CHARS);
            assert!(!s.contains(unpadded), "{prefix}: {s}");
            assert!(s.ends_with(" try later"), "{s}");
        }
        // The password inside a longer encoded text, URL-safe alphabet.
        let long = general_purpose::URL_SAFE.encode(b"user=press?&pass=hunter2>>>");
        let s = scrub(&format!("550 {long}"), Some("hunter2"), STORED_CHARS);
        assert_eq!(s, "550 ***");
    }

    #[test]
    fn other_replies_are_left_alone_and_long_ones_are_cut() {
        let reply = "250 2.0.0 Ok: queued as 4XyZ1k2QmRz";
        assert_eq!(scrub(reply, Some("hunter2"), STORED_CHARS), reply);
        assert_eq!(scrub(reply, None, STORED_CHARS), reply);
        let long = format!("554 {}", "é".repeat(5000));
        let s = scrub(&long, Some("hunter2"), QUOTED_CHARS);
        assert_eq!(s.chars().count(), QUOTED_CHARS + 1);
        assert!(s.ends_with('…'));
    }
}
