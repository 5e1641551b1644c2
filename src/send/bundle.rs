//! A release as a send stores it: the release files, the layouts and the
//! attachments in one JSON document in the database, so that a worker on
//! any machine renders exactly what was checked when the send was planned,
//! even if the files change or are not there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::Error;
use crate::release::{templates, Release, TemplateSource};

/// The stored form of a release.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bundle {
    /// The main file's name, relative to the release folder.
    pub main: String,
    /// Release files (main and variants) by relative path.
    pub files: BTreeMap<String, String>,
    /// Attachments by relative path, base64.
    pub attachments: BTreeMap<String, String>,
    /// Every layout and partial by name.
    pub templates: BTreeMap<String, String>,
}

impl Bundle {
    /// Collects what `release` needs, with the layouts `templates` resolves to.
    pub fn collect(release: &Release, templates: &TemplateSource) -> Result<Bundle, Error> {
        let dir = release.main.path.parent().unwrap_or(Path::new("."));
        let rel = |p: &Path| -> String {
            p.strip_prefix(dir)
                .unwrap_or(p)
                .to_string_lossy()
                .into_owned()
        };
        let mut files = BTreeMap::new();
        let mut attachments = BTreeMap::new();
        for f in release.files() {
            let text = std::fs::read_to_string(&f.path)
                .map_err(|e| Error::Input(format!("{}: {e}", f.path.display())))?;
            files.insert(rel(&f.path), text);
            for a in &f.front.attachments {
                let path = f.path.parent().unwrap_or(Path::new(".")).join(a);
                let bytes = std::fs::read(&path).map_err(|e| {
                    Error::Input(format!("{}: attachment {}: {e}", f.name(), path.display()))
                })?;
                attachments.insert(
                    rel(&path),
                    base64::engine::general_purpose::STANDARD.encode(bytes),
                );
            }
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
        })
    }

    /// Writes the bundle into `dir` and loads the release from there.
    pub fn unpack(&self, dir: &Path) -> Result<(Release, TemplateSource), Error> {
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
        Ok((
            release,
            TemplateSource {
                dir: Some(template_dir),
            },
        ))
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
