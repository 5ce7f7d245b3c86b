//! `doorguard users …`: enroll, list, show, disable, enable, delete, export and import
//! people. Every subcommand needs an administrator passphrase; export is the one way
//! personal details leave the kiosk in plaintext.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Local, Utc};
use clap::{Subcommand, ValueEnum};
use zeroize::Zeroizing;

use super::admin::authenticate;
use super::{AuthArgs, CliError, Context, secrets};
use crate::ids::PersonId;
use crate::person::{Field, FieldError, PersonDetails, check_photo};
use crate::store::{NewPerson, Person, Store, StoreError};
use crate::vault::{Pin, PinHash, PinHasher};

/// `users` subcommands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Enroll a person.
    Add {
        #[command(flatten)]
        auth: AuthArgs,
        /// Full name.
        #[arg(long)]
        name: String,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
        /// Phone number in international form, e.g. +4915112345678.
        #[arg(long)]
        phone: Option<String>,
        /// Free text.
        #[arg(long)]
        notes: Option<String>,
        /// Read the PIN (6-8 digits) from this file instead of asking twice.
        #[arg(long, value_name = "FILE")]
        pin_file: Option<PathBuf>,
        /// Read an optional duress PIN from this file (opens the door and raises a silent alert).
        #[arg(long, value_name = "FILE")]
        duress_pin_file: Option<PathBuf>,
        /// Enrollment photo (JPEG).
        #[arg(long, value_name = "JPEG")]
        photo: Option<PathBuf>,
    },
    /// List everyone enrolled, with their details.
    List {
        #[command(flatten)]
        auth: AuthArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one person.
    Show {
        #[command(flatten)]
        auth: AuthArgs,
        /// The person's id (see `users list`).
        id: i64,
        /// Write the enrollment photo to this file.
        #[arg(long, value_name = "FILE")]
        photo_out: Option<PathBuf>,
    },
    /// Disable a person: their PIN no longer opens the door.
    Disable {
        #[command(flatten)]
        auth: AuthArgs,
        /// The person's id.
        id: i64,
    },
    /// Enable a disabled person again.
    Enable {
        #[command(flatten)]
        auth: AuthArgs,
        /// The person's id.
        id: i64,
    },
    /// Delete a person, their PINs and photo.
    Delete {
        #[command(flatten)]
        auth: AuthArgs,
        /// The person's id.
        id: i64,
    },
    /// Export everyone's details in plaintext (CSV or JSON). PINs cannot be exported.
    Export {
        #[command(flatten)]
        auth: AuthArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// Write to this file (created readable by its owner only) instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Import people from CSV with the header `name,email,phone,notes,pin,duress_pin`.
    /// All rows or none: any bad row stops the import and is named with its field.
    Import {
        #[command(flatten)]
        auth: AuthArgs,
        /// The CSV file.
        file: PathBuf,
    },
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
}

pub(super) fn run(ctx: &Context, cmd: UsersCommand) -> Result<(), CliError> {
    let mut store = ctx.open_initialized()?;
    let now = Utc::now();
    match cmd {
        UsersCommand::Add {
            auth,
            name,
            email,
            phone,
            notes,
            pin_file,
            duress_pin_file,
            photo,
        } => {
            let details =
                PersonDetails::new(&name, email.as_deref(), phone.as_deref(), notes.as_deref())
                    .map_err(|errs| field_errors("", &errs))?;
            let photo = photo
                .map(|p| read_photo(&p))
                .transpose()?
                .map(Zeroizing::new);
            let session = authenticate(ctx, &mut store, &auth)?;
            let pin = secrets::new_pin(pin_file.as_deref(), "PIN (6-8 digits): ", "--pin-file")?;
            let duress = duress_pin_file
                .as_deref()
                .map(|f| secrets::new_pin(Some(f), "", "--duress-pin-file"))
                .transpose()?;
            let hasher = store.pin_hasher()?;
            let (pin, duress) = hash_pins(&hasher, &pin, duress.as_ref())?;
            let id = store.add_person(
                &session,
                &NewPerson {
                    details,
                    photo,
                    pin,
                    duress,
                },
                now,
            )?;
            println!("Enrolled {name:?} as {id}.");
        }
        UsersCommand::List { auth, json } => {
            let session = authenticate(ctx, &mut store, &auth)?;
            let (people, damaged) = split_damaged(store.people(&session)?);
            if json {
                println!("{}", to_json(&people)?.as_str());
            } else {
                print_table(&people);
            }
            damaged_rows(damaged)?;
        }
        UsersCommand::Show {
            auth,
            id,
            photo_out,
        } => {
            let session = authenticate(ctx, &mut store, &auth)?;
            let person = store.person(&session, PersonId(id))?;
            print_person(&person);
            if let Some(out) = photo_out {
                match store.photo(&session, person.id)? {
                    Some(jpeg) => {
                        write_private(&out, &jpeg)?;
                        println!("photo:    written to {}", out.display());
                    }
                    None => println!("photo:    none"),
                }
            }
        }
        UsersCommand::Disable { auth, id } => {
            set_enabled(ctx, &mut store, &auth, PersonId(id), false)?
        }
        UsersCommand::Enable { auth, id } => {
            set_enabled(ctx, &mut store, &auth, PersonId(id), true)?
        }
        UsersCommand::Delete { auth, id } => {
            let session = authenticate(ctx, &mut store, &auth)?;
            store.delete_person(&session, PersonId(id), now)?;
            println!("Deleted {}.", PersonId(id));
        }
        UsersCommand::Export { auth, format, out } => {
            let session = authenticate(ctx, &mut store, &auth)?;
            let (people, damaged) = split_damaged(store.people(&session)?);
            // Audited before any plaintext leaves the kiosk.
            store.audit(
                now,
                "people_exported",
                None,
                session.admin(),
                &count(people.len()),
            )?;
            let text = match format {
                Format::Csv => to_csv(&people)?,
                Format::Json => to_json(&people)?,
            };
            match out {
                Some(path) => {
                    write_private(&path, text.as_bytes())?;
                    eprintln!(
                        "Exported {} to {} (plaintext: keep it safe).",
                        count(people.len()),
                        path.display()
                    );
                }
                None => print!("{}", text.as_str()),
            }
            damaged_rows(damaged)?;
        }
        UsersCommand::Import { auth, file } => import(ctx, &mut store, &auth, &file)?,
    }
    Ok(())
}

fn set_enabled(
    ctx: &Context,
    store: &mut Store,
    auth: &AuthArgs,
    id: PersonId,
    enabled: bool,
) -> Result<(), CliError> {
    let session = authenticate(ctx, store, auth)?;
    store.set_enabled(&session, id, enabled, Utc::now())?;
    println!("{} {}.", if enabled { "Enabled" } else { "Disabled" }, id);
    Ok(())
}

/// Separates the people that opened from the rows that failed their integrity check.
fn split_damaged(rows: Vec<Result<Person, StoreError>>) -> (Vec<Person>, Vec<StoreError>) {
    let (ok, bad): (Vec<_>, Vec<_>) = rows.into_iter().partition(Result::is_ok);
    (
        ok.into_iter().flatten().collect(),
        bad.into_iter().filter_map(Result::err).collect(),
    )
}

/// After the good rows were shown: fails naming every damaged row, if any.
fn damaged_rows(damaged: Vec<StoreError>) -> Result<(), CliError> {
    if damaged.is_empty() {
        return Ok(());
    }
    let mut lines: Vec<String> = damaged.iter().map(ToString::to_string).collect();
    lines.push(format!(
        "{} could not be read; the others are shown",
        count(damaged.len())
    ));
    Err(CliError::Damaged(lines.join("\n")))
}

fn field_errors(place: &str, errs: &[FieldError]) -> CliError {
    let lines: Vec<String> = errs.iter().map(|e| format!("{place}{e}")).collect();
    CliError::Input(lines.join("\n"))
}

fn read_photo(path: &Path) -> Result<Vec<u8>, CliError> {
    let bytes = std::fs::read(path).map_err(CliError::io(path))?;
    check_photo(&bytes).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
    Ok(bytes)
}

fn hash_pins(
    hasher: &PinHasher,
    pin: &Pin,
    duress: Option<&Pin>,
) -> Result<(PinHash, Option<PinHash>), CliError> {
    if duress.is_some_and(|d| d.expose() == pin.expose()) {
        return Err(CliError::Input(
            "duress_pin: must differ from the PIN".into(),
        ));
    }
    let pin = hasher.hash(pin).map_err(StoreError::from)?;
    let duress = duress
        .map(|d| hasher.hash(d))
        .transpose()
        .map_err(StoreError::from)?;
    Ok((pin, duress))
}

/// Creates (or replaces) `path` readable by its owner only, then writes `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(CliError::io(path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(CliError::io(path))
}

