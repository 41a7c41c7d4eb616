//! The moto server the end-to-end tests run pipec against: started on
//! 127.0.0.1 with port 0 from the venv (`PIPEC_VENV`, default `.venv`),
//! stopped by its own handle, and pipec run with the safe environment
//! (dummy credentials, a region, no instance metadata, no profile files).
//! Included with `#[path]` by each test that needs it.

// Each including test uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A moto server owned by this test; stopped (by its own handle) on drop.
pub struct Moto {
    child: Child,
    pub url: String,
    /// Requests moto answered so far, counted from its request log.
    served: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::launch(&[])
    }

    /// moto with CloudFormation resource import added
    /// (`tests/support/moto_import.py`), which moto itself lacks.
    pub fn start_with_import() -> Moto {
        let script = root().join("tests/support/moto_import.py");
        Moto::launch(&[script.to_str().expect("a UTF-8 path")])
    }

    /// `moto_server`, or with `script` the venv's Python running it.
    fn launch(script: &[&str]) -> Moto {
        let venv = std::env::var_os("PIPEC_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join(".venv"));
        let bin = venv.join(if script.is_empty() {
            "bin/moto_server"
        } else {
            "bin/python"
        });
        assert!(
            bin.is_file(),
            "{} missing: run ./tests/run-all.sh, which installs the pinned moto",
            bin.display()
        );
        let mut child = Command::new(bin)
            .args(script)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto_server starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = served.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Werkzeug's request log: `127.0.0.1 - - [date] "POST / HTTP/1.1" 200 -`.
                if line.contains("\" ") && line.contains(" HTTP/1.1\" ") {
                    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                if !sent && let Some(i) = line.find("Running on http://127.0.0.1:") {
                    let url = line[i + "Running on ".len()..].trim().to_string();
                    let _ = tx.send(url);
                    sent = true;
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("moto_server printed its address");
        let mut moto = Moto { child, url, served };
        moto.wait_ready();
        moto
    }

    fn wait_ready(&mut self) {
        let port: u16 = self.url.rsplit(':').next().unwrap().parse().unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                let _ = s.write_all(
                    b"GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                );
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.1 200") || buf.starts_with("HTTP/1.0 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server at {} never answered 200", self.url);
    }

    pub fn pipec(&self, args: &[&str]) -> Output {
        self.pipec_with(args, &[])
    }

    /// `pipec` without some of the environment variables set for it.
    pub fn pipec_unset(&self, args: &[&str], unset: &[&str]) -> Output {
        self.pipec_env(args, &[], unset)
    }

    /// `pipec` with extra environment variables (set after the safe defaults).
    pub fn pipec_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.pipec_env(args, env, &[])
    }

    /// Requests moto has answered so far (its log can lag a few ms behind).
    pub fn requests(&self) -> usize {
        std::thread::sleep(Duration::from_millis(200));
        self.served.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn pipec_env(&self, args: &[&str], env: &[(&str, &str)], unset: &[&str]) -> Output {
        let mut c = self.command(args, env);
        for k in unset {
            c.env_remove(k);
        }
        c.output().expect("pipec runs")
    }

    /// The `pipec` command with the safe environment, not started yet.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_pipec"));
        c.args(args)
            .current_dir(root())
            .stdin(Stdio::null())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_SESSION_TOKEN")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials",
            )
            .env_remove("AWS_PROFILE")
            .env("AWS_ENDPOINT_URL", &self.url);
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
