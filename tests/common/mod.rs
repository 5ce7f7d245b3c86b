//! Shared test fixtures: a kiosk in a temporary folder driven through the real binary.
#![allow(dead_code)]

pub mod alerts;
pub mod http;
pub mod logs;
pub mod smtp;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const PASSPHRASE: &str = "correct horse battery";

/// A temporary kiosk: its own database, config and secret files.
pub struct Kiosk {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub passphrase_file: PathBuf,
}

impl Kiosk {
    /// A folder with a passphrase file; the database is not created yet.
    pub fn new() -> Kiosk {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("doorguard.db");
        let passphrase_file = dir.path().join("passphrase");
        std::fs::write(&passphrase_file, format!("{PASSPHRASE}\n")).expect("write passphrase");
        Kiosk {
            dir,
            db,
            passphrase_file,
        }
    }

    /// A kiosk after `init --admin alice`; returns it and the recovery code as printed.
    pub fn initialized() -> (Kiosk, String) {
        let kiosk = Kiosk::new();
        let out = kiosk.ok(&[
            "init",
            "--admin",
            "alice",
            "--passphrase-file",
            kiosk.passphrase_arg(),
        ]);
        let code = recovery_code_in(&stdout(&out)).expect("init prints a recovery code");
        (kiosk, code)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `text` to a file in the kiosk folder and returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write file");
        p
    }

    pub fn passphrase_arg(&self) -> &str {
        self.passphrase_file.to_str().expect("utf-8 path")
    }

    /// The binary with `--db` set and no configuration file (shipped defaults).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_doorguard"));
        cmd.args(args)
            .arg("--db")
            .arg(&self.db)
            .arg("--config")
            .arg(self.config_path());
        cmd.env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// The config file used by [`Kiosk::command`]: written with defaults on first use.
    pub fn config_path(&self) -> PathBuf {
        let p = self.path("config.toml");
        if !p.exists() {
            std::fs::write(&p, "[kiosk]\nname = \"Test door\"\n").expect("write config");
        }
        p
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run doorguard")
    }

    /// Runs and asserts success.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "doorguard {args:?} failed: {}\n{}",
            stderr(&out),
            stdout(&out)
        );
        out
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Finds a recovery code (`XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`) in a text.
pub fn recovery_code_in(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.len() == 29 && w.split('-').count() == 6 && w.split('-').all(|g| g.len() == 4))
        .map(str::to_owned)
}

/// True when `needle` occurs anywhere in the file's bytes (missing file: false).
pub fn file_contains(path: &Path, needle: &str) -> bool {
    match std::fs::read(path) {
        Ok(bytes) => bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
        Err(_) => false,
    }
}