fn print_table(people: &[Person]) {
    println!(
        "{:<6} {:<9} {:<28} {:<32} {:<17} EXTRAS",
        "ID", "STATUS", "NAME", "EMAIL", "PHONE"
    );
    for p in people {
        let d = &p.details;
        let mut extras = Vec::new();
        if p.has_duress {
            extras.push("duress PIN");
        }
        if p.has_photo {
            extras.push("photo");
        }
        println!(
            "{:<6} {:<9} {:<28} {:<32} {:<17} {}",
            p.id.0,
            if p.enabled { "enabled" } else { "disabled" },
            d.name,
            d.email.as_deref().unwrap_or("-"),
            d.phone.as_deref().unwrap_or("-"),
            extras.join(", ")
        );
    }
    println!("{}", count(people.len()));
}

fn print_person(p: &Person) {
    let d = &p.details;
    println!("id:       {}", p.id.0);
    println!("name:     {}", d.name);
    println!("email:    {}", d.email.as_deref().unwrap_or("-"));
    println!("phone:    {}", d.phone.as_deref().unwrap_or("-"));
    println!("notes:    {}", d.notes.as_deref().unwrap_or("-"));
    println!(
        "status:   {}",
        if p.enabled { "enabled" } else { "disabled" }
    );
    println!("duress:   {}", if p.has_duress { "set" } else { "not set" });
    println!(
        "enrolled: {}",
        p.created_at
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M %Z")
    );
    if !p.has_photo {
        println!("photo:    none");
    }
}

