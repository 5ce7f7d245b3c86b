//! Administrator commands at a shell: set-up, unlocking the kiosk, passphrases, backup,
//! the audit log.

use std::path::Path;

use chrono::{Local, Utc};

use super::{AuthArgs, CliError, Context, secrets};
use crate::access::{AccessMachine, Clearer, Event};
use crate::store::{AdminSession, Store, StoreError};

/// Asks for the passphrase and opens an admin session. A wrong passphrase is written to
/// the audit log before the refusal.
pub(super) fn authenticate(store: &mut Store, auth: &AuthArgs) -> Result<AdminSession, CliError> {
    let admin = store.resolve_admin(auth.admin.as_deref())?;
    let passphrase = secrets::passphrase(
        auth.passphrase_file.as_deref(),
        "Administrator passphrase: ",
    )?;
    match store.unlock(admin, &passphrase) {
        Err(StoreError::WrongPassphrase) => {
            store.audit(
                Utc::now(),
                "cli_login_failed",
                None,
                Some(admin),
                "wrong passphrase at the command line",
            )?;
            Err(StoreError::WrongPassphrase.into())
        }
        other => Ok(other?),
    }
}

fn authenticate_with_recovery(
    store: &mut Store,
    file: Option<&Path>,
) -> Result<AdminSession, CliError> {
    let code = secrets::recovery_code(file)?;
    match store.unlock_with_recovery(&code) {
        Err(StoreError::WrongRecoveryCode) => {
            store.audit(
                Utc::now(),
                "cli_recovery_failed",
                None,
                None,
                "wrong recovery code at the command line",
            )?;
            Err(StoreError::WrongRecoveryCode.into())
        }
        other => Ok(other?),
    }
}

pub(super) fn run_placeholder(ctx: &Context) -> Result<(), CliError> {
    let store = ctx.open_store()?;
    let people = if store.is_initialized()? {
        store.people_count()?
    } else {
        0
    };
    eprintln!(
        "doorguard {}: database {} ({people} people enrolled)",
        env!("CARGO_PKG_VERSION"),
        ctx.db.display()
    );
    Err(CliError::NotYet(
        "the kiosk screen is not built yet; use the administration commands (see --help)",
    ))
}

pub(super) fn init(
    ctx: &Context,
    admin: &str,
    passphrase_file: Option<&Path>,
) -> Result<(), CliError> {
    let mut store = ctx.open_store()?;
    if store.is_initialized()? {
        return Err(StoreError::AlreadyInitialized.into());
    }
    let passphrase = secrets::new_passphrase(passphrase_file, "--passphrase-file")?;
    let (_, code) = store.initialize(admin, &passphrase, ctx.settings.security.kdf, Utc::now())?;
    println!(
        "Kiosk set up in {} with administrator {admin:?}.",
        ctx.db.display()
    );
    println!();
    println!("Recovery code (shown this once; write it down and keep it away from the kiosk):");
    println!();
    println!("    {}", code.display_grouped().as_str());
    println!();
    println!(
        "It clears a hard lock and resets a forgotten passphrase: `doorguard unlock --recovery`,"
    );
    println!("`doorguard passwd --recovery`.");
    Ok(())
}

pub(super) fn unlock(
    ctx: &Context,
    auth: &AuthArgs,
    recovery_file: Option<&Path>,
    recovery: bool,
) -> Result<(), CliError> {
    let mut store = ctx.open_initialized()?;
    let session = if recovery || recovery_file.is_some() {
        authenticate_with_recovery(&mut store, recovery_file)?
    } else {
        authenticate(&mut store, auth)?
    };
    let now = Utc::now();
    let Some(snapshot) = store.access_snapshot()? else {
        println!("No lockout is in force.");
        return Ok(());
    };
    let mut machine = AccessMachine::restore(ctx.settings.access.clone(), snapshot, now);
    let was_hard = machine.is_hard_locked();
    let remaining = machine.lockout_remaining(now);
    if !was_hard && remaining.is_none() {
        println!("No lockout is in force.");
        return Ok(());
    }
    let by = session
        .admin()
        .map_or(Clearer::RecoveryCode, Clearer::Admin);
    let commands = machine.handle(Event::ClearLockout { by }, now);
    store.record_access_outcome(&machine, &commands, now)?;
    match (was_hard, remaining) {
        (true, _) => println!("Hard lock cleared; the keypad accepts PINs again."),
        (false, Some(left)) => println!(
            "Lockout cleared ({}s were left); the keypad accepts PINs again.",
            left.as_secs()
        ),
        (false, None) => {}
    }
    Ok(())
}

pub(super) fn passwd(
    ctx: &Context,
    auth: &AuthArgs,
    new_file: Option<&Path>,
    recovery_file: Option<&Path>,
    recovery: bool,
) -> Result<(), CliError> {
    let mut store = ctx.open_initialized()?;
    let admin = store.resolve_admin(auth.admin.as_deref())?;
    let session = if recovery || recovery_file.is_some() {
        authenticate_with_recovery(&mut store, recovery_file)?
    } else {
        authenticate(&mut store, auth)?
    };
    let new = secrets::new_passphrase(new_file, "--new-passphrase-file")?;
    store.change_passphrase(&session, admin, &new, ctx.settings.security.kdf, Utc::now())?;
    println!("Passphrase changed. The old one no longer opens the kiosk.");
    Ok(())
}

pub(super) fn backup(ctx: &Context, dest: &Path) -> Result<(), CliError> {
    let store = ctx.open_initialized()?;
    if dest.exists() {
        return Err(CliError::Input(format!(
            "{} exists already; choose a new name",
            dest.display()
        )));
    }
    store.backup(dest)?;
    println!(
        "Backup written to {} (personal details stay encrypted in it).",
        dest.display()
    );
    Ok(())
}

pub(super) fn audit(ctx: &Context, limit: usize, json: bool) -> Result<(), CliError> {
    let store = ctx.open_initialized()?;
    let entries = store.recent_audit(limit)?;
    if json {
        let text =
            serde_json::to_string_pretty(&entries).map_err(|e| CliError::Input(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    println!(
        "{:<26} {:<22} {:<10} {:<7} DETAIL",
        "TIME", "EVENT", "PERSON", "ADMIN"
    );
    for e in entries {
        let person = e.person.map(|p| p.0.to_string()).unwrap_or_default();
        let admin = e.admin.map(|a| a.0.to_string()).unwrap_or_default();
        let at = e.at.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S %Z");
        println!(
            "{at:<26} {:<22} {person:<10} {admin:<7} {}",
            e.kind, e.detail
        );
    }
    Ok(())
}
