//! The layouts and partials: a folder the press officer edits
//! (`templates/` or `--templates DIR`) wins file by file over the copies
//! built into the binary, so presswire works from any directory.

use std::path::Path;

/// The built-in templates, by name.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("release.html", include_str!("../../templates/release.html")),
    ("release.txt", include_str!("../../templates/release.txt")),
    (
        "_embargo.html",
        include_str!("../../templates/_embargo.html"),
    ),
    ("_embargo.txt", include_str!("../../templates/_embargo.txt")),
    (
        "_dateline.html",
        include_str!("../../templates/_dateline.html"),
    ),
    (
        "_dateline.txt",
        include_str!("../../templates/_dateline.txt"),
    ),
    ("_footer.html", include_str!("../../templates/_footer.html")),
    ("_footer.txt", include_str!("../../templates/_footer.txt")),
];

/// The starter of `presswire release new`.
pub const STARTER: &str = include_str!("../../templates/starter.md");

/// minijinja's loader: the folder first, then the built-in copy.
pub fn load(dir: Option<&Path>, name: &str) -> Result<Option<String>, minijinja::Error> {
    // Template names are plain file names: never a path out of the folder.
    if name.contains(['/', '\\']) || name.starts_with('.') {
        return Ok(None);
    }
    if let Some(dir) = dir {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(s) => return Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("reading {}: {e}", path.display()),
                ))
            }
        }
    }
    Ok(BUILT_IN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| s.to_string()))
}