/// One person as exported (and as `users list --json` prints).
#[derive(serde::Serialize)]
struct ExportRow<'a> {
    id: i64,
    name: &'a str,
    email: &'a str,
    phone: &'a str,
    notes: &'a str,
    enabled: bool,
    duress_pin: bool,
    photo: bool,
    created_at: String,
}

fn export_rows(people: &[Person]) -> impl Iterator<Item = ExportRow<'_>> {
    people.iter().map(|p| ExportRow {
        id: p.id.0,
        name: &p.details.name,
        email: p.details.email.as_deref().unwrap_or(""),
        phone: p.details.phone.as_deref().unwrap_or(""),
        notes: p.details.notes.as_deref().unwrap_or(""),
        enabled: p.enabled,
        duress_pin: p.has_duress,
        photo: p.has_photo,
        created_at: p.created_at.to_rfc3339(),
    })
}

fn to_json(people: &[Person]) -> Result<Zeroizing<String>, CliError> {
    let rows: Vec<ExportRow<'_>> = export_rows(people).collect();
    serde_json::to_string_pretty(&rows)
        .map(|s| Zeroizing::new(s + "\n"))
        .map_err(|e| CliError::Output(format!("cannot write JSON: {e}")))
}

fn to_csv(people: &[Person]) -> Result<Zeroizing<String>, CliError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in export_rows(people) {
        writer
            .serialize(row)
            .map_err(|e| CliError::Output(format!("cannot write CSV: {e}")))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| CliError::Output(format!("cannot write CSV: {e}")))?;
    String::from_utf8(bytes)
        .map(Zeroizing::new)
        .map_err(|e| CliError::Output(format!("cannot write CSV: {e}")))
}

/// One CSV row, as typed.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportRow {
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    notes: String,
    pin: String,
    #[serde(default)]
    duress_pin: String,
}

impl Drop for ImportRow {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.name.zeroize();
        self.email.zeroize();
        self.phone.zeroize();
        self.notes.zeroize();
        self.pin.zeroize();
        self.duress_pin.zeroize();
    }
}

struct Checked {
    line: u64,
    details: PersonDetails,
    pin: Pin,
    duress: Option<Pin>,
}

