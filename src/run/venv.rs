//! The Python environment of a local run: which interpreter runs a stage of
//! a Glue version, and the one table of pins per Glue version.
//!
//! In: `--python`, `$PIPEC_PYTHON`, the `.pipec/` folder and a Glue
//! version. Out: the path of a Python with the matching pyspark, creating
//! `.pipec/venv/pyspark-<version>/` once (a marker file holds the hash of
//! its pins, so a changed pin reinstalls). `decide` is pure and tested;
//! `ensure` runs `python3 -m venv` and pip.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable naming the Python to use, as `--python` does.
pub const PYTHON_ENV: &str = "PIPEC_PYTHON";

/// The packages a Spark 3.5 environment adds for Iceberg tables, as
/// `tests/requirements.txt` pins them: the PyPI package holding the Iceberg
/// Spark runtime jar (built for Spark 3.5 only), and pyiceberg, with which
/// `pipec query --local` reads a table's current snapshot.
pub const ICEBERG: &[&str] = &["snowpark-connect-deps-iceberg==1.0.3", "pyiceberg==0.12.0"];

/// The packages of one Glue version's local environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pins {
    pub glue_version: &'static str,
    pub pyarrow: &'static str,
    pub duckdb: &'static str,
}

/// Glue version -> the pyarrow and duckdb installed beside its pyspark. The
/// pyspark itself comes from `crate::glue::local_pyspark_version`, the one
/// place Glue's Spark versions live. The pins are the ones
/// `tests/requirements.txt` and `tests/requirements-spark4.txt` test.
pub const TABLE: &[Pins] = &[
    Pins {
        glue_version: "3.0",
        pyarrow: "26.0.1",
        duckdb: "2.0.0",
    },
    Pins {
        glue_version: "4.0",
        pyarrow: "26.0.1",
        duckdb: "2.0.0",
    },
    Pins {
        glue_version: "5.0",
        pyarrow: "26.0.1",
        duckdb: "2.0.0",
    },
    Pins {
        glue_version: "5.1",
        pyarrow: "26.0.1",
        duckdb: "2.0.0",
    },
    Pins {
        glue_version: "6.0",
        pyarrow: "26.0.1",
        duckdb: "2.0.0",
    },
];

/// The pins of a Glue version (Python shell's "3.0" has its own Python, and
/// runs on any of these).
pub fn pins(glue_version: &str) -> Option<&'static Pins> {
    TABLE.iter().find(|p| p.glue_version == glue_version)
}

impl Pins {
    /// The pyspark of this Glue version (see `crate::glue`).
    pub fn pyspark(&self) -> &'static str {
        crate::glue::local_pyspark_version(self.glue_version).unwrap_or("3.5.4")
    }

    /// The pip requirements, one per line; a Spark 3.5 environment also
    /// gets `ICEBERG`.
    pub fn requirements(&self) -> Vec<String> {
        let mut out = vec![
            format!("pyspark=={}", self.pyspark()),
            format!("pyarrow=={}", self.pyarrow),
            format!("duckdb=={}", self.duckdb),
        ];
        if self.pyspark().starts_with("3.5.") {
            out.extend(ICEBERG.iter().map(|p| p.to_string()));
        }
        out
    }

    /// The hash written to the marker file of an installed environment.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        for r in self.requirements() {
            h.update(r.as_bytes());
            h.update(b"\n");
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What to do to get a Python.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// The interpreter the user named; used as it is.
    Given(PathBuf),
    /// An environment pipec installed earlier with these very pins.
    Ready(PathBuf),
    /// Create (or reinstall) the environment at `dir` with `pins`.
    Install { dir: PathBuf, pins: &'static Pins },
}

/// The environment folder of a pyspark version under `.pipec/`.
pub fn env_dir(pipec_dir: &Path, pins: &Pins) -> PathBuf {
    pipec_dir
        .join("venv")
        .join(format!("pyspark-{}", pins.pyspark()))
}

/// The marker file of an installed environment.
pub fn marker(dir: &Path) -> PathBuf {
    dir.join("pipec-pins.sha256")
}

/// The interpreter inside an environment.
pub fn interpreter(dir: &Path) -> PathBuf {
    dir.join("bin").join("python")
}

/// Decides where the Python of a Glue version comes from: `--python`, then
/// `$PIPEC_PYTHON`, then `.pipec/venv/pyspark-<v>/` when its marker holds
/// the pins' hash (`read_marker` reads it), else an install.
pub fn decide(
    given: Option<&Path>,
    env: Option<&str>,
    pipec_dir: &Path,
    glue_version: &str,
    read_marker: impl Fn(&Path) -> Option<String>,
) -> Result<Choice, String> {
    if let Some(p) = given {
        return Ok(Choice::Given(p.to_path_buf()));
    }
    if let Some(p) = env.filter(|p| !p.is_empty()) {
        return Ok(Choice::Given(PathBuf::from(p)));
    }
    let Some(pins) = pins(glue_version) else {
        let known: Vec<&str> = TABLE.iter().map(|p| p.glue_version).collect();
        return Err(format!(
            "no local Spark is known for Glue {glue_version} (known: {}); give one with --python PATH",
            known.join(", ")
        ));
    };
    let dir = env_dir(pipec_dir, pins);
    if read_marker(&marker(&dir)).is_some_and(|m| m.trim() == pins.hash()) {
        return Ok(Choice::Ready(interpreter(&dir)));
    }
    Ok(Choice::Install { dir, pins })
}

