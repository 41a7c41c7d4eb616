//! The two versions of `generated/` that `pipec review` compares: one read
//! from git (`git ls-tree`, `git cat-file --batch`, run as processes: no git
//! library), the other from the working tree or a second git revision.
//!
//! In: a folder and, for git, a revision. Out: a `Tree`, every regular file
//! under the folder by path relative to it. Git's output is read as data:
//! paths and contents are never run or interpreted here.

use super::ReviewError;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// Largest file read from either side; generated files are far smaller.
const MAX_FILE: u64 = crate::MAX_FILE_BYTES;

/// One version of `generated/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    /// What the version is, for people: `main (3f2a1c9)`, `working tree`.
    pub label: String,
    /// Text files by path relative to the folder, `/`-separated.
    pub files: BTreeMap<String, String>,
}

impl Tree {
    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }
}

/// The folder as it is on disk. A missing folder is an empty tree (every
/// pipeline removed); symbolic links are not followed.
pub fn from_dir(dir: &Path) -> Result<Tree, ReviewError> {
    let mut files = BTreeMap::new();
    if dir.is_dir() {
        walk(dir, "", &mut files)?;
    }
    Ok(Tree {
        label: "working tree".into(),
        files,
    })
}

fn walk(dir: &Path, rel: &str, out: &mut BTreeMap<String, String>) -> Result<(), ReviewError> {
    let io = |e: std::io::Error| ReviewError::Read {
        path: dir.display().to_string(),
        detail: e.to_string(),
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let ty = e.file_type().map_err(io)?;
        if ty.is_dir() {
            walk(&e.path(), &path, out)?;
        } else if ty.is_file() {
            let meta = e.metadata().map_err(io)?;
            if meta.len() > MAX_FILE {
                return Err(ReviewError::TooLarge { path });
            }
            let bytes = std::fs::read(e.path()).map_err(io)?;
            out.insert(path, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Ok(())
}

/// The commit `rev` names.
pub fn commit(rev: &str) -> Result<String, ReviewError> {
    let commit = git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{rev}^{{commit}}"),
    ])
    .map_err(|e| match e {
        ReviewError::Git { .. } => ReviewError::UnknownRevision { rev: rev.into() },
        e => e,
    })?;
    Ok(commit.trim().to_string())
}

/// The commit a review compares with: where `rev` and `head` forked (what a
/// pull request shows), or `rev` itself when they share no history.
pub fn base_commit(rev: &str, head: &str) -> Result<String, ReviewError> {
    let commit = commit(rev)?;
    match git(&["merge-base", &commit, head]) {
        Ok(m) if !m.trim().is_empty() => Ok(m.trim().to_string()),
        _ => Ok(commit),
    }
}

/// The folder `dir` (relative to the current directory) as committed in
/// `commit`. A folder absent from that commit is an empty tree.
pub fn from_git(commit: &str, dir: &Path, label: &str) -> Result<Tree, ReviewError> {
    let full = if dir.is_absolute() {
        // An absolute folder is named from the top of the work tree.
        let top = git(&["rev-parse", "--show-toplevel"])?;
        let rel = dir.strip_prefix(top.trim()).map_err(|_| ReviewError::Git {
            command: "git rev-parse --show-toplevel".into(),
            detail: format!(
                "{} is outside the repository at {}",
                dir.display(),
                top.trim()
            ),
        })?;
        rel.to_string_lossy().replace('\\', "/")
    } else {
        let prefix = git(&["rev-parse", "--show-prefix"])?;
        let dir_text = dir.to_string_lossy().replace('\\', "/");
        let dir_text = dir_text.trim_start_matches("./").trim_end_matches('/');
        format!("{}{}", prefix.trim(), dir_text)
    };
    let full = full.trim_end_matches('/').to_string();
    let listing = git(&["ls-tree", "-r", "-z", "--full-tree", commit, "--", &full])?;
    let mut wanted: Vec<(String, String)> = Vec::new();
    for entry in listing.split('\0').filter(|e| !e.is_empty()) {
        let Some((meta, path)) = entry.split_once('\t') else {
            continue;
        };
        let mut parts = meta.split(' ');
        let (mode, kind, oid) = (parts.next(), parts.next(), parts.next());
        // Regular files only: no symbolic links (120000) or submodules.
        if kind != Some("blob") || !matches!(mode, Some("100644" | "100755")) {
            continue;
        }
        let Some(rel) = path.strip_prefix(&full).and_then(|r| r.strip_prefix('/')) else {
            continue;
        };
        if let Some(oid) = oid {
            wanted.push((rel.to_string(), oid.to_string()));
        }
    }
    let files = cat_files(&wanted)?;
    Ok(Tree {
        label: label.to_string(),
        files,
    })
}

/// Reads many blobs through one `git cat-file --batch` process.
fn cat_files(wanted: &[(String, String)]) -> Result<BTreeMap<String, String>, ReviewError> {
    let mut out = BTreeMap::new();
    if wanted.is_empty() {
        return Ok(out);
    }
    let mut child = Command::new("git")
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ReviewError::Git {
            command: "git cat-file --batch".into(),
            detail: e.to_string(),
        })?;
    let input: String = wanted.iter().map(|(_, oid)| format!("{oid}\n")).collect();
    let mut stdin = child.stdin.take().ok_or_else(|| ReviewError::Git {
        command: "git cat-file --batch".into(),
        detail: "no input pipe".into(),
    })?;
    // Write from a thread so that a full output pipe cannot block the input.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut bytes = Vec::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout
            .read_to_end(&mut bytes)
            .map_err(|e| ReviewError::Git {
                command: "git cat-file --batch".into(),
                detail: e.to_string(),
            })?;
    }
    let _ = writer.join();
    let _ = child.wait();
    let mut at = 0usize;
    for (path, _) in wanted {
        // Each answer: `<oid> <type> <size>\n<content>\n`.
        let Some(nl) = bytes[at..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let header = String::from_utf8_lossy(&bytes[at..at + nl]).into_owned();
        at += nl + 1;
        let size: Option<usize> = header.rsplit(' ').next().and_then(|s| s.parse().ok());
        let Some(size) = size.filter(|_| !header.ends_with(" missing")) else {
            continue;
        };
        if size as u64 > MAX_FILE {
            return Err(ReviewError::TooLarge { path: path.clone() });
        }
        let end = (at + size).min(bytes.len());
        out.insert(
            path.clone(),
            String::from_utf8_lossy(&bytes[at..end]).into_owned(),
        );
        at = end + 1;
    }
    Ok(out)
}

/// Runs git and returns its standard output; a failure carries its stderr.
fn git(args: &[&str]) -> Result<String, ReviewError> {
    let command = format!("git {}", args.join(" "));
    let out = Command::new("git")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ReviewError::Git {
            command: command.clone(),
            detail: format!("cannot run git: {e}"),
        })?;
    if !out.status.success() {
        return Err(ReviewError::Git {
            command,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A short name for a commit: `abbrev` of it.
pub fn short(commit: &str) -> String {
    commit.chars().take(10).collect()
}