/// Reads and checks every row; returns every problem at once, each with its line and
/// field.
fn read_import(file: &Path) -> Result<Vec<Checked>, CliError> {
    let text = Zeroizing::new(std::fs::read_to_string(file).map_err(CliError::io(file))?);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let headers = reader
        .headers()
        .map_err(|e| CliError::Input(format!("{}: {}", file.display(), csv_problem(&e))))?
        .clone();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(format!("{}:{line}: {}", file.display(), csv_problem(&e)));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let row: ImportRow = match record.deserialize(Some(&headers)) {
            Ok(row) => row,
            Err(e) => {
                problems.push(format!("{}:{line}: {}", file.display(), csv_problem(&e)));
                continue;
            }
        };
        let at = format!("{}:{line}: ", file.display());
        let details = PersonDetails::new(
            &row.name,
            Some(&row.email),
            Some(&row.phone),
            Some(&row.notes),
        );
        let pin = Pin::parse(&row.pin).map_err(|e| FieldError::new(Field::Pin, e.to_string()));
        let duress = match row.duress_pin.as_str() {
            "" => Ok(None),
            d => Pin::parse(d)
                .map(Some)
                .map_err(|e| FieldError::new(Field::DuressPin, e.to_string())),
        };
        match (details, pin, duress) {
            (Ok(details), Ok(pin), Ok(duress)) => {
                if duress.as_ref().is_some_and(|d| d.expose() == pin.expose()) {
                    problems.push(format!("{at}duress_pin: must differ from the PIN"));
                } else {
                    rows.push(Checked {
                        line,
                        details,
                        pin,
                        duress,
                    });
                }
            }
            (details, pin, duress) => {
                let mut errs = details.err().unwrap_or_default();
                errs.extend(pin.err());
                errs.extend(duress.err());
                problems.extend(errs.iter().map(|e| format!("{at}{e}")));
            }
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        problems.push(format!(
            "nothing was imported ({} problems)",
            problems.len()
        ));
        Err(CliError::Input(problems.join("\n")))
    }
}

/// Describes a CSV error without quoting the row's values.
fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(i) => format!("column {}: {}", i + 1, err.kind()),
            None => format!(
                "{}; the header must be name,email,phone,notes,pin,duress_pin",
                err.kind()
            ),
        },
        _ => "unreadable row".into(),
    }
}

fn import(ctx: &Context, store: &mut Store, auth: &AuthArgs, file: &Path) -> Result<(), CliError> {
    let rows = read_import(file)?;
    let session = authenticate(ctx, store, auth)?;
    let hasher = store.pin_hasher()?;
    let hashed = hash_rows(&hasher, &rows)?;
    let mut seen: HashMap<[u8; 32], u64> = HashMap::new();
    let mut problems = Vec::new();
    for (row, (pin, duress)) in rows.iter().zip(&hashed) {
        for (hash, field) in
            std::iter::once((pin, Field::Pin)).chain(duress.iter().map(|d| (d, Field::DuressPin)))
        {
            if let Some(first) = seen.insert(hash.0, row.line) {
                problems.push(format!(
                    "{}:{}: {field}: the same PIN as line {first}",
                    file.display(),
                    row.line
                ));
            }
        }
    }
    if !problems.is_empty() {
        problems.push("nothing was imported".into());
        return Err(CliError::Input(problems.join("\n")));
    }
    let people: Vec<NewPerson> = rows
        .iter()
        .zip(hashed)
        .map(|(row, (pin, duress))| NewPerson {
            details: row.details.clone(),
            photo: None,
            pin,
            duress,
        })
        .collect();
    match store.add_people(&session, &people, Utc::now()) {
        Ok(ids) => {
            println!("Imported {} from {}.", count(ids.len()), file.display());
            Ok(())
        }
        Err(StoreError::InBatch { index, source }) => {
            let line = rows.get(index).map_or(0, |r| r.line);
            let field = match *source {
                StoreError::PinTaken { duress: true } => "duress_pin: ",
                StoreError::PinTaken { duress: false } => "pin: ",
                _ => "",
            };
            Err(CliError::Input(format!(
                "{}:{line}: {field}{source}\nnothing was imported",
                file.display()
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// Hashes every row's PINs, spread over the machine's cores (Argon2id is the cost).
fn hash_rows(
    hasher: &PinHasher,
    rows: &[Checked],
) -> Result<Vec<(PinHash, Option<PinHash>)>, CliError> {
    let hash_one = |r: &Checked| -> Result<_, CliError> {
        let hash = |pin| hasher.hash(pin).map_err(|e| CliError::Store(e.into()));
        Ok((hash(&r.pin)?, r.duress.as_ref().map(hash).transpose()?))
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = rows.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().map(hash_one).collect::<Result<Vec<_>, _>>())
            })
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for handle in handles {
            let part = handle
                .join()
                .map_err(|_| CliError::Output("a PIN hashing thread failed".into()))??;
            out.extend(part);
        }
        Ok(out)
    })
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 person".into()
    } else {
        format!("{n} people")
    }
}
