//! Administrator commands at a shell: set-up, unlocking the kiosk, passphrases, backup,
//! the audit log.

use std::path::Path;

use chrono::{Local, Utc};

use super::{AuthArgs, CliError, Context, secrets};
use crate::access::{AccessMachine, Clearer, Credential, Event};
use crate::config::Secrets;
use crate::store::{AdminSession, Store, StoreError};

/// Asks for the passphrase (or the recovery code) and opens an admin session. A wrong
/// one counts as a failed attempt of the kiosk, like one typed at the door: it is
/// audited and can start a lockout (the shell can still clear it).
pub(super) fn authenticate(
    ctx: &Context,
    store: &mut Store,
    auth: &AuthArgs,
) -> Result<AdminSession, CliError> {
    let (opened, via) = if auth.uses_recovery() {
        let code = secrets::recovery_code(auth.recovery_code_file.as_deref())?;
        (store.unlock_with_recovery(&code), Credential::RecoveryCode)
    } else {
        let admin = store.resolve_admin(auth.admin.as_deref())?;
        let prompt = "Administrator passphrase: ";
        let passphrase = secrets::passphrase(auth.passphrase_file.as_deref(), prompt)?;
        (store.unlock(admin, &passphrase), Credential::Passphrase)
    };
    match opened {
        Err(e @ (StoreError::WrongPassphrase | StoreError::WrongRecoveryCode)) => {
            let event = Event::AdminLoginFailed { via };
            store.apply_access_event(&ctx.settings.access, event, Utc::now())?;
            Err(e.into())
        }
        other => Ok(other?),
    }
}

pub(super) fn run(ctx: &Context) -> Result<(), CliError> {
    let secrets = Secrets::load(&ctx.settings.secrets)?;
    crate::app::run(ctx.settings.clone(), &ctx.db, &secrets)
        .map_err(|e| CliError::Unavailable(e.to_string()))
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

pub(super) fn unlock(ctx: &Context, auth: &AuthArgs) -> Result<(), CliError> {
    let mut store = ctx.open_initialized()?;
    let session = authenticate(ctx, &mut store, auth)?;
    let now = Utc::now();
    let policy = &ctx.settings.access;
    let before = store
        .access_snapshot()?
        .map(|snapshot| AccessMachine::restore(policy.clone(), snapshot, now));
    let (hard, remaining) = before.as_ref().map_or((false, None), |m| {
        (m.is_hard_locked(), m.lockout_remaining(now))
    });
    if !hard && remaining.is_none() {
        println!("No lockout is in force.");
        return Ok(());
    }
    let by = session
        .admin()
        .map_or(Clearer::RecoveryCode, Clearer::Admin);
    store.apply_access_event(policy, Event::ClearLockout { by }, now)?;
    if hard {
        println!("Hard lock cleared; the keypad accepts PINs again.");
    } else if let Some(left) = remaining {
        let left = left.as_secs();
        println!("Lockout cleared ({left}s were left); the keypad accepts PINs again.");
    }
    Ok(())
}

pub(super) fn passwd(
    ctx: &Context,
    auth: &AuthArgs,
    new_file: Option<&Path>,
) -> Result<(), CliError> {
    let mut store = ctx.open_initialized()?;
    let admin = store.resolve_admin(auth.admin.as_deref())?;
    let session = authenticate(ctx, &mut store, auth)?;
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
    // The check above gives a clear message; `backup` itself never replaces a file.
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
        let text = serde_json::to_string_pretty(&entries)
            .map_err(|e| CliError::Output(format!("cannot write JSON: {e}")))?;
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
