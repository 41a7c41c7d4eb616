//! `build` and `build --check`: the only code that writes generated files.
//!
//! In: the files of one pipeline, one at a time as the renderer hands them
//! over (`Output::file`), and the output folder. Out: the files written
//! (only those whose contents changed, and stale ones removed), or, with
//! `--check`, a unified diff of what is out of date, writing nothing. Each
//! file is compared and written as it comes and then dropped, so a large
//! pipeline is never held whole. Also `source_path`: where the manifest says
//! the pipeline file is.

use similar::TextDiff;
use std::collections::BTreeSet;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Sub-folders of a pipeline's output folder that pipec owns entirely.
pub const OWNED: [&str; 2] = ["stacks", "scripts"];

/// What `build` does with each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write what changed and remove what is no longer rendered.
    Write,
    /// Write nothing; keep old and new text of what changed, for a diff.
    Check,
}

/// Why a build stopped: reading the folder, or writing to it.
#[derive(Debug)]
pub enum Failure {
    Read(io::Error),
    Write(io::Error),
}

/// What differs between rendered files and a folder.
#[derive(Debug, Default)]
pub struct Changes {
    /// Relative paths with their old (if any) and new (if any) contents,
    /// sorted by path. Texts are kept only by `--check` (for its diff); a
    /// written change keeps empty texts, and `None` still says which side
    /// is missing.
    pub changed: Vec<(String, Option<String>, Option<String>)>,
    /// How many files were rendered.
    pub rendered: usize,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty()
    }

    /// A unified diff of every change, with paths shown under `dir`.
    pub fn unified_diff(&self, dir: &Path) -> String {
        let mut out = String::new();
        for (path, old, new) in &self.changed {
            let shown = dir.join(path).display().to_string();
            let old_s = old.as_deref().unwrap_or("");
            let new_s = new.as_deref().unwrap_or("");
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

/// One pipeline's output folder, taking rendered files one at a time.
pub struct Output {
    dir: PathBuf,
    mode: Mode,
    /// Paths rendered so far: what is not among them at the end is stale.
    seen: BTreeSet<String>,
    changes: Changes,
    /// Folders known to exist, so each is made once.
    made: BTreeSet<PathBuf>,
    /// The old file's bytes, read into one buffer reused for every file.
    buf: Vec<u8>,
    /// The first failure; later files are then ignored.
    failed: Option<Failure>,
}

impl Output {
    pub fn new(dir: &Path, mode: Mode) -> Output {
        Output {
            dir: dir.to_path_buf(),
            mode,
            seen: BTreeSet::new(),
            changes: Changes::default(),
            made: BTreeSet::new(),
            buf: Vec::new(),
            failed: None,
        }
    }

    /// Compares one rendered file with the folder's, and writes it when it
    /// differs (unless checking). The text is dropped afterwards.
    pub fn file(&mut self, path: String, new: String) {
        if self.failed.is_some() {
            return;
        }
        self.changes.rendered += 1;
        let full = self.dir.join(&path);
        let old = match self.read_if_differs(&full, &new) {
            Ok(Same::Yes) => {
                self.seen.insert(path);
                return;
            }
            Ok(Same::No(old)) => old,
            Err(e) => {
                self.failed = Some(Failure::Read(e));
                return;
            }
        };
        match self.mode {
            Mode::Check => {
                self.changes.changed.push((path.clone(), old, Some(new)));
            }
            Mode::Write => {
                if let Err(e) = self.write(&full, &new) {
                    self.failed = Some(Failure::Write(e));
                    return;
                }
                let old = old.map(|_| String::new());
                self.changes
                    .changed
                    .push((path.clone(), old, Some(String::new())));
            }
        }
        self.seen.insert(path);
    }

    /// Whether the file on disk already holds `new`; when not, its old text
    /// (`None` when missing), read only by `--check`, which shows it.
    fn read_if_differs(&mut self, full: &Path, new: &str) -> io::Result<Same> {
        let mut f = match std::fs::File::open(full) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Same::No(None)),
            Err(e) => return Err(e),
        };
        let len = f.metadata()?.len();
        if len != new.len() as u64 && self.mode == Mode::Write {
            // A different size is a different file: no need to read it.
            return Ok(Same::No(Some(String::new())));
        }
        self.buf.clear();
        f.read_to_end(&mut self.buf)?;
        if self.buf == new.as_bytes() {
            return Ok(Same::Yes);
        }
        let old = match self.mode {
            Mode::Check => String::from_utf8_lossy(&self.buf).into_owned(),
            Mode::Write => String::new(),
        };
        Ok(Same::No(Some(old)))
    }

    fn write(&mut self, full: &Path, text: &str) -> io::Result<()> {
        if let Some(parent) = full.parent()
            && !self.made.contains(parent)
        {
            std::fs::create_dir_all(parent)?;
            self.made.insert(parent.to_path_buf());
        }
        std::fs::write(full, text)
    }

    /// Finds the stale files (owned by pipec, no longer rendered), removes
    /// them unless checking, and returns every change sorted by path.
    pub fn finish(mut self) -> Result<Changes, Failure> {
        if let Some(f) = self.failed {
            return Err(f);
        }
        for path in existing(&self.dir).map_err(Failure::Read)? {
            if self.seen.contains(&path) {
                continue;
            }
            let full = self.dir.join(&path);
            let old = match self.mode {
                Mode::Check => std::fs::read_to_string(&full).unwrap_or_default(),
                Mode::Write => {
                    std::fs::remove_file(&full).map_err(Failure::Write)?;
                    String::new()
                }
            };
            self.changes.changed.push((path, Some(old), None));
        }
        self.changes.changed.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(self.changes)
    }
}

enum Same {
    Yes,
    No(Option<String>),
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

/// The built pipelines of an output folder by name, each with a folder that
/// holds one of its manifests: `<out>/<pipeline>/`, or for a pipeline with
/// environments its first environment's folder (every environment names
/// the same source file). Sorted by name.
pub fn built_pipelines(out: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(out)? {
        let dir = e?.path();
        let Some(name) = dir.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        if dir.join("manifest.yaml").is_file() {
            found.push((name, dir));
        } else if dir.is_dir() {
            let mut envs: Vec<PathBuf> = std::fs::read_dir(&dir)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("manifest.yaml").is_file())
                .collect();
            envs.sort();
            if let Some(first) = envs.into_iter().next() {
                found.push((name, first));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The folders under a pipeline's output folder that another layout left
/// behind: with `environments` declared, the folder's own files and the
/// folders of environments no longer declared; without, every environment
/// folder. An environment folder is a sub-folder holding a `manifest.yaml`.
pub fn stale_layouts(folder: &Path, environments: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if !environments.is_empty() && folder.is_dir() {
        out.push(folder.to_path_buf());
    }
    let Ok(entries) = std::fs::read_dir(folder) else {
        return out;
    };
    let mut subs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            !environments
                .iter()
                .any(|n| *n == *e.file_name().to_string_lossy())
        })
        .map(|e| e.path())
        .filter(|p| p.join("manifest.yaml").is_file())
        .collect();
    subs.sort();
    out.extend(subs);
    out
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
