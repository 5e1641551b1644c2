//! Reading a file: its encoding and delimiter, the header row, and each
//! row as the CSV reader gives it, with the line it starts on, on to
//! validation; chunks of valid rows go to the merger.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::columns::{map_columns, quoted_list, ColumnTarget, Field};
use super::encoding;
use super::limits::{self, MAX_COLUMNS};
use super::record::ValidRow;
use super::report::{FileSummary, ImportOptions, Problem};
use super::validation::{validate_row, FileColumns, Normalised};
use crate::contacts::fields::normalise_tag;
use crate::contacts::Error;
use crate::spreadsheet::restore;

/// What the reading thread sends to the merger.
pub(super) enum ReadEvent {
    Rows(Vec<ValidRow>),
    Problems(Vec<Problem>, u64),
    File(FileSummary),
    /// A file was read to its end, with this many data rows.
    FileDone(usize, u64),
}

pub(super) const CHUNK: usize = 500;

/// Counts the bytes read from a file, for the progress bar.
pub(super) struct Counting<'a, R> {
    pub(super) inner: R,
    pub(super) count: Option<&'a AtomicU64>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(c) = self.count {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// The line breaks (start and end byte) a [`LineBreaks`] has read and a
/// [`LineNumbers`] has not yet counted.
pub(super) type Breaks = Rc<RefCell<VecDeque<(u64, u64)>>>;

/// Notes every line break (LF, CRLF or a lone CR) read through it. The csv
/// crate's own line numbers are wrong after CRLF line ends and skipped blank
/// lines: it notes a record's position before it skips the line ends that
/// precede it, and counts LFs only.
pub(super) struct LineBreaks<R> {
    pub(super) inner: R,
    pub(super) offset: u64,
    /// A CR ending the last read, not yet known to be half of a CRLF.
    pub(super) pending_cr: Option<u64>,
    pub(super) breaks: Breaks,
}

impl<R> LineBreaks<R> {
    pub(super) fn new(inner: R, breaks: &Breaks) -> LineBreaks<R> {
        LineBreaks {
            inner,
            offset: 0,
            pending_cr: None,
            breaks: breaks.clone(),
        }
    }
}

impl<R: Read> Read for LineBreaks<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut breaks = self.breaks.borrow_mut();
        if n == 0 {
            if let Some(cr) = self.pending_cr.take() {
                breaks.push_back((cr, cr + 1));
            }
        }
        let data = &buf[..n];
        let mut i = 0;
        if let (Some(cr), Some(&first)) = (self.pending_cr, data.first()) {
            self.pending_cr = None;
            if first == b'\n' {
                breaks.push_back((cr, self.offset + 1));
                i = 1;
            } else {
                breaks.push_back((cr, cr + 1));
            }
        }
        while let Some(found) = memchr::memchr2(b'\r', b'\n', &data[i..]) {
            let p = i + found;
            let at = self.offset + p as u64;
            i = p + 1;
            if data[p] == b'\n' {
                breaks.push_back((at, at + 1));
                continue;
            }
            match data.get(p + 1) {
                Some(b'\n') => {
                    breaks.push_back((at, at + 2));
                    i = p + 2;
                }
                Some(_) => breaks.push_back((at, at + 1)),
                // Half of a CRLF, perhaps: the next read tells.
                None => self.pending_cr = Some(at),
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Turns the byte position the csv crate gives a record into the line the
/// record starts on, from the line breaks noted by [`LineBreaks`].
pub(super) struct LineNumbers {
    pub(super) breaks: Breaks,
    /// Line breaks before the last record asked about.
    pub(super) passed: u64,
}

impl LineNumbers {
    pub(super) fn new(breaks: &Breaks) -> LineNumbers {
        LineNumbers {
            breaks: breaks.clone(),
            passed: 0,
        }
    }

    /// The line of the record the csv crate says starts at byte `start`
    /// (records must be asked about in file order).
    pub(super) fn line_at(&mut self, start: u64) -> u64 {
        let mut breaks = self.breaks.borrow_mut();
        let mut content = start;
        // Line breaks before `start`, including those inside earlier records.
        while let Some(&(_, to)) = breaks.front().filter(|(from, _)| *from < start) {
            breaks.pop_front();
            self.passed += 1;
            content = content.max(to);
        }
        // Line ends the csv reader skips before the record: blank lines,
        // and the LF of the CRLF that ended the previous record.
        while let Some(&(_, to)) = breaks.front().filter(|(from, _)| *from == content) {
            breaks.pop_front();
            self.passed += 1;
            content = to;
        }
        self.passed + 1
    }
}

pub(super) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The error for a header row of more than [`MAX_COLUMNS`] columns (or,
/// without `ended`, one that does not end within its first 64 KB).
pub(super) fn too_wide(name: &str, columns: usize, ended: bool) -> Error {
    let found = if ended {
        format!("{columns} columns")
    } else {
        format!("{columns} columns and more in its first 64 KB")
    };
    Error::BadInput(format!(
        "{name}:1: the header row has {found}; a contacts file has at most {MAX_COLUMNS}. \
         Check that this is a contacts export with one header row, or keep only the columns \
         you need"
    ))
}

/// Finds the delimiter from the header line: the most frequent of comma,
/// semicolon (European Excel) and tab ("Unicode text") outside quotes.
pub(super) fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], i)).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t'][best]
    }
}

