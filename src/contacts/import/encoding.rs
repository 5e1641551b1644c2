//! Which encoding an imported file is in, and refusing a file whose bytes
//! do not fit it.
//!
//! A byte-order mark decides (UTF-8, UTF-16 LE/BE, as Excel writes "Unicode
//! text"); so does `--encoding`. Without either, a file that is valid UTF-8
//! is UTF-8, and one with no valid UTF-8 sequence beyond ASCII is
//! Windows-1252 (older Excel and Outlook on Windows). A file in UTF-8 (by
//! its mark, by `--encoding`, or because it holds UTF-8 letters) with
//! bytes that are not UTF-8 is refused, naming the line and column of the
//! first: decoding it would replace them with U+FFFD, or (as Windows-1252)
//! garble every letter that was right. NUL bytes at every other position
//! are UTF-16 without a mark; a stray NUL is left to the row it is in,
//! which reports it.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

use super::reading::read_up_to;
use crate::contacts::Error;

/// The encoding named by `--encoding` (a WHATWG label: `utf-8`,
/// `windows-1252`, `latin1`, `utf-16le`, `iso-8859-15`, `shift_jis`…).
pub fn by_label(label: &str) -> Result<&'static Encoding, Error> {
    Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
        Error::BadInput(format!(
            "--encoding {label:?}: not an encoding presswire knows; use e.g. utf-8, \
             windows-1252, iso-8859-15 or utf-16le"
        ))
    })
}

/// Whether a file's encoding was stated (by its mark or `--encoding`) or guessed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Why {
    Mark,
    Flag,
    Guess,
}

/// Picks the file's encoding (`None` for UTF-8 read as it is), its name
/// for the report, and how many bytes of the file to skip (a UTF-8 mark
/// when `--encoding` names another encoding). With `declared`
/// (`--encoding`), that one unless the file has a UTF-16 byte-order mark.
pub(super) fn detect(
    path: &Path,
    name: &str,
    declared: Option<&'static Encoding>,
) -> Result<(Option<&'static Encoding>, &'static str, u64), Error> {
    let io_err = |source| Error::Io {
        path: name.to_string(),
        source,
    };
    let mut file = BufReader::with_capacity(1 << 16, File::open(path).map_err(io_err)?);
    let mut head = [0u8; 4];
    let n = read_up_to(&mut file, &mut head).map_err(io_err)?;
    let head = &head[..n];
    let utf8_bom = head.starts_with(&[0xEF, 0xBB, 0xBF]);
    if head.starts_with(&[0xFF, 0xFE]) {
        return Ok((Some(UTF_16LE), "UTF-16LE", 0));
    }
    if head.starts_with(&[0xFE, 0xFF]) {
        return Ok((Some(UTF_16BE), "UTF-16BE", 0));
    }
    // `--encoding` other than UTF-8 wins over a UTF-8 mark: the press
    // officer says the mark is wrong (the file is refused otherwise).
    if let Some(enc) = declared.filter(|e| *e != UTF_8) {
        return Ok((Some(enc), enc.name(), if utf8_bom { 3 } else { 0 }));
    }
    let (why, bom) = match (utf8_bom, declared) {
        (true, _) => (Why::Mark, 3),
        (false, Some(_)) => (Why::Flag, 0),
        (false, None) => (Why::Guess, 0),
    };
    // Stream through the file checking UTF-8, carrying an incomplete
    // sequence over the buffer boundary.
    let mut buf = vec![0u8; 1 << 16];
    buf[..n - bom].copy_from_slice(&head[bom..]);
    let mut filled = n - bom;
    // Bytes of the file before `buf`.
    let mut consumed = bom as u64;
    let mut first = true;
    loop {
        let got = file.read(&mut buf[filled..]).map_err(io_err)?;
        let end = filled + got;
        if first && why == Why::Guess && looks_like_utf16(&buf[..end.min(4096)]) {
            return Err(Error::BadInput(format!(
                "{name}: the file contains NUL bytes: it looks like UTF-16 without a byte-order mark. \
                 Save it as \"CSV UTF-8\" and import it again"
            )));
        }
        first = false;
        match std::str::from_utf8(&buf[..end]) {
            Ok(_) if got == 0 => break,
            Ok(_) => {
                consumed += end as u64;
                filled = 0;
            }
            Err(e) if e.error_len().is_none() && got != 0 => {
                // An incomplete sequence at the end: keep it for the next read.
                let valid = e.valid_up_to();
                buf.copy_within(valid..end, 0);
                consumed += valid as u64;
                filled = end - valid;
            }
            Err(e) => {
                let at = consumed + e.valid_up_to() as u64;
                if why == Why::Guess && !has_utf8_letters(path).map_err(io_err)? {
                    return Ok((Some(WINDOWS_1252), "Windows-1252", 0));
                }
                return Err(invalid_utf8(path, name, at, bom, why).map_err(io_err)?);
            }
        }
    }
    Ok(match why {
        Why::Mark => (Some(UTF_8), "UTF-8 with BOM", 0),
        Why::Flag | Why::Guess => (None, "UTF-8", 0),
    })
}

/// Whether `head` looks like UTF-16 without a byte-order mark: ASCII text
/// in UTF-16 has a NUL in every other byte.
fn looks_like_utf16(head: &[u8]) -> bool {
    let even = head.iter().step_by(2).filter(|b| **b == 0).count();
    let odd = head.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    let half = head.len() / 2;
    half > 0 && even.max(odd) * 2 >= half
}

/// Whether the file has a valid UTF-8 sequence beyond ASCII anywhere,
/// skipping invalid bytes: Windows-1252 text almost never does.
fn has_utf8_letters(path: &Path) -> std::io::Result<bool> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let mut rest = &bytes[..];
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => return Ok(!s.is_ascii()),
            Err(e) => {
                if !rest[..e.valid_up_to()].is_ascii() {
                    return Ok(true);
                }
                rest = &rest[e.valid_up_to() + e.error_len().unwrap_or(1)..];
            }
        }
    }
}

/// The error for the first byte that is not UTF-8, at `at`: its line and
/// column (in characters), found by reading the file again up to it.
fn invalid_utf8(path: &Path, name: &str, at: u64, bom: usize, why: Why) -> std::io::Result<Error> {
    let mut before = Vec::new();
    File::open(path)?.take(at + 1).read_to_end(&mut before)?;
    let byte = before.last().copied().unwrap_or(0);
    before.truncate(at as usize);
    let text = &before[bom.min(before.len())..];
    let line = memchr::memchr_iter(b'\n', text).count() + 1;
    let line_start = memchr::memrchr(b'\n', text).map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&text[line_start..]).chars().count() + 1;
    let stated = match why {
        Why::Mark => "the file says it is UTF-8 (it starts with a UTF-8 byte-order mark)",
        Why::Flag => "--encoding says the file is UTF-8",
        Why::Guess => "the file is UTF-8 elsewhere",
    };
    Ok(Error::BadInput(format!(
        "{name}:{line}:{column}: byte 0x{byte:02X} is not UTF-8, but {stated}: the file is \
         damaged or mixes encodings. Nothing imported; save it again as \"CSV UTF-8\", or \
         name its encoding with --encoding (e.g. --encoding windows-1252)"
    )))
}
