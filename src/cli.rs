//! The administrator's command line: argument parsing (clap) and one function per
//! command.
//!
//! Owns what a person at a shell sees: prompts, tables, messages, exit codes. Must not
//! print a secret (passphrases, PINs and the recovery code are read from a TTY or a
//! file and never echoed, except the recovery code once at `init`), nor decide access
//! itself: lockouts go through [`access`](crate::access).
//!
//! Exit codes: 0 done, 1 failed, 2 bad configuration or arguments, 3 wrong passphrase
//! or recovery code.

mod admin;
mod alerts;
mod devices;
mod secrets;
mod users;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::config::{ConfigError, DEFAULT_CONFIG, DEFAULT_PATH, Secrets, Settings};
use crate::store::{Store, StoreError};

/// doorguard: a touchscreen door access kiosk.
#[derive(Debug, Parser)]
#[command(name = "doorguard", version, about, propagate_version = true)]
pub struct Cli {
    /// Configuration file [default: /etc/doorguard/config.toml; if it is missing, the
    /// shipped defaults apply].
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Database file [default: `storage.database` of the configuration,
    /// /var/lib/doorguard/doorguard.db].
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// What to do [default: run].
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the kiosk (the default).
    Run,
    /// Create the database and the first administrator; prints the recovery code once.
    Init {
        /// Name of the first administrator.
        #[arg(long, value_name = "NAME")]
        admin: String,
        /// Read the new passphrase from this file instead of asking twice on the terminal.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Check the configuration and report every problem with file:line:column.
    CheckConfig,
    /// Print the shipped configuration, with every key documented and set to its default.
    PrintDefaultConfig,
    /// Play the kiosk through without a display or hardware (simulated devices, a
    /// temporary database): set-up, enrollment, PINs good, duress and wrong, lockout,
    /// audit log and alerts. Writes a PNG of every screen, the alerts as .eml and
    /// JSON, the GPIO timeline and a summary.
    Demo {
        /// Where to write everything.
        #[arg(long, value_name = "DIR", default_value = "doorguard-demo")]
        out: PathBuf,
    },
    /// Manage enrolled people.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Clear a lockout or hard lock (administrator passphrase or recovery code).
    Unlock {
        #[command(flatten)]
        auth: AuthArgs,
    },
    /// Change an administrator's passphrase (the data key is re-wrapped, nothing is
    /// re-encrypted). With the recovery code it resets a forgotten passphrase.
    Passwd {
        #[command(flatten)]
        auth: AuthArgs,
        /// Read the new passphrase from this file instead of asking twice.
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Write a consistent copy of the database (safe while the kiosk runs).
    Backup {
        /// Destination file.
        path: PathBuf,
    },
    /// The alert outbox: what was sent where, what is waiting, what failed.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Check the camera, GPIO and speech as configured.
    #[command(subcommand)]
    Devices(devices::DevicesCommand),
    /// Show recent audit events (no personal details: people appear by id).
    Audit {
        /// How many events, newest first.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// How an administrator proves who they are.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthArgs {
    /// Administrator name (needed only when the kiosk has several).
    #[arg(long, value_name = "NAME")]
    pub admin: Option<String>,
    /// Read the administrator passphrase from this file instead of the terminal.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Prove who you are with the recovery code in this file instead of a passphrase.
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_file")]
    pub recovery_code_file: Option<PathBuf>,
    /// Ask for the recovery code on the terminal instead of a passphrase.
    #[arg(long, conflicts_with_all = ["passphrase_file", "recovery_code_file"])]
    pub recovery: bool,
}

impl AuthArgs {
    /// True when the recovery code, not a passphrase, proves who the user is.
    pub fn uses_recovery(&self) -> bool {
        self.recovery || self.recovery_code_file.is_some()
    }
}

/// Why a command failed. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration is wrong (every problem listed).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An argument or an input file is wrong.
    #[error("{0}")]
    Input(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// Some rows failed their integrity check (each named); the others were shown.
    #[error("{0}")]
    Damaged(String),
    /// Output could not be produced.
    #[error("{0}")]
    Output(String),
    /// Some devices cannot be used (each explained in the output above).
    #[error("{0}")]
    Unavailable(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(e) => e.exit_code(),
            CliError::Input(_) => 2,
            CliError::Store(StoreError::WrongPassphrase | StoreError::WrongRecoveryCode) => 3,
            _ => 1,
        }
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
        move |source| CliError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// What every command starts from: the resolved settings and the database path.
struct Context {
    settings: Settings,
    /// The configuration file that was read; `None` when the default path was missing.
    config_file: Option<PathBuf>,
    db: PathBuf,
}

impl Context {
    fn load(config: Option<&Path>, db: Option<PathBuf>) -> Result<Context, CliError> {
        let (path, must_exist) = match config {
            Some(p) => (p, true),
            None => (Path::new(DEFAULT_PATH), false),
        };
        let settings = Settings::load(path, must_exist)?;
        let config_file = (must_exist || path.exists()).then(|| path.to_owned());
        let db = db.unwrap_or_else(|| settings.storage.database.clone());
        Ok(Context {
            settings,
            config_file,
            db,
        })
    }

    fn open_store(&self) -> Result<Store, CliError> {
        Ok(Store::open(&self.db)?)
    }

    /// Opens the store and refuses politely when `init` has not run.
    fn open_initialized(&self) -> Result<Store, CliError> {
        let store = self.open_store()?;
        if !store.is_initialized()? {
            return Err(StoreError::NotInitialized.into());
        }
        Ok(store)
    }
}

fn init_logging(settings: &Settings) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    // The schema migration's own log line is noise at a shell.
    let default = format!(
        "{},rusqlite_migration=warn",
        settings.log.level.as_str().to_lowercase()
    );
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn demo(out: &Path) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let summary = crate::demo::run(out).map_err(|e| CliError::Output(e.to_string()))?;
    println!(
        "{} screens in {}",
        summary.screens.len(),
        out.join("screens").display()
    );
    for alert in &summary.alerts {
        println!("alert: {}", alert.display());
    }
    println!("GPIO timeline: {}", summary.timeline.display());
    println!("summary: {}", summary.summary.display());
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let command = cli.command.unwrap_or(Command::Run);
    if let Command::PrintDefaultConfig = command {
        print!("{DEFAULT_CONFIG}");
        return Ok(());
    }
    if let Command::Demo { out } = &command {
        return demo(out);
    }
    let ctx = Context::load(cli.config.as_deref(), cli.db)?;
    init_logging(&ctx.settings);
    match command {
        // Handled above, before any configuration is read.
        Command::PrintDefaultConfig | Command::Demo { .. } => Ok(()),
        Command::CheckConfig => {
            match &ctx.config_file {
                Some(path) => println!("{}: configuration OK", path.display()),
                None => println!("{DEFAULT_PATH}: not found; the shipped defaults apply"),
            }
            let secrets = Secrets::load(&ctx.settings.secrets)?;
            let names: Vec<&str> = secrets.names().collect();
            if names.is_empty() {
                println!("secrets: none set");
            } else {
                println!("secrets set: {}", names.join(", "));
            }
            let channels = crate::alerts::channels::configured(&ctx.settings.alerts, &secrets)
                .map_err(|e| CliError::Input(e.to_string()))?;
            let channels: Vec<&str> = channels.iter().map(|c| c.channel()).collect();
            if channels.is_empty() {
                println!("alert channels: none enabled");
            } else {
                println!("alert channels: {}", channels.join(", "));
            }
            Ok(())
        }
        Command::Run => admin::run(&ctx),
        Command::Init {
            admin,
            passphrase_file,
        } => admin::init(&ctx, &admin, passphrase_file.as_deref()),
        Command::Users(cmd) => users::run(&ctx, cmd),
        Command::Unlock { auth } => admin::unlock(&ctx, &auth),
        Command::Passwd {
            auth,
            new_passphrase_file,
        } => admin::passwd(&ctx, &auth, new_passphrase_file.as_deref()),
        Command::Backup { path } => admin::backup(&ctx, &path),
        Command::Audit { limit, json } => admin::audit(&ctx, limit, json),
        Command::Devices(cmd) => devices::run(&ctx, cmd),
        Command::Alerts(cmd) => alerts::run(&ctx, cmd),
    }
}
