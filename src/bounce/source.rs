//! Where returned messages come from on disk: single message files
//! (`.eml`, Maildir entries), directories of them (walked recursively, in
//! name order, hidden files skipped), Maildirs (a directory with `cur/`
//! and `new/`: only those two are read, never `tmp/`, where a message is
//! still being written, nor the server's index files beside them) and mbox
//! files (several messages, each after a "From " separator line). IMAP
//! (`imap.rs`) reads a mailbox on a server instead.

use std::path::{Path, PathBuf};

/// One message read from disk.
#[derive(Debug, Clone)]
pub struct Item {
    /// The file it came from.
    pub path: PathBuf,
    /// Its position (1-based) when the file is an mbox of several messages.
    pub index: Option<usize>,
    /// The message, without an mbox "From " line, `>From ` unescaped.
    pub bytes: Vec<u8>,
}

impl Item {
    /// How reports name the message: the path, with `#N` for the N-th
    /// message of an mbox holding several.
    pub fn label(&self) -> String {
        match self.index {
            Some(n) => format!("{}#{n}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }
}

/// A path that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct Error {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Every message under `paths` (files, directories, mboxes), in order. A
/// path that cannot be read gives an error item naming it, and the walk
/// goes on.
pub fn inspect_paths(paths: &[PathBuf]) -> impl Iterator<Item = Result<Item, Error>> {
    let mut files = Vec::new();
    for p in paths {
        walk(p, &mut files);
    }
    files.into_iter().flat_map(|f| match f {
        Err(e) => vec![Err(e)],
        Ok(path) => match std::fs::read(&path) {
            Err(source) => vec![Err(Error { path, source })],
            Ok(bytes) => split_mbox(&bytes)
                .map(|messages| {
                    let several = messages.len() > 1;
                    messages
                        .into_iter()
                        .enumerate()
                        .map(|(i, bytes)| {
                            Ok(Item {
                                path: path.clone(),
                                index: several.then_some(i + 1),
                                bytes,
                            })
                        })
                        .collect()
                })
                .unwrap_or_else(|| {
                    vec![Ok(Item {
                        path: path.clone(),
                        index: None,
                        bytes,
                    })]
                }),
        },
    })
}

fn walk(path: &Path, out: &mut Vec<Result<PathBuf, Error>>) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(source) => {
            out.push(Err(Error {
                path: path.to_path_buf(),
                source,
            }));
            return;
        }
    };
    if !meta.is_dir() {
        out.push(Ok(path.to_path_buf()));
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(source) => {
            out.push(Err(Error {
                path: path.to_path_buf(),
                source,
            }));
            return;
        }
    };
    // A Maildir (maildir(5)): its messages are in cur/ and new/.
    if path.join("cur").is_dir() && path.join("new").is_dir() {
        walk(&path.join("cur"), out);
        walk(&path.join("new"), out);
        return;
    }
    let mut children: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    children.sort();
    for child in children {
        walk(&child, out);
    }
}

/// The messages of an mbox (a file starting with a "From " line), each
/// without its separator line and with `>From ` lines unescaped (mboxrd);
/// `None` when the file is no mbox.
pub fn split_mbox(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    if !is_separator(bytes) {
        return None;
    }
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if is_separator(line) {
            if let Some(m) = current.take() {
                messages.push(m);
            }
            current = Some(Vec::new());
            continue;
        }
        let m = current.get_or_insert_with(Vec::new);
        let unquoted = line.iter().position(|b| *b != b'>');
        match unquoted {
            Some(n) if n > 0 && line[n..].starts_with(b"From ") => m.extend_from_slice(&line[1..]),
            _ => m.extend_from_slice(line),
        }
    }
    if let Some(m) = current {
        messages.push(m);
    }
    Some(messages)
}

/// An mbox separator: "From ", a sender (or "-"), and a date with a time
/// ("From MAILER-DAEMON Thu Apr 29 23:34:45 2010"), so that a body line
/// starting "From " that an mboxo writer left unescaped rarely splits a
/// message.
fn is_separator(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else {
        return false;
    };
    if rest.first().is_none_or(|b| b.is_ascii_whitespace()) {
        return false;
    }
    rest.windows(5).any(|w| {
        w[0].is_ascii_digit()
            && w[1].is_ascii_digit()
            && w[2] == b':'
            && w[3].is_ascii_digit()
            && w[4].is_ascii_digit()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_split_and_unescape() {
        let mbox = b"From a@b Thu Jan  1 00:00:00 2024\nSubject: one\n\n>From here\n\n\
            From c@d Thu Jan  1 00:00:01 2024\nSubject: two\n\nbody\n";
        let m = split_mbox(mbox).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0], b"Subject: one\n\nFrom here\n\n");
        assert!(m[1].starts_with(b"Subject: two"));
        assert!(split_mbox(b"Subject: x\n\nbody").is_none());
    }

    #[test]
    fn maildir_reads_cur_and_new_only() {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(md.join(sub)).unwrap();
        }
        std::fs::write(md.join("cur/1.host:2,S"), "Subject: a\n\nx\n").unwrap();
        std::fs::write(md.join("new/2.host"), "Subject: b\n\nx\n").unwrap();
        std::fs::write(md.join("tmp/3.host"), "Subject: half-writ").unwrap();
        std::fs::write(md.join("dovecot-uidlist"), "3 V1 N3\n").unwrap();
        let items: Vec<_> = inspect_paths(&[md]).map(|i| i.unwrap()).collect();
        let names: Vec<_> = items
            .iter()
            .map(|i| i.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["1.host:2,S", "2.host"]);
    }

    #[test]
    fn missing_path_is_an_error_naming_it() {
        let items: Vec<_> = inspect_paths(&[PathBuf::from("/nonexistent/x.eml")]).collect();
        assert_eq!(items.len(), 1);
        let err = items[0].as_ref().unwrap_err().to_string();
        assert!(err.starts_with("/nonexistent/x.eml: "), "{err}");
    }
}
