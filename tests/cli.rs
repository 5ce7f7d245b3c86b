//! The administrator's command line, driven through the real binary with real SQLite
//! files and the production Argon2id parameters.

mod common;

use common::{Kiosk, PASSPHRASE, file_contains, recovery_code_in, stderr, stdout};

fn add_zelda(k: &Kiosk) {
    let pin = k.file("zelda.pin", "482913\n");
    k.ok(&[
        "users",
        "add",
        "--name",
        "Zelda Quux",
        "--email",
        "zelda.quux@example.org",
        "--phone",
        "+4915112345678",
        "--notes",
        "night shift",
        "--pin-file",
        pin.to_str().unwrap(),
        "--passphrase-file",
        k.passphrase_arg(),
    ]);
}

#[test]
fn details_are_encrypted_at_rest_and_readable_with_the_passphrase() {
    let (k, code) = Kiosk::initialized();
    assert_eq!(code.len(), 29, "recovery code shown grouped: {code}");

    // Keep a connection open so SQLite does not checkpoint and delete the WAL: the test
    // then sees the WAL as it was written.
    let reader = rusqlite::Connection::open(&k.db).unwrap();
    let _: i64 = reader
        .query_row("SELECT count(*) FROM people", [], |r| r.get(0))
        .unwrap();
    add_zelda(&k);
    let wal = k.db.with_extension("db-wal");
    assert!(wal.exists(), "the WAL is kept while a reader is open");
    for secret in [
        "Zelda",
        "Quux",
        "zelda.quux@example.org",
        "4915112345678",
        "night shift",
    ] {
        assert!(
            !file_contains(&k.db, secret),
            "{secret:?} found in the database file"
        );
        assert!(!file_contains(&wal, secret), "{secret:?} found in the WAL");
    }
    drop(reader);
    for secret in ["Zelda", "Quux", "zelda.quux@example.org", "4915112345678"] {
        assert!(
            !file_contains(&k.db, secret),
            "{secret:?} found in the database file after checkpoint"
        );
    }

    let out = k.ok(&["users", "list", "--passphrase-file", k.passphrase_arg()]);
    let text = stdout(&out);
    assert!(text.contains("Zelda Quux"), "{text}");
    assert!(text.contains("zelda.quux@example.org"), "{text}");
    assert!(text.contains("+4915112345678"), "{text}");

    let wrong = k.file("wrong", "not the passphrase\n");
    let out = k.run(&[
        "users",
        "list",
        "--passphrase-file",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("wrong passphrase"),
        "{}",
        stderr(&out)
    );
    assert!(!stdout(&out).contains("Zelda"));
}

#[test]
fn global_options_work_before_and_after_the_subcommand() {
    let (k, _) = Kiosk::initialized();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_doorguard"))
        .arg("--db")
        .arg(&k.db)
        .arg("--config")
        .arg(k.config_path())
        .args(["audit", "--limit", "5"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("setup"), "{}", stdout(&out));
}

#[test]
fn passwd_rewraps_without_reencrypting_and_the_recovery_code_resets_it() {
    let (k, code) = Kiosk::initialized();
    add_zelda(&k);
    let sealed_before = sealed_columns(&k);

    let new = k.file("new", "a much better passphrase\n");
    k.ok(&[
        "passwd",
        "--passphrase-file",
        k.passphrase_arg(),
        "--new-passphrase-file",
        new.to_str().unwrap(),
    ]);
    assert_eq!(
        sealed_columns(&k),
        sealed_before,
        "passwd must not re-encrypt personal details"
    );

    let out = k.ok(&["users", "list", "--passphrase-file", new.to_str().unwrap()]);
    assert!(stdout(&out).contains("Zelda Quux"));
    let out = k.run(&["users", "list", "--passphrase-file", k.passphrase_arg()]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the old passphrase must be refused"
    );

    // Forgotten passphrase: the recovery code resets it.
    let code_file = k.file("code", &format!("{}\n", code.to_lowercase()));
    let reset = k.file("reset", "reset by recovery code\n");
    k.ok(&[
        "passwd",
        "--recovery-code-file",
        code_file.to_str().unwrap(),
        "--new-passphrase-file",
        reset.to_str().unwrap(),
    ]);
    let out = k.ok(&[
        "users",
        "list",
        "--passphrase-file",
        reset.to_str().unwrap(),
    ]);
    assert!(stdout(&out).contains("Zelda Quux"));
    assert_eq!(sealed_columns(&k), sealed_before);

    let bad_code = k.file("bad-code", "0000-0000-0000-0000-0000-0000\n");
    let out = k.run(&[
        "passwd",
        "--recovery-code-file",
        bad_code.to_str().unwrap(),
        "--new-passphrase-file",
        reset.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("wrong recovery code"));
}

/// Every sealed column of every person, hex-encoded, one string per row.
fn sealed_columns(k: &Kiosk) -> Vec<String> {
    let conn = rusqlite::Connection::open(&k.db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT id || ':' || hex(name) || ':' || ifnull(hex(email), '') || ':' || ifnull(hex(phone), '')
                    || ':' || ifnull(hex(notes), '') || ':' || ifnull(hex(photo), '')
             FROM people ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn tampered_or_swapped_details_give_an_integrity_error_naming_the_row() {
    let (k, _) = Kiosk::initialized();
    add_zelda(&k);
    let pin = k.file("bob.pin", "110022\n");
    k.ok(&[
        "users",
        "add",
        "--name",
        "Bob Stone",
        "--email",
        "bob@example.org",
        "--pin-file",
        pin.to_str().unwrap(),
        "--passphrase-file",
        k.passphrase_arg(),
    ]);

    let conn = rusqlite::Connection::open(&k.db).unwrap();
    // Copy person 1's sealed e-mail onto person 2.
    conn.execute(
        "UPDATE people SET email = (SELECT email FROM people WHERE id = 1) WHERE id = 2",
        [],
    )
    .unwrap();
    let out = k.run(&["users", "list", "--passphrase-file", k.passphrase_arg()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("person 2") && err.contains("email") && err.contains("integrity"),
        "{err}"
    );
    let shown = stdout(&out);
    assert!(
        shown.contains("Zelda Quux"),
        "the intact row is still shown: {shown}"
    );
    assert!(
        !shown.contains("Bob Stone") && shown.matches("zelda.quux").count() == 1,
        "the damaged row is not shown, with or without the foreign e-mail: {shown}"
    );

    // Restore it, then flip one byte of person 1's name.
    conn.execute("UPDATE people SET email = NULL WHERE id = 2", [])
        .unwrap();
    let mut name: Vec<u8> = conn
        .query_row("SELECT name FROM people WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    let last = name.len() - 1;
    name[last] ^= 0x40;
    conn.execute("UPDATE people SET name = ?1 WHERE id = 1", [name])
        .unwrap();
    let out = k.run(&[
        "users",
        "show",
        "1",
        "--passphrase-file",
        k.passphrase_arg(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("person 1") && err.contains("name") && err.contains("integrity"),
        "{err}"
    );
    assert_eq!(stdout(&out), "", "nothing of the damaged row is printed");
}

#[test]
fn people_can_be_disabled_enabled_deleted_and_exported() {
    let (k, _) = Kiosk::initialized();
    add_zelda(&k);
    let pass = ["--passphrase-file", k.passphrase_arg()];
    k.ok(&[&["users", "disable", "1"][..], &pass].concat());
    assert!(stdout(&k.ok(&[&["users", "list"][..], &pass].concat())).contains("disabled"));
    k.ok(&[&["users", "enable", "1"][..], &pass].concat());

    let csv = k.path("people.csv");
    k.ok(&[
        &[
            "users",
            "export",
            "--format",
            "csv",
            "--out",
            csv.to_str().unwrap(),
        ][..],
        &pass,
    ]
    .concat());
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with("id,name,email,phone,notes,enabled"),
        "{text}"
    );
    assert!(
        text.contains("Zelda Quux,zelda.quux@example.org,+4915112345678,night shift,true"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&csv).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let json = stdout(&k.ok(&[&["users", "export", "--format", "json"][..], &pass].concat()));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["name"], "Zelda Quux");
    assert_eq!(v[0]["phone"], "+4915112345678");

    k.ok(&[&["users", "delete", "1"][..], &pass].concat());
    assert!(stdout(&k.ok(&[&["users", "list"][..], &pass].concat())).contains("0 people"));
    let audit = stdout(&k.ok(&["audit"]));
    for kind in [
        "person_added",
        "person_disabled",
        "person_enabled",
        "people_exported",
        "person_deleted",
    ] {
        assert!(audit.contains(kind), "audit lacks {kind}: {audit}");
    }
    assert!(
        !audit.contains("Zelda"),
        "the audit log names people by id only"
    );
}

#[test]
fn a_pin_is_unique_on_the_kiosk() {
    let (k, _) = Kiosk::initialized();
    add_zelda(&k);
    let same = k.file("same.pin", "482913\n");
    let out = k.run(&[
        "users",
        "add",
        "--name",
        "Copy Cat",
        "--pin-file",
        same.to_str().unwrap(),
        "--passphrase-file",
        k.passphrase_arg(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("PIN is already in use"),
        "{}",
        stderr(&out)
    );
    let short = k.file("short.pin", "123\n");
    let out = k.run(&[
        "users",
        "add",
        "--name",
        "Short Pin",
        "--pin-file",
        short.to_str().unwrap(),
        "--passphrase-file",
        k.passphrase_arg(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("6 to 8 digits"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("123\n"));
}

#[test]
fn csv_import_is_all_or_nothing_and_names_the_bad_row_and_field() {
    let (k, _) = Kiosk::initialized();
    let good = k.file(
        "good.csv",
        "name,email,phone,notes,pin,duress_pin\nAda Lovelace,ada@example.org,+441234567890,,271828,\nAlan Turing,,,,314159,999111\n",
    );
    let bad = k.file(
        "bad.csv",
        "name,email,phone,notes,pin,duress_pin\nGrace Hopper,grace@example.org,,,161803,\nKatherine Johnson,katherine-at-example,,,141421,\n",
    );
    let out = k.run(&[
        "users",
        "import",
        bad.to_str().unwrap(),
        "--passphrase-file",
        k.passphrase_arg(),
    ]);
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("bad.csv:3: email"),
        "names the row (line 3) and the field: {err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(
        !err.contains("katherine-at-example"),
        "the message does not echo personal data: {err}"
    );

    k.ok(&[
        "users",
        "import",
        good.to_str().unwrap(),
        "--passphrase-file",
        k.passphrase_arg(),
    ]);
    let list = stdout(&k.ok(&["users", "list", "--passphrase-file", k.passphrase_arg()]));
    assert!(
        list.contains("Ada Lovelace") && list.contains("Alan Turing"),
        "{list}"
    );
    assert!(
        !list.contains("Grace Hopper"),
        "nothing of the bad file was imported: {list}"
    );

    // A PIN already in use: named with its line, nothing imported.
    let dup = k.file(
        "dup.csv",
        "name,email,phone,notes,pin,duress_pin\nNew Person,,,,555666,\nSecond Ada,,,,271828,\n",
    );
    let out = k.run(&[
        "users",
        "import",
        dup.to_str().unwrap(),
        "--passphrase-file",
        k.passphrase_arg(),
    ]);
    let err = stderr(&out);
    assert!(err.contains("dup.csv:3: pin"), "{err}");
    let list = stdout(&k.ok(&["users", "list", "--passphrase-file", k.passphrase_arg()]));
    assert!(!list.contains("New Person"), "{list}");
}

#[test]
fn backup_is_a_working_copy() {
    let (k, _) = Kiosk::initialized();
    add_zelda(&k);
    let copy = k.path("backup.db");
    k.ok(&["backup", copy.to_str().unwrap()]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_doorguard"))
        .args([
            "users",
            "list",
            "--passphrase-file",
            k.passphrase_arg(),
            "--db",
            copy.to_str().unwrap(),
        ])
        .arg("--config")
        .arg(k.config_path())
        .output()
        .unwrap();
    assert!(stdout(&out).contains("Zelda Quux"), "{}", stderr(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the backup holds wrapped keys: owner only"
        );
    }
    let again = k.run(&["backup", copy.to_str().unwrap()]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing backup is never overwritten"
    );
}

#[test]
fn init_refuses_a_second_time_and_commands_need_init() {
    let k = Kiosk::new();
    let out = k.run(&["users", "list", "--passphrase-file", k.passphrase_arg()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("doorguard init"), "{}", stderr(&out));
    k.ok(&[
        "init",
        "--admin",
        "alice",
        "--passphrase-file",
        k.passphrase_arg(),
    ]);
    let out = k.run(&[
        "init",
        "--admin",
        "bob",
        "--passphrase-file",
        k.passphrase_arg(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already set up"));
    let short = k.file("short", "short\n");
    let k2 = Kiosk::new();
    let out = k2.run(&[
        "init",
        "--admin",
        "alice",
        "--passphrase-file",
        short.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("8 to 64 characters"),
        "{}",
        stderr(&out)
    );
    assert!(recovery_code_in(&stdout(&out)).is_none());
    let _ = PASSPHRASE;
}
