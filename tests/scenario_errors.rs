//! Malformed scenarios and the messages querygate gives for them.
//!
//! Every `tests/data/scenarios/err/*.toml` (one case per file; its first line says what is
//! wrong) is loaded with `querygate::scenario::load` and its rendered error, `file:line:col:
//! message` with the source line and a caret, is compared with the snapshot
//! `tests/snapshots/scenario_errors__<file stem>.snap`. A new case needs only a new file: run
//! the tests, review the `.snap.new` it leaves (or `cargo insta review`), and rename it.
//!
//! Cases whose error needs a server (SQL that fails in the seed or the migration, a claim naming
//! an index the plans do not have) are tested against a real PostgreSQL elsewhere and listed in
//! `NEEDS_SERVER`.

use std::path::{Path, PathBuf};

const DIR: &str = "tests/data/scenarios/err";

/// Scenarios in the folder that load without error: their problem shows only on a server.
const NEEDS_SERVER: &[&str] = &[
    "seed_error",
    "migration_runtime_error",
    "param_out_of_range",
    "server_setting_invalid",
];

/// The cases, as paths relative to the package root (cargo runs tests there), so that the
/// paths inside messages are the same on every machine.
fn cases() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(DIR)
        .unwrap_or_else(|e| panic!("cannot read {DIR}: {e}"))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| Path::new(DIR).join(p.file_name().unwrap()))
        .collect();
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_malformed_scenario_has_its_located_message() {
    let cases = cases();
    assert!(cases.len() >= 30, "only {} cases in {DIR}", cases.len());
    let mut problems = Vec::new();
    for path in cases {
        let name = stem(&path);
        let result = querygate::scenario::load(&path, None);
        if NEEDS_SERVER.contains(&name.as_str()) {
            if let Err(e) = result {
                problems.push(format!("{name} should fail only on a server, got:\n{e}"));
            }
            continue;
        }
        let err = match result {
            Ok(_) => {
                problems.push(format!("{name}: loaded without error"));
                continue;
            }
            Err(e) => e,
        };
        if let Err(why) = check_location(&path, &err) {
            problems.push(format!("{name}: {why}\n{err}"));
        }
        insta::assert_snapshot!(name, err.to_string());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The error is located in the scenario file itself, on a real line and column, and not on
/// the comment that opens every case.
fn check_location(path: &Path, err: &querygate::error::Located) -> Result<(), String> {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    if err.file != path {
        return Err(format!("located in {}", err.file.display()));
    }
    let lines: Vec<&str> = text.split('\n').collect();
    if err.line < 2 || err.line > lines.len() {
        return Err(format!(
            "line {} is the opening comment or outside the file",
            err.line
        ));
    }
    let line = lines[err.line - 1];
    if err.column < 1 || err.column > line.chars().count() + 1 {
        return Err(format!("column {} outside line {}", err.column, err.line));
    }
    if err.source_line.as_deref() != Some(line.trim_end_matches('\r')) {
        return Err(format!(
            "source line {:?} is not line {}",
            err.source_line, err.line
        ));
    }
    Ok(())
}

/// Every snapshot belongs to a case that still exists.
#[test]
fn no_orphan_snapshots() {
    let names: Vec<String> = cases().iter().map(|p| stem(p)).collect();
    for e in std::fs::read_dir("tests/snapshots").unwrap().flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        if let Some(case) = file
            .strip_prefix("scenario_errors__")
            .and_then(|f| f.strip_suffix(".snap"))
        {
            assert!(
                names.iter().any(|n| n == case),
                "snapshot {file} has no case in {DIR}"
            );
        }
    }
}

/// The binary reports the same message and exits 2 (a scenario error), via `check`.
#[test]
fn check_exits_2_with_the_located_message() {
    let path = Path::new(DIR).join("generator_bad_range.toml");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_querygate"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["check", path.to_str().unwrap()])
        .output()
        .expect("querygate runs");
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let expected = querygate::scenario::load(&path, None).unwrap_err();
    assert!(
        stderr.contains(&expected.to_string()),
        "stderr:\n{stderr}\nexpected:\n{expected}"
    );
}

/// `scale = 1e5` (a TOML float with a whole value, as the docs write it) is a scale.
#[test]
fn scale_as_a_whole_toml_float_is_accepted() {
    let text =
        "name = \"x\"\n[data]\nscale = 1e5\n[[operation]]\nname = \"q\"\nsql = \"SELECT 1\"\n";
    let s = querygate::scenario::parse(
        Path::new("x.toml"),
        text,
        None,
        &querygate::scenario::FsReader,
    )
    .expect("1e5 is a scale");
    assert_eq!(s.scale, 100_000);
    assert_eq!(s.vars["scale"], querygate::scenario::Value::Int(100_000));
}

/// Every scenario the repository ships passes `querygate check` (and names itself in the
/// output): a scenario file that no other test loads must still be valid.
#[test]
fn every_shipped_scenario_checks() {
    let mut files: Vec<PathBuf> = std::fs::read_dir("scenarios")
        .expect("scenarios/")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "scenarios/ holds {files:?}");
    for f in files {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_querygate"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["check", f.to_str().unwrap()])
            .output()
            .expect("querygate runs");
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {stdout}{}",
            f.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(stdout.contains(&format!("ok: {}", f.display())), "{stdout}");
    }
}