/// The Python for a Glue version, installing its environment if needed
/// (progress on stderr).
pub fn ensure(
    given: Option<&Path>,
    pipec_dir: &Path,
    glue_version: &str,
) -> Result<PathBuf, String> {
    let env = std::env::var(PYTHON_ENV).ok();
    let choice = decide(given, env.as_deref(), pipec_dir, glue_version, |m| {
        std::fs::read_to_string(m).ok()
    })?;
    match choice {
        Choice::Given(p) | Choice::Ready(p) => Ok(p),
        Choice::Install { dir, pins } => {
            eprintln!(
                "pipec: installing pyspark {} into {} (once)",
                pins.pyspark(),
                dir.display()
            );
            let status = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&dir)
                .status()
                .map_err(|e| format!("cannot run python3 -m venv (install Python 3.11 or later, or give --python PATH): {e}"))?;
            if !status.success() {
                return Err(format!("python3 -m venv {} failed", dir.display()));
            }
            let python = interpreter(&dir);
            let status = Command::new(&python)
                .args(["-m", "pip", "install", "--quiet"])
                .args(pins.requirements())
                .status()
                .map_err(|e| format!("cannot run pip: {e}"))?;
            if !status.success() {
                return Err(format!(
                    "pip could not install {} into {}",
                    pins.requirements().join(" "),
                    dir.display()
                ));
            }
            std::fs::write(marker(&dir), pins.hash())
                .map_err(|e| format!("cannot write {}: {e}", marker(&dir).display()))?;
            Ok(python)
        }
    }
}

/// Checks that Java runs (Spark needs it), naming what to install if not.
pub fn check_java() -> Result<(), String> {
    let java = match std::env::var_os("JAVA_HOME") {
        Some(h) => PathBuf::from(h).join("bin").join("java"),
        None => PathBuf::from("java"),
    };
    match Command::new(&java).arg("-version").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err(format!(
            "Spark needs Java 17 and `{}` does not run: install it (Debian/Ubuntu: `apt-get install openjdk-17-jre-headless`; macOS: `brew install openjdk@17`) or set JAVA_HOME",
            java.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_python_comes_from_the_flag_then_the_env_then_the_marker() {
        let none = |_: &Path| None;
        let root = Path::new(".pipec");
        assert_eq!(
            decide(
                Some(Path::new("/p/python")),
                Some("/e/python"),
                root,
                "5.0",
                none
            ),
            Ok(Choice::Given("/p/python".into()))
        );
        assert_eq!(
            decide(None, Some("/e/python"), root, "5.0", none),
            Ok(Choice::Given("/e/python".into()))
        );
        let pins = pins("5.0").unwrap();
        assert_eq!(pins.pyspark(), "3.5.4");
        assert_eq!(
            decide(None, Some(""), root, "5.0", none),
            Ok(Choice::Install {
                dir: ".pipec/venv/pyspark-3.5.4".into(),
                pins
            })
        );
        let good = |_: &Path| Some(format!("{}\n", pins.hash()));
        assert_eq!(
            decide(None, None, root, "5.0", good),
            Ok(Choice::Ready(".pipec/venv/pyspark-3.5.4/bin/python".into()))
        );
        // A marker of other pins reinstalls.
        let stale = |_: &Path| Some("0123".to_string());
        assert!(matches!(
            decide(None, None, root, "5.0", stale),
            Ok(Choice::Install { .. })
        ));
        let err = decide(None, None, root, "9.9", none).unwrap_err();
        assert!(err.contains("Glue 9.9") && err.contains("5.0"), "{err}");
    }

    #[test]
    fn each_glue_version_has_its_spark() {
        let spark: Vec<(&str, &str)> = TABLE
            .iter()
            .map(|p| (p.glue_version, p.pyspark()))
            .collect();
        assert_eq!(
            spark,
            [
                ("3.0", "3.5.4"),
                ("4.0", "3.5.4"),
                ("5.0", "3.5.4"),
                ("5.1", "3.5.6"),
                ("6.0", "4.1.1")
            ]
        );
    }

    #[test]
    fn spark_3_5_environments_get_the_iceberg_packages_the_tests_pin() {
        let tested = include_str!("../../tests/requirements.txt");
        for pin in ICEBERG {
            assert!(
                tested.lines().any(|l| l.trim() == *pin),
                "{pin} is not in tests/requirements.txt"
            );
            for p in TABLE {
                let has = p.requirements().iter().any(|r| r == pin);
                assert_eq!(
                    has,
                    p.pyspark().starts_with("3.5."),
                    "Glue {}",
                    p.glue_version
                );
            }
        }
    }
}
