//! A release as a send stores it: the release files, the layouts and the
//! attachments in one JSON document in the database, so that a worker on
//! any machine renders exactly what was checked when the send was planned,
//! even if the files change or are not there.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::Error;
use crate::release::message::{self, AttachmentDirs, AttachmentFile};
use crate::release::{templates, Release, TemplateSource};

/// The stored form of a release.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bundle {
    /// The main file's name, relative to the release folder.
    pub main: String,
    /// Release files (main and variants) by relative path.
    pub files: BTreeMap<String, String>,
    /// Attachments, base64, by their path relative to the release folder
    /// (or, for one from `[release] attachment_dirs`, to `@dir/N/` for
    /// the Nth folder).
    pub attachments: BTreeMap<String, String>,
    /// Every layout and partial by name.
    pub templates: BTreeMap<String, String>,
    /// Each release file's attachments in order (by relative path of the
    /// file): their names and keys in `attachments`, as checked when the
    /// send was planned. Absent in bundles stored before attachments were
    /// confined: those are read back from the unpacked folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached: Option<BTreeMap<String, Vec<Attached>>>,
}

/// One attachment of one release file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attached {
    pub name: String,
    pub content_type: String,
    /// Its key in [`Bundle::attachments`].
    pub key: String,
}

/// A stored release written out for a worker: the release, its layouts and
/// each file's attachments (by the file's path).
pub struct Unpacked {
    pub release: Release,
    pub templates: TemplateSource,
    pub attachments: HashMap<PathBuf, Vec<AttachmentFile>>,
}

impl Bundle {
    /// Collects what `release` needs, with the layouts `templates` resolves
    /// to; attachments only from the release's folder and `dirs` (as
    /// `release check` reads them).
    pub fn collect(
        release: &Release,
        templates: &TemplateSource,
        dirs: &AttachmentDirs,
    ) -> Result<Bundle, Error> {
        let dir = release.main.path.parent().unwrap_or(Path::new("."));
        let rel = |p: &Path| -> String {
            p.strip_prefix(dir)
                .unwrap_or(p)
                .to_string_lossy()
                .into_owned()
        };
        // Where each attachment's key starts from: the release's folder, or
        // the attachment folder it is in (resolved, as attachments are).
        let here = Some(dir).filter(|d| !d.as_os_str().is_empty());
        let roots: Vec<(String, PathBuf)> = std::iter::once(here.unwrap_or(Path::new(".")))
            .chain(dirs.0.iter().map(PathBuf::as_path))
            .enumerate()
            .filter_map(|(n, d)| {
                let prefix = if n == 0 {
                    String::new()
                } else {
                    format!("@dir/{n}/")
                };
                d.canonicalize().ok().map(|d| (prefix, d))
            })
            .collect();
        let key = |resolved: &Path| -> Option<String> {
            roots.iter().find_map(|(prefix, root)| {
                let inside = resolved.strip_prefix(root).ok()?;
                Some(format!("{prefix}{}", inside.to_string_lossy()))
            })
        };
        let mut files = BTreeMap::new();
        let mut attachments = BTreeMap::new();
        let mut attached = BTreeMap::new();
        for f in release.files() {
            let text = std::fs::read_to_string(&f.path)
                .map_err(|e| Error::Input(format!("{}: {e}", f.path.display())))?;
            files.insert(rel(&f.path), text);
            let mut list = Vec::new();
            for a in message::read_attachments(f, dirs)? {
                let key = key(&a.resolved).ok_or_else(|| {
                    Error::Input(format!(
                        "{}: attachment {}: not inside the release's folder",
                        f.name(),
                        a.path.display()
                    ))
                })?;
                attachments.insert(
                    key.clone(),
                    base64::engine::general_purpose::STANDARD.encode(&a.bytes),
                );
                list.push(Attached {
                    name: a.name,
                    content_type: a.content_type,
                    key,
                });
            }
            attached.insert(rel(&f.path), list);
        }
        let mut names: Vec<String> = templates::BUILT_IN
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        if let Some(d) = &templates.dir {
            if let Ok(entries) = std::fs::read_dir(d) {
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if (name.ends_with(".html") || name.ends_with(".txt")) && !names.contains(&name)
                    {
                        names.push(name);
                    }
                }
            }
        }
        let mut layouts = BTreeMap::new();
        for name in names {
            if let Ok(Some(text)) = templates::load(templates.dir.as_deref(), &name) {
                layouts.insert(name, text);
            }
        }
        Ok(Bundle {
            main: rel(&release.main.path),
            files,
            attachments,
            templates: layouts,
            attached: Some(attached),
        })
    }

    /// Writes the bundle into `dir` and loads the release from there, with
    /// each file's attachments as they were checked when the send was
    /// planned.
    pub fn unpack(&self, dir: &Path) -> Result<Unpacked, Error> {
        let io = |p: &Path, e: std::io::Error| Error::Input(format!("{}: {e}", p.display()));
        let release_dir = dir.join("release");
        let template_dir = dir.join("templates");
        for (sub, content) in self
            .files
            .iter()
            .map(|(p, t)| (p, t.as_bytes().to_vec()))
            .chain(self.attachments.iter().map(|(p, b)| {
                (
                    p,
                    base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .unwrap_or_default(),
                )
            }))
        {
            let path = safe_join(&release_dir, sub)?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
            }
            std::fs::write(&path, content).map_err(|e| io(&path, e))?;
        }
        std::fs::create_dir_all(&template_dir).map_err(|e| io(&template_dir, e))?;
        for (name, text) in &self.templates {
            let path = safe_join(&template_dir, name)?;
            std::fs::write(&path, text).map_err(|e| io(&path, e))?;
        }
        let release = Release::load(&safe_join(&release_dir, &self.main)?)?;
        let mut attachments = HashMap::new();
        for f in release.files() {
            let list = match &self.attached {
                Some(attached) => {
                    let name = f
                        .path
                        .strip_prefix(&release_dir)
                        .unwrap_or(&f.path)
                        .to_string_lossy()
                        .into_owned();
                    self.attachment_files(attached.get(&name).map(Vec::as_slice).unwrap_or(&[]))?
                }
                // Stored before attachments were confined: every key is a
                // relative path, unpacked inside the folder above.
                None => message::read_attachments(f, &AttachmentDirs::default())?,
            };
            attachments.insert(f.path.clone(), list);
        }
        Ok(Unpacked {
            release,
            templates: TemplateSource {
                dir: Some(template_dir),
            },
            attachments,
        })
    }

    /// The attachments `list` names, from the stored bytes.
    fn attachment_files(&self, list: &[Attached]) -> Result<Vec<AttachmentFile>, Error> {
        list.iter()
            .map(|a| {
                let bytes = self
                    .attachments
                    .get(&a.key)
                    .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                    .ok_or_else(|| {
                        Error::Input(format!(
                            "the stored release lacks its attachment {:?}",
                            a.name
                        ))
                    })?;
                Ok(AttachmentFile {
                    name: a.name.clone(),
                    path: PathBuf::from(&a.key),
                    resolved: PathBuf::from(&a.key),
                    content_type: a.content_type.clone(),
                    bytes,
                })
            })
            .collect()
    }
}

/// `base/sub`, refusing absolute paths and `..` (a bundle is data).
fn safe_join(base: &Path, sub: &str) -> Result<PathBuf, Error> {
    let p = Path::new(sub);
    if p.is_absolute()
        || p.components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(Error::Input(format!(
            "the stored release names a path outside its folder: {sub:?}"
        )));
    }
    Ok(base.join(p))
}
