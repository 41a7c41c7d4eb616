//! `build` and `build --check`: the only code that writes generated files.
//!
//! In: rendered files of one pipeline and the output folder. Out: the files
//! written (only those whose contents changed, and stale ones removed), or,
//! with `--check`, a unified diff of what is out of date, writing nothing.
//! Also `source_path`: where the manifest says the pipeline file is.

use crate::render::Rendered;
use similar::TextDiff;
use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

/// Sub-folders of a pipeline's output folder that pipec owns entirely.
const OWNED: [&str; 2] = ["stacks", "scripts"];

/// What differs between rendered files and a folder. New contents are
/// borrowed from the rendered files, so a large pipeline is not held twice.
#[derive(Debug, Default)]
pub struct Changes<'a> {
    /// Relative paths with their old (if any) and new (if any) contents. The
    /// old text is kept only when `compare` is asked to (for `--check`'s
    /// diff); otherwise an existing file's old text is left empty.
    pub changed: Vec<(String, Option<String>, Option<&'a str>)>,
}

impl Changes<'_> {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty()
    }

    /// A unified diff of every change, with paths shown under `dir`.
    pub fn unified_diff(&self, dir: &Path) -> String {
        let mut out = String::new();
        for (path, old, new) in &self.changed {
            let shown = dir.join(path).display().to_string();
            let old_s = old.as_deref().unwrap_or("");
            let new_s = new.unwrap_or("");
            let diff = TextDiff::from_lines(old_s, new_s);
            let a = if old.is_some() {
                format!("a/{shown}")
            } else {
                "/dev/null".into()
            };
            let b = if new.is_some() {
                format!("b/{shown}")
            } else {
                "/dev/null".into()
            };
            out.push_str(
                &diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&a, &b)
                    .to_string(),
            );
        }
        out
    }
}

/// Compares rendered files with the pipeline's folder; `keep_old` keeps the
/// old text of changed files, for a diff.
pub fn compare<'a>(rendered: &'a Rendered, dir: &Path, keep_old: bool) -> io::Result<Changes<'a>> {
    let mut changes = Changes::default();
    let kept = |old: String| if keep_old { old } else { String::new() };
    for (path, new) in &rendered.files {
        match std::fs::read_to_string(dir.join(path)) {
            Ok(old) if &old == new => {}
            Ok(old) => changes
                .changed
                .push((path.clone(), Some(kept(old)), Some(new.as_str()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                changes
                    .changed
                    .push((path.clone(), None, Some(new.as_str())))
            }
            Err(e) => return Err(e),
        }
    }
    for path in existing(dir)? {
        if !rendered.files.contains_key(&path) {
            let old = if keep_old {
                std::fs::read_to_string(dir.join(&path)).unwrap_or_default()
            } else {
                String::new()
            };
            changes.changed.push((path, Some(old), None));
        }
    }
    changes.changed.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(changes)
}

/// Files pipec owns in a pipeline folder: the manifest and everything under
/// `stacks/` and `scripts/`.
fn existing(dir: &Path) -> io::Result<BTreeSet<String>> {
    let mut found = BTreeSet::new();
    if dir.join("manifest.yaml").is_file() {
        found.insert("manifest.yaml".to_string());
    }
    for sub in OWNED {
        let d = dir.join(sub);
        if !d.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                found.insert(format!("{sub}/{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    Ok(found)
}

/// Writes what changed and removes what is no longer rendered.
pub fn write(changes: &Changes, dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut touched = Vec::new();
    for (path, _, new) in &changes.changed {
        let full = dir.join(path);
        match new {
            Some(text) => {
                if let Some(parent) = full.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&full, text)?;
            }
            None => std::fs::remove_file(&full)?,
        }
        touched.push(full);
    }
    Ok(touched)
}

/// The pipeline file as seen from its output folder (`../../pipelines/etl.yaml`
/// for `generated/etl/`), with `/` separators, so that `deploy` can find and
/// re-render it. It holds no machine-specific part: only the relative layout
/// of the two paths. `None` when the two share no root.
pub fn source_path(file: &Path, dir: &Path) -> Option<String> {
    use std::path::Component;
    let from = absolute(dir)?;
    let to = absolute(file)?;
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return None;
    }
    let mut parts: Vec<String> = vec!["..".to_string(); a.len() - common];
    for c in &b[common..] {
        parts.push(c.as_os_str().to_str()?.to_string());
    }
    Some(parts.join("/"))
}

/// An absolute path without `.` or `..`, with symlinks resolved in the
/// longest part that exists (the output folder may not exist yet).
fn absolute(p: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(p)
    };
    let mut lexical = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                lexical.pop();
            }
            Component::CurDir => {}
            other => lexical.push(other.as_os_str()),
        }
    }
    let mut head = lexical.clone();
    let mut tail = Vec::new();
    loop {
        if let Ok(real) = head.canonicalize() {
            let mut out = real;
            for t in tail.iter().rev() {
                out.push(t);
            }
            return Some(out);
        }
        tail.push(head.file_name()?.to_os_string());
        if !head.pop() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_paths_are_relative_to_the_output_folder() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let file = root.join("pipelines/etl.yaml");
        assert_eq!(
            source_path(&file, &root.join("generated/etl")).as_deref(),
            Some("../../pipelines/etl.yaml")
        );
        assert_eq!(
            source_path(&file, &root.join("target/not-yet/x/etl")).as_deref(),
            Some("../../../../pipelines/etl.yaml")
        );
        assert_eq!(
            source_path(
                &root.join("./pipelines/../pipelines/etl.yaml"),
                &root.join("out/etl")
            )
            .as_deref(),
            Some("../../pipelines/etl.yaml")
        );
    }
}
