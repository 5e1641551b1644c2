//! The Content-Transfer-Encoding of a message's text parts (plain text and
//! HTML): byte for byte what lettre's `Body::new(String)` produces, in one
//! pass.
//!
//! lettre chooses 7bit, quoted-printable (RFC 2045 §6.7) or base64 by
//! looking at the text (email-encoding's chooser), then turns bare LFs into
//! CRLF by inserting a CR before each (one `String::insert` per line), then
//! quoted-printable-encodes (the `quoted_printable` crate, a `char` at a
//! time), which made it a large part of building a message (measured:
//! docs/benchmarks.md, "What made it fast"). Here the choice, the line endings and the encoding are one scan
//! that copies runs of plain bytes whole. The rules, including the quirks
//! that decide where a soft line break falls, are those of email-encoding
//! 0.4 and quoted_printable 0.5; the tests compare with lettre itself.

use lettre::message::header::ContentTransferEncoding;
use lettre::message::Body;

/// Lines of encoded output are at most this long (RFC 2045 §6.7 rule 5).
const LIMIT: usize = 76;

/// `text` encoded as lettre's `Body::new(text.to_string())` encodes it.
pub fn text_body(text: &str) -> Body {
    let bytes = text.as_bytes();
    if bytes.is_ascii() && !line_too_long(bytes) {
        return Body::dangerous_pre_encoded(crlf(bytes), ContentTransferEncoding::SevenBit);
    }
    // Neither 7bit nor (without SMTPUTF8, which lettre's builder never
    // assumes) 8bit: quoted-printable when at most a third of the bytes
    // are outside printable ASCII, else base64 (rare for a release: left
    // to lettre). The count comes out of the encoding pass.
    let (encoded, unprintable) = quoted_printable(bytes);
    if unprintable > bytes.len() / 3 {
        return Body::new(text.to_string());
    }
    Body::dangerous_pre_encoded(encoded, ContentTransferEncoding::QuotedPrintable)
}

/// email-encoding's test: a line of 76 bytes or more, where after the first
/// line the count includes the LF before it (so later lines are "too long"
/// from 75 bytes on). Kept as it is: the choice must match lettre's.
fn line_too_long(b: &[u8]) -> bool {
    let mut last = 0;
    for i in memchr::memchr_iter(b'\n', b) {
        if i - last >= LIMIT {
            return true;
        }
        last = i;
    }
    b.len() - last >= LIMIT
}

/// The text with every LF not preceded by a CR turned into CRLF.
fn crlf(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + b.len() / 32);
    let mut start = 0;
    for i in memchr::memchr_iter(b'\n', b) {
        if i == 0 || b[i - 1] != b'\r' {
            out.extend_from_slice(&b[start..i]);
            out.push(b'\r');
            start = i;
        }
    }
    out.extend_from_slice(&b[start..]);
    out
}

/// Whether quoted-printable writes the byte as `=XX`.
fn needs_encoding(b: u8) -> bool {
    !matches!(b, b'\t' | b' '..=b'<' | b'>'..=b'~')
}

/// How many bytes at the start of `b` need no encoding. Sixteen bytes at
/// a time while none of them does, then, in the sixteen that stopped it,
/// the first eight at once if none of them does, then byte by byte.
fn plain_prefix(b: &[u8]) -> usize {
    const CHUNK: usize = 16;
    const HALF: usize = CHUNK / 2;
    let mut n = 0;
    for chunk in b.chunks_exact(CHUNK) {
        if !all_plain::<CHUNK>(chunk.try_into().expect("a whole chunk")) {
            break;
        }
        n += CHUNK;
    }
    if let Some(half) = b.get(n..n + HALF) {
        if all_plain::<HALF>(half.try_into().expect("half a chunk")) {
            n += HALF;
        }
    }
    n + b[n..]
        .iter()
        .position(|&c| needs_encoding(c))
        .unwrap_or(b.len() - n)
}