pub(super) fn delimiter_name(d: u8) -> &'static str {
    match d {
        b';' => "semicolon",
        b'\t' => "tab",
        _ => "comma",
    }
}

/// Reads one file, validating each row, and hands chunks of valid rows and
/// the problems found to `send` (which returns false when the merger has
/// stopped listening).
pub(super) fn read_file(
    file_index: usize,
    path: &Path,
    options: &ImportOptions,
    progress: Option<&AtomicU64>,
    mut send: impl FnMut(ReadEvent) -> bool,
) -> Result<(), Error> {
    let name = path.display().to_string();
    let io_err = |source| Error::Io {
        path: name.clone(),
        source,
    };
    let (encoding, encoding_name, skip) = encoding::detect(path, &name, options.encoding)?;
    let mut file = File::open(path).map_err(io_err)?;
    if skip > 0 {
        io::Seek::seek(&mut file, io::SeekFrom::Start(skip)).map_err(io_err)?;
    }
    let file = Counting {
        inner: file,
        count: progress,
    };
    let mut decoded: Box<dyn Read> = match encoding {
        None => Box::new(file),
        Some(enc) => Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(enc))
                .strip_bom(true)
                .build(file),
        ),
    };
    let mut head = vec![0u8; 1 << 16];
    let n = read_up_to(&mut decoded, &mut head).map_err(io_err)?;
    head.truncate(n);
    let delimiter = sniff_delimiter(&head);
    // A header row too wide is refused before the CSV reader takes it all in.
    let (columns, ended) = limits::header_width(&head, delimiter);
    if columns > MAX_COLUMNS || (!ended && head.len() == 1 << 16) {
        return Err(too_wide(&name, columns, ended));
    }
    let breaks = Rc::default();
    let mut lines = LineNumbers::new(&breaks);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(LineBreaks::new(
            io::Cursor::new(head).chain(decoded),
            &breaks,
        ));

    let csv_err = |e: csv::Error| {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        Error::BadInput(format!("{name}:{line}: the file is not readable CSV: {e}"))
    };
    let mut record = csv::StringRecord::new();
    if !reader.read_record(&mut record).map_err(csv_err)? {
        return Err(Error::BadInput(format!(
            "{name}: the file is empty; a contacts file starts with a header row such as \"Email,First Name,Last Name\""
        )));
    }
    if record.len() > MAX_COLUMNS {
        return Err(too_wide(&name, record.len(), true));
    }
    if let Some(i) = record.iter().position(|h| h.contains('\0')) {
        return Err(Error::BadInput(format!(
            "{name}:1: column {} of the header row contains a NUL byte (0x00); the file may \
             be damaged or not be text: export it again as \"CSV UTF-8\"",
            i + 1
        )));
    }
    let headers: Vec<String> = record
        .iter()
        .map(|h| restore(h.trim()).to_string())
        .collect();
    let targets = map_columns(&headers, &options.maps)
        .map_err(|e| Error::BadInput(format!("{name}:1: {e}")))?;
    let Some(email_col) = targets
        .iter()
        .position(|t| *t == ColumnTarget::Field(Field::Email))
    else {
        return Err(Error::BadInput(format!(
            "{name}:1: no column holds e-mail addresses (the columns are {}); \
             name it with --map \"Column=email\"",
            quoted_list(&headers)
        )));
    };
    let mut summary = FileSummary {
        file: name.clone(),
        encoding: encoding_name.to_string(),
        delimiter: delimiter_name(delimiter).to_string(),
        rows: 0,
        columns: headers
            .iter()
            .cloned()
            .zip(targets.iter().copied())
            .collect(),
    };
    // The merger names files by index: announce this one before its rows.
    if !send(ReadEvent::File(summary.clone())) {
        return Ok(());
    }

    let extra_tags: Vec<String> = options
        .tags
        .iter()
        .filter_map(|t| normalise_tag(t))
        .collect();
    // The `source` of the contacts this file brings, unless a column names
    // one: its name without the folders (which may name the press
    // officer's home directory).
    let source = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.clone());
    let columns = FileColumns {
        index: file_index,
        name: &name,
        headers: &headers,
        targets: &targets,
        email_col,
        source: &source,
        extra_tags: &extra_tags,
    };
    let mut cache = Normalised::default();
    let mut rows = Vec::with_capacity(CHUNK);
    let mut problems = Vec::new();
    let mut invalid = 0u64;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_err(e)),
        }
        let line = lines.line_at(record.position().map(|p| p.byte()).unwrap_or(0));
        // Blank lines (or rows of empty cells, as spreadsheets leave at the end) are not contacts.
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        summary.rows += 1;
        let row = validate_row(&columns, line, &record, &mut cache, &mut problems);
        match row {
            Some(row) => rows.push(row),
            None => invalid += 1,
        }
        if rows.len() >= CHUNK && !send(ReadEvent::Rows(std::mem::take(&mut rows))) {
            return Ok(());
        }
    }
    if !problems.is_empty() || invalid > 0 {
        send(ReadEvent::Problems(std::mem::take(&mut problems), invalid));
    }
    if !rows.is_empty() && !send(ReadEvent::Rows(rows)) {
        return Ok(());
    }
    send(ReadEvent::FileDone(file_index, summary.rows));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(sniff_delimiter(b"Email;Name;Outlet\na;b;c"), b';');
        assert_eq!(sniff_delimiter(b"Email\tName\n"), b'\t');
        assert_eq!(sniff_delimiter(b"\"Name; Title\",Email,Outlet\n"), b',');
        assert_eq!(sniff_delimiter(b"Email\n"), b',');
    }

    /// Gives at most `.1` bytes per read.
    struct Chunked<'a>(&'a [u8], usize);

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn line_breaks_are_the_same_however_the_text_is_read() {
        let text = b"a\r\nb\rc\n\r\n\rd\r";
        let expected = [(1, 3), (4, 5), (6, 7), (7, 9), (9, 10), (11, 12)];
        for chunk in 1..=text.len() {
            let breaks = Breaks::default();
            let mut reader = LineBreaks::new(Chunked(text, chunk), &breaks);
            io::copy(&mut reader, &mut io::sink()).unwrap();
            let found: Vec<(u64, u64)> = breaks.borrow().iter().copied().collect();
            assert_eq!(found, expected, "read {chunk} bytes at a time");
        }
    }
}