/// Whether no byte of `bytes` needs encoding: [`needs_encoding`] written
/// without branches, which the compiler turns into a few vector
/// instructions (SSE2) for the whole array.
fn all_plain<const N: usize>(bytes: &[u8; N]) -> bool {
    !bytes.iter().fold(false, |any, &c| {
        any | (c < b' ') & (c != b'\t') | (c == b'=') | (c > b'~')
    })
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Quoted-printable output being written, with quoted_printable's state: how
/// many bytes the current line holds, and where the last thing appended
/// began (a soft line break goes there when a line is exactly full).
struct Qp {
    out: Vec<u8>,
    on_line: usize,
    backup: usize,
}

impl Qp {
    /// Appends an encoded unit (`=XX`, or a byte too close to the end of a
    /// line to be copied in a run), breaking the line first if it does not fit.
    fn append(&mut self, unit: &[u8]) {
        if self.on_line + unit.len() > LIMIT {
            if self.on_line == LIMIT {
                // No room for the '=': the break goes before the last unit
                // (at most three bytes, moved up).
                let last = self.out.len() - self.backup;
                self.on_line = last;
                self.out.extend_from_slice(b"=\r\n");
                self.out
                    .copy_within(self.backup..self.backup + last, self.backup + 3);
                self.out[self.backup..self.backup + 3].copy_from_slice(b"=\r\n");
            } else {
                self.out.extend_from_slice(b"=\r\n");
                self.on_line = 0;
            }
        }
        self.out.extend_from_slice(unit);
        self.on_line += unit.len();
        self.backup = self.out.len() - unit.len();
    }

    fn append_byte(&mut self, b: u8) {
        if needs_encoding(b) {
            self.append(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        } else {
            self.append(&[b]);
        }
    }

    /// A space or tab may not end a line (RFC 2045 §6.7 rule 3): the one
    /// just written is replaced by its encoded form.
    fn encode_trailing_space(&mut self) {
        let unit: &[u8] = match self.out.last() {
            Some(b' ') => b"=20",
            Some(b'\t') => b"=09",
            _ => return,
        };
        self.on_line -= 1;
        self.out.pop();
        self.append(unit);
    }

    /// A hard line break of the text.
    fn line_break(&mut self) {
        self.encode_trailing_space();
        self.out.extend_from_slice(b"\r\n");
        self.on_line = 0;
    }
}

/// quoted_printable's text-mode encoding of the text with its line endings
/// made CRLF: a CR LF or a bare LF is a line break, a bare CR is `=0D`.
/// Also returns how many bytes are outside printable ASCII (the chooser's
/// measure), since every such byte passes through here one by one.
fn quoted_printable(b: &[u8]) -> (Vec<u8>, usize) {
    let mut qp = Qp {
        out: Vec::with_capacity(b.len() + b.len() / 8),
        on_line: 0,
        backup: 0,
    };
    let mut unprintable = 0;
    let mut was_cr = false;
    let mut i = 0;
    while i < b.len() {
        let byte = b[i];
        i += 1;
        if was_cr {
            was_cr = false;
            if byte == b'\n' {
                unprintable += 1;
                qp.line_break();
                continue;
            }
            qp.append(b"=0D");
        }
        if qp.on_line == LIMIT - 1
            && !needs_encoding(byte)
            && b.get(i).is_some_and(|&next| next != b'\r' && next != b'\n')
        {
            // A plain byte fills the line, and the next one, not a line
            // break, will not fit: `Qp::append` would then move the break
            // before this byte. Made at once (this byte may start a run).
            qp.out.extend_from_slice(b"=\r\n");
            qp.on_line = 0;
        }
        match byte {
            b'\r' => {
                unprintable += 1;
                was_cr = true;
            }
            b'\n' => {
                unprintable += 1;
                qp.line_break();
            }
            _ if LIMIT - qp.on_line >= 3 && !needs_encoding(byte) => {
                // A run of plain bytes, copied whole; it stops a byte short
                // of the limit, leaving room for a soft break. (Where the
                // last unit began is not recorded for it: `append` reads
                // that only when a line is exactly full, which only a unit
                // makes.)
                let start = i - 1;
                let max = (start + LIMIT - qp.on_line - 1).min(b.len());
                let end = i + plain_prefix(&b[i..max]);
                qp.out.extend_from_slice(&b[start..end]);
                qp.on_line += end - start;
                qp.backup = qp.out.len();
                i = end;
            }
            _ => {
                if !matches!(byte, b'\t' | b' '..=b'~') {
                    unprintable += 1;
                }
                qp.append_byte(byte);
            }
        }
    }
    if was_cr {
        qp.append(b"=0D");
    } else {
        qp.encode_trailing_space();
    }
    (qp.out, unprintable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lettre(text: &str) -> (ContentTransferEncoding, Vec<u8>) {
        let body = Body::new(text.to_string());
        (body.encoding(), body.into_vec())
    }

    fn ours(text: &str) -> (ContentTransferEncoding, Vec<u8>) {
        let body = text_body(text);
        (body.encoding(), body.into_vec())
    }

    fn same(text: &str) {
        let (le, lb) = lettre(text);
        let (oe, ob) = ours(text);
        assert_eq!(
            (oe, String::from_utf8_lossy(&ob)),
            (le, String::from_utf8_lossy(&lb)),
            "input {text:?}"
        );
    }

    #[test]
    fn known_cases_match_lettre() {
        for text in [
            "",
            "\n",
            "\r",
            "\r\n",
            "a \n",
            "a\t\r\nb",
            "ends with a space ",
            "ends with a tab\t",
            "bare\rcr",
            "cr at the end\r",
            "equals = sign and =3D",
            "über",
            "Dear Name0,\n\nplease find our statement below · for Outlet 0.\n",
            &"x".repeat(75),
            &"x".repeat(76),
            &format!("a\n{}", "x".repeat(74)),
            &format!("a\n{}", "x".repeat(75)),
            &format!("{}é{}", "x".repeat(73), "y".repeat(80)),
            &format!("{} \n", "x".repeat(75)),
            &format!("{}=\n", "x".repeat(74)),
            &"é".repeat(30),
            &"€ ".repeat(60),
        ] {
            same(text);
        }
    }

    /// Every kind of byte at and around the end of a full line: lines of
    /// 70 to 80 plain bytes (after a first line or not) followed by a
    /// space, tab, '=', bare CR, line break, non-ASCII or more letters.
    #[test]
    fn bytes_at_the_end_of_a_line_match_lettre() {
        let tails = [
            "", " ", "\t", "=", "\r", "\n", "\r\n", " \n", "\t\r\n", "ab", "a=b", "é", " é", "a b",
            "  ", "==", "\r\r\n", "=\n",
        ];
        for first in ["", "a\n", "a \r\n", "é\n"] {
            for n in 70..80 {
                for tail in tails {
                    for rest in ["", "x", "yz", &"w".repeat(90)] {
                        same(&format!("{first}{}{tail}{rest}", "x".repeat(n)));
                        same(&format!("{first}{}{tail}{rest}", "x y".repeat(n / 3)));
                    }
                }
            }
        }
    }

    /// Text made of the bytes that matter to the encoder: line endings,
    /// spaces and tabs, '=', non-ASCII, and long runs of plain letters.
    fn textish() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            4 => "[a-z]{1,90}",
            2 => Just(" ".to_string()),
            1 => Just("\t".to_string()),
            2 => Just("\n".to_string()),
            1 => Just("\r\n".to_string()),
            1 => Just("\r".to_string()),
            1 => Just("=".to_string()),
            2 => Just("é".to_string()),
            1 => Just("€".to_string()),
            1 => Just("“quoted”".to_string()),
        ];
        proptest::collection::vec(piece, 0..120).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn any_text_is_encoded_as_lettre_encodes_it(text in textish()) {
            let (le, lb) = lettre(&text);
            let (oe, ob) = ours(&text);
            prop_assert_eq!(oe, le);
            prop_assert_eq!(String::from_utf8_lossy(&ob), String::from_utf8_lossy(&lb));
        }

        #[test]
        fn the_plain_prefix_ends_at_the_first_byte_to_encode(
            bytes in proptest::collection::vec(
                prop_oneof![8 => b' '..=b'~', 1 => any::<u8>()],
                0..80,
            ),
        ) {
            let first = bytes.iter().position(|&c| needs_encoding(c)).unwrap_or(bytes.len());
            prop_assert_eq!(plain_prefix(&bytes), first);
        }

        #[test]
        fn any_string_is_encoded_as_lettre_encodes_it(text in any::<String>()) {
            let (le, lb) = lettre(&text);
            let (oe, ob) = ours(&text);
            prop_assert_eq!(oe, le);
            prop_assert_eq!(ob, lb);
        }
    }
}
