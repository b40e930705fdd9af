//! Fuzzing on stable Rust: property tests over everything querygate reads from users.
//!
//! No input may panic querygate (issue 6). Each target feeds one reader random and mutated
//! input and checks that it returns either a value or an error located inside the text:
//!
//! | target | reader | inputs |
//! |---|---|---|
//! | `scenario_random_toml` | `scenario::parse` | documents with the shape of a scenario: its tables and keys, values mostly of the right type |
//! | `scenario_mutations` | `scenario::parse` | the real scenarios with bit flips, truncations, inserted unicode, spliced ranges, swapped numbers |
//! | `scenario_arbitrary_text` | `scenario::parse` | arbitrary unicode text |
//! | `expr_compile_and_eval` | `expr::compile`, `Expr::eval` | generator expressions from the grammar (edge bounds, NaN and infinite parameters, deep nesting) and garbage; every generator's value must lie in its range |
//! | `claim_parse` | `claim::parse` | claim sentences from the grammar, and garbage |
//! | `sql_helpers` | `max_placeholder`, `seed::substitute`, `Located::at` | SQL-ish text, any offset |
//! | `report_random_json` | `report::write::parse_report` | random JSON built from the results file's keys |
//! | `report_mutations` | `report::write::parse_report` | a real results file, mutated as JSON and as bytes |
//!
//! Cases per target: `QUERYGATE_FUZZ_CASES` (default 512: a few seconds in all). A long run:
//! `QUERYGATE_FUZZ_CASES=150000 cargo test --release --test fuzz_inputs` (8 targets, 1.2
//! million cases, about 7 minutes on 2 cores). A watchdog ends the run and prints the input when
//! one input takes longer than `QUERYGATE_FUZZ_HANG_SECS` (default 20). With
//! `QUERYGATE_FUZZ_RENDER=1` every report that parses is also rendered (table, Markdown, HTML,
//! JUnit); with `QUERYGATE_FUZZ_RENDER=gate` it is also compared with itself by the gate.
//!
//! Every input a run found to panic or hang is kept under `tests/data/fuzz/<target>/` (one
//! scenario per file; expressions and claims one per line) and replayed by the `regressions_*`
//! tests; add a file there when fixing a new finding. `generator_reach` (ignored) shows how deep
//! the scenario generators get.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::Config;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use querygate::error::Located;
use querygate::scenario::{self, claim, expr, Expr, FileReader, Params, Value};

// ---------------------------------------------------------------------------------------------
// Configuration

fn cases() -> u32 {
    std::env::var("QUERYGATE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(512)
}

fn config() -> Config {
    Config {
        cases: cases(),
        // Findings are kept by hand as files under tests/data/fuzz/, not in proptest's folder.
        failure_persistence: None,
        max_shrink_iters: 10_000,
        ..Config::default()
    }
}

/// The scenario's path as `parse` sees it: inside the error folder, so that a fuzzed
/// `[migration] dir = "migrations"` finds a real migrations folder.
const SCENARIO_PATH: &str = "tests/data/scenarios/err/fuzz.toml";

fn data(rel: &str) -> String {
    std::fs::read_to_string(rel).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

fn seed_texts() -> Vec<String> {
    vec![
        data("scenarios/focus_sessions.toml"),
        data("tests/data/scenarios/ok/tiny.toml"),
        data("tests/data/scenarios/err/migration_dir_missing_version.toml"),
        data("tests/data/scenarios/err/params_too_few.toml"),
    ]
}

// ---------------------------------------------------------------------------------------------
// Hangs: a watchdog, since a test that loops for ever reports nothing

/// The input each test thread is working on, and since when.
static CURRENT: Mutex<BTreeMap<String, (Instant, String)>> = Mutex::new(BTreeMap::new());

/// Records `input` as the current input of this thread until the guard is dropped; a watchdog
/// thread ends the process, printing the input, when one thread keeps the same input for
/// `QUERYGATE_FUZZ_HANG_SECS` (default 20) seconds.
#[must_use]
fn working_on(input: &dyn std::fmt::Debug) -> Working {
    static WATCHDOG: OnceLock<()> = OnceLock::new();
    WATCHDOG.get_or_init(|| {
        let limit = Duration::from_secs(
            std::env::var("QUERYGATE_FUZZ_HANG_SECS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(20),
        );
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            let current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
            for (thread, (since, input)) in current.iter() {
                if since.elapsed() > limit {
                    // Past libtest's output capture, which would swallow eprintln! here.
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "no result after {limit:?} ({thread:?}) for {input}"
                    );
                    std::process::exit(3);
                }
            }
        });
    });
    let thread = format!("{:?}", std::thread::current().id());
    let name = std::thread::current().name().unwrap_or("?").to_string();
    let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
    current.insert(
        thread.clone(),
        (Instant::now(), format!("{name}: {input:?}")),
    );
    Working(thread)
}

struct Working(String);

impl Drop for Working {
    fn drop(&mut self) {
        let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
        current.remove(&self.0);
    }
}

// ---------------------------------------------------------------------------------------------
// Properties

/// An error must point at a real line and column of `text`, and render.
fn assert_located(path: &Path, text: &str, e: &Located) {
    assert_eq!(e.file, path, "{e}");
    assert!(!e.message.trim().is_empty(), "empty message: {e:?}");
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(
        e.line >= 1 && e.line <= lines.len(),
        "line {} outside the text ({} lines): {e:?}",
        e.line,
        lines.len()
    );
    let line = lines[e.line - 1];
    assert!(
        e.column >= 1 && e.column <= line.chars().count() + 1,
        "column {} outside line {} ({:?}): {e:?}",
        e.column,
        e.line,
        line
    );
    assert_eq!(
        e.source_line.as_deref(),
        Some(line.trim_end_matches('\r')),
        "{e:?}"
    );
    let _ = e.to_string();
}

/// What the pipeline does with a loaded scenario that needs no server, done once here.
fn exercise(path: &Path, s: &scenario::Scenario) {
    let text = &s.text;
    let mut rng = ChaCha8Rng::seed_from_u64(s.run.seed);
    for op in &s.operations {
        assert!(op.span.start <= text.len() && op.span.end <= text.len());
        for st in op.before.statements.iter().chain(&op.after.statements) {
            assert!(st.span.start <= text.len(), "statement span {:?}", st.span);
            assert_located(path, text, &Located::at(path, text, st.span.start + 1, "x"));
            assert_located(path, text, &Located::at(path, text, st.span.end, "x"));
        }
        for c in &op.claims {
            let _ = c.claim.to_string();
            assert_located(path, text, &Located::at(path, text, c.span.start, "x"));
        }
        match &op.params {
            Params::Generated(exprs) => {
                for e in exprs {
                    check_eval(e, &mut rng, 4);
                }
            }
            Params::Sample { span, .. } => {
                assert_located(path, text, &Located::at(path, text, span.start, "x"))
            }
            Params::None => {}
        }
    }
}

/// Files from memory (the closure), folders from the file system (as `load` reads them).
struct Files<F>(F);

impl<F: Fn(&Path) -> Result<String, String>> FileReader for Files<F> {
    fn read(&self, path: &Path) -> Result<String, String> {
        (self.0)(path)
    }

    fn list(&self, path: &Path) -> Result<Vec<String>, String> {
        scenario::FsReader.list(path)
    }
}

fn check_scenario(text: &str, scale: Option<i64>) {
    let _working = working_on(&text);
    let path = Path::new(SCENARIO_PATH);
    // Files the scenario names come from memory; names with "missing" do not exist.
    let reader = |p: &Path| -> Result<String, String> {
        if p.to_string_lossy().contains("missing") {
            Err("No such file or directory (os error 2)".into())
        } else {
            Ok("SELECT 1;\n".into())
        }
    };
    match scenario::parse(path, text, scale, &Files(reader)) {
        Ok(s) => exercise(path, &s),
        Err(e) => assert_located(path, text, &e),
    }
}

/// Evaluates `e` a few times: no panic, and a generator stays within its bounds.
fn check_eval(e: &Expr, rng: &mut ChaCha8Rng, times: usize) {
    for _ in 0..times {
        let v = e.eval(rng);
        if let Expr::Random { lo, hi, .. } = e {
            match v {
                Value::Int(i) => assert!(*lo <= i && i <= *hi, "{e:?} gave {i}"),
                other => panic!("{e:?} gave {other:?}"),
            }
        }
    }
}

fn expr_vars() -> BTreeMap<String, Value> {
    BTreeMap::from([
        ("scale".to_string(), Value::Int(100_000)),
        ("seed".to_string(), Value::Int(42)),
        ("users".to_string(), Value::Int(1000)),
        ("zero".to_string(), Value::Int(0)),
        ("big".to_string(), Value::Int(i64::MAX)),
        ("small".to_string(), Value::Int(i64::MIN)),
        ("half".to_string(), Value::Float(0.5)),
        ("huge".to_string(), Value::Float(1e300)),
        ("inf".to_string(), Value::Float(f64::INFINITY)),
        ("nan".to_string(), Value::Float(f64::NAN)),
        ("word".to_string(), Value::Text("é'x".to_string())),
        ("nothing".to_string(), Value::Null),
    ])
}

fn check_expr(text: &str, seed: u64) {
    let _working = working_on(&text);
    let vars = expr_vars();
    match expr::compile(text, &vars) {
        Ok(e) => check_eval(&e, &mut ChaCha8Rng::seed_from_u64(seed), 16),
        Err(err) => {
            assert!(err.offset <= text.len(), "{err:?} for {text:?}");
            assert!(
                text.is_char_boundary(err.offset),
                "{err:?} inside a character of {text:?}"
            );
            assert!(!err.message.is_empty());
        }
    }
    if let Err(err) = expr::eval_const(text, &vars) {
        assert!(err.offset <= text.len() && text.is_char_boundary(err.offset));
    }
}

fn check_claim(text: &str) {
    let _working = working_on(&text);
    match claim::parse(text) {
        Ok(c) => {
            let _ = c.to_string();
        }
        Err(e) => assert!(e.contains("expected one of"), "{e}"),
    }
}

/// The small text helpers that run on user SQL: placeholders, seed variables, error offsets.
fn check_sql(sql: &str, offset: usize) {
    let _working = working_on(&sql);
    let _ = scenario::max_placeholder(sql);
    let vars = expr_vars();
    let (out, map) = querygate::seed::substitute(sql, &vars);
    for i in [0, offset % (out.len() + 1), out.len()] {
        let o = map.to_original(i);
        assert!(
            o <= sql.len(),
            "offset {i} of {out:?} maps to {o}, past {sql:?}"
        );
    }
    let _ = querygate::pg::char_to_byte(sql, offset % (sql.chars().count() + 2));
    let path = Path::new("seed.sql");
    assert_located(
        path,
        sql,
        &Located::at(path, sql, offset % (sql.len() + 2), "x"),
    );
}

fn check_report(text: &str) {
    let _working = working_on(&text);
    match querygate::report::write::parse_report(text) {
        Ok(r) => {
            let _ = querygate::report::write::to_json(&r);
            // Opt-in, beyond the readers: what `querygate report` and `compare` do with a file.
            let render = std::env::var("QUERYGATE_FUZZ_RENDER").unwrap_or_default();
            if !render.is_empty() {
                let mut out = Vec::new();
                querygate::report::table::render(&mut out, &r).unwrap();
                querygate::report::markdown::render(&mut out, &r).unwrap();
                querygate::report::html::render(&mut out, &r).unwrap();
                querygate::report::junit::render(&mut out, &r).unwrap();
                if render == "gate" {
                    let _ = querygate::gate::compare(&r, "base.json", &r);
                }
            }
        }
        Err(e) => {
            let _ = format!("{e:#}");
            // A syntax error says where: a line and column inside the text.
            if let Some(j) = e
                .chain()
                .find_map(|c| c.downcast_ref::<serde_json::Error>())
            {
                if j.line() > 0 {
                    let lines: Vec<&str> = text.split('\n').collect();
                    assert!(j.line() <= lines.len(), "{j} ({} lines)", lines.len());
                    assert!(j.column() <= lines[j.line() - 1].len() + 1, "{j}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Byte-level mutations

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(usize, u8),
    SetByte(usize, u8),
    Truncate(usize),
    Insert(usize, String),
    Delete(usize, usize),
    /// Copies a range of the text to another place.
    Splice(usize, usize, usize),
    /// Replaces the number starting at or after a position.
    Number(usize, String),
}

/// Fragments that exercise lexers: multi-byte characters, quotes, escapes, TOML structure.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "é",
            "€",
            "😀",
            "\u{301}",
            "\u{200b}",
            "\u{feff}",
            "\u{10ffff}",
            "\r",
            "\r\n",
            "\t",
            "\0",
            "\"",
            "'",
            "\\",
            "\\u00e9",
            "\\U0001F600",
            "\\n",
            "\"\"\"",
            "'''",
            "[",
            "]",
            "[[",
            "]]",
            "{",
            "}",
            "=",
            ",",
            ".",
            "#",
            "\n",
            "$",
            "$1",
            "$9",
            "$$",
            "$0",
            ":",
            "::",
            ":scale",
            "-",
            "--",
            "/*",
            "(",
            ")",
            "random(",
            "1e400",
            "-9223372036854775808",
            "9223372036854775807",
            "nan",
            "inf",
            "true",
            "[[operation]]\n",
            "\nname = \"x\"\n",
            "params = [",
            "sql = \"",
            "before = \"",
            "after = \"",
        ])
        .prop_map(str::to_string),
        "\\PC{1,8}",
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "-1",
            "1",
            "2",
            "1.5",
            "0.5",
            "1e3",
            "1e400",
            "-0",
            "+1",
            "1_000",
            "0x10",
            "0o7",
            "0b1",
            "nan",
            "inf",
            "-inf",
            "1.001",
            "1000",
            "1000.5",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "18446744073709551615",
            "1e-320",
        ])
        .prop_map(str::to_string),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), 0u8..8).prop_map(|(p, b)| Mutation::FlipBit(p, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::SetByte(p, b)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        4 => (any::<usize>(), fragment()).prop_map(|(p, s)| Mutation::Insert(p, s)),
        2 => (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        2 => (any::<usize>(), 1usize..200, any::<usize>())
            .prop_map(|(a, n, to)| Mutation::Splice(a, n, to)),
        3 => (any::<usize>(), number_text()).prop_map(|(p, s)| Mutation::Number(p, s)),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut b = text.as_bytes().to_vec();
    for m in mutations {
        let len = b.len().max(1);
        match m {
            Mutation::FlipBit(p, bit) if !b.is_empty() => b[p % len] ^= 1 << bit,
            Mutation::SetByte(p, v) if !b.is_empty() => b[p % len] = *v,
            Mutation::Truncate(p) => b.truncate(p % (b.len() + 1)),
            Mutation::Insert(p, s) => {
                let at = p % (b.len() + 1);
                b.splice(at..at, s.bytes());
            }
            Mutation::Delete(p, n) if !b.is_empty() => {
                let at = p % len;
                let end = (at + n).min(b.len());
                b.drain(at..end);
            }
            Mutation::Splice(a, n, to) if !b.is_empty() => {
                let at = a % len;
                let piece: Vec<u8> = b[at..(at + n).min(b.len())].to_vec();
                let to = to % (b.len() + 1);
                b.splice(to..to, piece);
            }
            Mutation::Number(p, s) if !b.is_empty() => {
                let start = p % len;
                if let Some(i) = b[start..].iter().position(u8::is_ascii_digit) {
                    let i = start + i;
                    let mut j = i;
                    while j < b.len() && (b[j].is_ascii_digit() || b"._eE".contains(&b[j])) {
                        j += 1;
                    }
                    b.splice(i..j, s.bytes());
                }
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Scenario documents from the grammar

/// A bound of a generator: mostly integers that compile, near the edges of i64 too.
fn bound_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (-5i64..1000).prop_map(|i| i.to_string()),
        2 => prop::sample::select(vec![
            ":scale", "users", "big", ":small", "big - 1", "small + 1", "-9223372036854775807",
            "9223372036854775807", "0", "1", "2", "1e5", "1e18", "9.3e18", "-big", "zero",
            "scale / 3", "(1 + 2) * 3", "huge", "half", "nan", "word",
        ])
        .prop_map(str::to_string),
        1 => any::<i64>().prop_map(|i| i.to_string()),
    ]
}

/// The third argument of a generator: inside and outside pgbench's ranges, NaN and infinities.
fn param_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "1.001",
            "1.5",
            "2",
            "2.5",
            "3",
            "1000",
            "1000.5",
            "1",
            "0.5",
            "0",
            "-1",
            "nan",
            "inf",
            "-inf",
            "inf - inf",
            "0 * inf",
            "huge",
            "huge * huge",
            "1e-320",
            "5e-324",
            "1e308",
            "half",
            "word",
            "nothing",
            ":users",
        ])
        .prop_map(str::to_string),
        (0.0f64..2000.0).prop_map(|f| f.to_string()),
    ]
}

/// A generator call, mostly with the right number of arguments.
fn call_text() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "random",
            "random_zipfian",
            "random_exponential",
            "random_gaussian",
        ]),
        bound_text(),
        bound_text(),
        param_text(),
        prop::sample::select(vec![0u8, 0, 0, 0, 1, 2]),
    )
        .prop_map(|(f, lo, hi, p, arity)| match (f, arity) {
            ("random", 0) => format!("{f}({lo}, {hi})"),
            (_, 0) => format!("{f}({lo}, {hi}, {p})"),
            ("random", 1) => format!("{f}({lo}, {hi}, {p})"),
            (_, 1) => format!("{f}({lo}, {hi})"),
            _ => format!("{f}({lo})"),
        })
}

fn expr_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        3 => number_text(),
        3 => prop::sample::select(vec![
            ":scale", "scale", ":users", "users", ":nope", "nope", ":", "::x", "big", ":small",
            "half", "huge", "inf", "nan", "word", "nothing", "null", "true", "false", "'x'",
            "'it''s'", "'é😀'", "'", "''", "_", "x1", "usres", "'\"é\"'", "'é\\ü'", "'\t'",
            "'😀\n'",
        ])
        .prop_map(str::to_string),
        4 => call_text(),
        1 => "\\PC{0,4}",
    ];
    let tree = leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["+", "-", "*", "/", "%", " ", "^", "**"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.clone().prop_map(|a| format!("({a})")),
            (
                prop::sample::select(vec![
                    "random",
                    "random_zipfian",
                    "random_exponential",
                    "random_gaussian",
                    "rand",
                    "RANDOM",
                    "random ",
                ]),
                prop::collection::vec(inner, 0..5),
                prop::sample::select(vec![")", "", ",)", "))"]),
            )
                .prop_map(|(f, args, close)| format!("{f}({}{close}", args.join(", "))),
        ]
    });
    // Deep nesting: the parser recurses, so depth must be bounded, not the stack.
    let deep = (
        prop::sample::select(vec!["(", "-", "random(1, ", "- (", "-("]),
        1usize..200_000,
        prop::sample::select(vec!["1", "1)", ""]),
    )
        .prop_map(|(open, n, core)| format!("{}{core}", open.repeat(n)));
    prop_oneof![30 => tree, 1 => deep]
}

fn claim_text() -> impl Strategy<Value = String> {
    let side = prop::sample::select(vec!["", "before ", "after ", "BEFORE ", "during "]);
    let quantile = prop::sample::select(vec!["", "p50 ", "p95 ", "p99 ", "median ", "p100 "]);
    let body = prop_oneof![
        (
            prop::sample::select(vec![">=", ">", "> =", "=", "<="]),
            number_text(),
            prop::sample::select(vec!["", "x", "X", "%"])
        )
            .prop_map(|(op, n, s)| format!("speedup {op} {n}{s}")),
        (
            number_text(),
            prop::sample::select(vec!["..", "-", "–", "—", "...", " .. "]),
            number_text(),
            prop::sample::select(vec!["", "x"])
        )
            .prop_map(|(a, sep, b, x)| format!("speedup in {a}{sep}{b}{x}")),
        (number_text(), prop::sample::select(vec!["%", "", "%%"]))
            .prop_map(|(n, p)| format!("latency reduction >= {n}{p}")),
        (
            prop::sample::select(vec!["<=", "<", "<= "]),
            number_text(),
            prop::sample::select(vec![" ms", "ms", " us", "µs", " s", "", " m", "mss"])
        )
            .prop_map(|(op, n, u)| format!("{op} {n}{u}")),
        "uses index [a-z_é]{0,12}".prop_map(|s| s),
        "no seq scan on [a-z_.\"]{0,12}".prop_map(|s| s),
        number_text().prop_map(|n| format!("buffers ratio >= {n}")),
        prop::sample::select(vec!["same result", "same results", "same", ""])
            .prop_map(str::to_string),
        "\\PC{0,30}",
    ];
    (side, quantile, body).prop_map(|(s, q, b)| format!("{s}{q}{b}"))
}

fn toml_string(s: &str) -> impl Strategy<Value = String> {
    let s = s.to_string();
    prop::sample::select(vec![0u8, 0, 0, 1, 2, 3]).prop_map(move |style| match style {
        1 if !s.contains('\'') && !s.contains('\n') && !s.contains('\r') => format!("'{s}'"),
        2 if !s.contains("\"\"\"") && !s.ends_with('"') => {
            format!("\"\"\"\n{}\"\"\"", s.replace('\\', "\\\\"))
        }
        3 => {
            // Every character escaped the TOML way.
            let body: String = s
                .chars()
                .map(|c| {
                    if (c as u32) < 0x10000 {
                        format!("\\u{:04X}", c as u32)
                    } else {
                        format!("\\U{:08X}", c as u32)
                    }
                })
                .collect();
            format!("\"{body}\"")
        }
        _ => {
            let body: String = s
                .chars()
                .map(|c| match c {
                    '"' => "\\\"".to_string(),
                    '\\' => "\\\\".to_string(),
                    '\n' => "\\n".to_string(),
                    '\r' => "\\r".to_string(),
                    '\t' => "\\t".to_string(),
                    c if c.is_control() => format!("\\u{:04X}", c as u32),
                    c => c.to_string(),
                })
                .collect();
            format!("\"{body}\"")
        }
    })
}

fn sql_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "SELECT 1",
            "SELECT $1",
            "SELECT $1, $2",
            "SELECT * FROM t WHERE a = $1 AND b = $3",
            "SELECT '$5', $1 -- $7",
            "SELECT $$ $4 $$, $1",
            "SELECT $tag$ $9 $tag$",
            "UPDATE t SET a = a + 1 WHERE id = $1 RETURNING id",
            "SELECT \"$\", $2::int",
            "SELECT /* $3 */ 1",
            "SELECT $99999999999999999999999",
            "SELECT $100000000",
            "SELECT é, $1",
            "\n  SELECT $1\n",
            "",
            "  ",
            ";",
            " ; ;",
            "SELECT 1;",
        ])
        .prop_map(str::to_string),
        "[ -~é$]{0,40}",
    ]
}

fn string_value<S: Strategy<Value = String> + 'static>(s: S) -> BoxedStrategy<String> {
    s.prop_flat_map(|t| toml_string(&t)).boxed()
}

fn list_of(item: BoxedStrategy<String>, max: usize) -> BoxedStrategy<String> {
    prop::collection::vec(item, 0..max)
        .prop_map(|v| format!("[{}]", v.join(", ")))
        .boxed()
}

/// Any TOML value: for keys given the wrong type.
fn value_text() -> BoxedStrategy<String> {
    let scalar = prop_oneof![
        number_text(),
        prop::sample::select(vec!["true", "false", "1979-05-27T07:32:00Z", "[]", "{}"])
            .prop_map(str::to_string),
        string_value(expr_text()),
        string_value(claim_text()),
        string_value(sql_text()),
        string_value(
            prop::sample::select(vec![
                "tiny_schema.sql",
                "../ok/tiny_schema.sql",
                "missing.sql",
                "migrations",
                "",
                ".",
                "/",
                "read",
                "rollback",
                "commit",
                "random",
                "abba",
                "0001",
                "1",
                "2",
                "3",
            ])
            .prop_map(str::to_string)
        ),
    ];
    scalar
        .prop_recursive(3, 16, 5, |inner| {
            prop_oneof![
                list_of(inner.clone(), 5),
                prop::collection::vec(
                    (
                        prop::sample::select(vec![
                            "sample",
                            "statements",
                            "transaction",
                            "users",
                            "limit",
                            "a",
                        ]),
                        inner
                    ),
                    0..4
                )
                .prop_map(|kv| inline_table(&kv)),
            ]
        })
        .boxed()
}

/// `{ k = v, … }`, each key once.
fn inline_table(kv: &[(impl AsRef<str>, String)]) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let body: Vec<String> = kv
        .iter()
        .filter(|(k, _)| seen.insert(k.as_ref().to_string()))
        .map(|(k, v)| format!("{} = {v}", k.as_ref()))
        .collect();
    format!("{{ {} }}", body.join(", "))
}

/// A value of the type `key` takes, most of the time, so that validation is reached.
fn value_for(key: &'static str) -> BoxedStrategy<String> {
    let files = || {
        let one = string_value(
            prop::sample::select(vec![
                "tiny_schema.sql",
                "missing.sql",
                "",
                "../ok/tiny_schema.sql",
                "é.sql",
            ])
            .prop_map(str::to_string),
        );
        prop_oneof![one.clone(), list_of(one, 3)].boxed()
    };
    let sql = || {
        let one = string_value(sql_text());
        let tx = prop_oneof![
            Just("true".to_string()),
            Just("false".to_string()),
            value_text()
        ];
        prop_oneof![
            3 => one.clone(),
            2 => list_of(one.clone(), 3),
            1 => (list_of(one, 3), prop::option::of(tx), any::<bool>()).prop_map(|(l, t, sw)| {
                let mut kv = vec![("statements", l)];
                if let Some(t) = t {
                    kv.push(("transaction", t));
                }
                if sw {
                    kv.reverse();
                }
                inline_table(&kv)
            }),
        ]
        .boxed()
    };
    let typed: BoxedStrategy<String> = match key {
        "name" => string_value(prop_oneof![
            12 => prop::sample::select(vec!["q", "q2", "get_user", "a-b_c"]).prop_map(str::to_string),
            1 => prop::sample::select(vec!["", "bad name", "é", " "]).prop_map(str::to_string),
        ]),
        "description" => string_value("\\PC{0,20}"),
        "schema" | "seed" | "up" => files(),
        "scale"
        | "warmup"
        | "rounds"
        | "iterations"
        | "round_budget_ms"
        | "seed_"
        | "statement_timeout_ms" => prop_oneof![
            8 => prop_oneof![
                20 => 2i64..20,
                1 => prop::sample::select(vec![0i64, 1, -1, 100_000, 100_001, 3_600_001]),
            ]
            .prop_map(|i| i.to_string()),
            1 => number_text(),
        ]
        .boxed(),
        "vars" => prop::collection::vec(
            (
                prop_oneof![
                    20 => prop::sample::select(vec!["users", "groups", "a", "b"]),
                    1 => prop::sample::select(vec!["scale", "seed"]),
                ],
                prop_oneof![
                    number_text(),
                    expr_text().prop_flat_map(|e| toml_string(&e))
                ],
            ),
            0..4,
        )
        .prop_map(|kv| inline_table(&kv))
        .boxed(),
        "dir" => string_value(
            prop::sample::select(vec!["migrations", "missing", "", ".", "../ok"])
                .prop_map(str::to_string),
        ),
        "before_version" | "after_version" => prop_oneof![
            prop::sample::select(vec!["1", "2", "3", "\"0001\"", "\"0002\"", "\"x\"", "-1"])
                .prop_map(str::to_string),
            number_text(),
        ]
        .boxed(),
        "settings" => prop::collection::vec(
            (
                prop::sample::select(vec!["work_mem", "jit", "random_page_cost"]),
                value_text(),
            ),
            0..3,
        )
        .prop_map(|kv| inline_table(&kv))
        .boxed(),
        "order" => string_value(
            prop::sample::select(vec![
                "random", "abba", "random", "abba", "random", "ABBA", "",
            ])
            .prop_map(str::to_string),
        ),
        "mode" => string_value(
            prop::sample::select(vec!["read", "rollback", "commit", "write"])
                .prop_map(str::to_string),
        ),
        "sql" | "before" | "after" => sql(),
        "transaction" | "expect_same_result" => prop::sample::select(vec!["true", "false"])
            .prop_map(str::to_string)
            .boxed(),
        "params" => prop_oneof![
            4 => list_of(string_value(expr_text()), 4),
            1 => string_value(sql_text()).prop_map(|q| format!("{{ sample = {q} }}")),
        ]
        .boxed(),
        "claim" => prop_oneof![
            string_value(claim_text()),
            list_of(string_value(claim_text()), 4),
        ]
        .boxed(),
        _ => value_text(),
    };
    prop_oneof![40 => typed, 1 => value_text()].boxed()
}

/// Lines of one table: keys it takes (now and then a wrong one), each once.
fn table_lines(keys: &'static [&'static str]) -> BoxedStrategy<String> {
    let key = prop_oneof![
        60 => prop::sample::select(keys.to_vec()),
        1 => prop::sample::select(vec!["nmae", "parms", "round", "x", "\"quoted\"", "a.b"]),
    ];
    prop::collection::vec(key, 0..keys.len().min(7) + 1)
        .prop_flat_map(|ks| {
            let mut seen = std::collections::BTreeSet::new();
            let ks: Vec<&'static str> = ks.into_iter().filter(|k| seen.insert(*k)).collect();
            ks.into_iter()
                .map(|k| {
                    // Some keys are spelt differently from the value they take.
                    let v = match k {
                        "before" | "after" if keys.contains(&"dir") => {
                            value_for(if k == "before" {
                                "before_version"
                            } else {
                                "after_version"
                            })
                        }
                        "seed" if keys.contains(&"warmup") => value_for("seed_"),
                        k => value_for(k),
                    };
                    v.prop_map(move |v| format!("{k} = {v}"))
                })
                .collect::<Vec<_>>()
        })
        .prop_map(|lines| lines.join("\n"))
        .boxed()
}

/// A document with the shape of a scenario, so that parsing gets past the TOML and into
/// validation; now and then with a line of garbage.
fn scenario_text() -> impl Strategy<Value = String> {
    const TOP: &[&str] = &["description"];
    const DATA: &[&str] = &["schema", "seed", "scale", "vars"];
    const RUN: &[&str] = &[
        "warmup",
        "rounds",
        "iterations",
        "round_budget_ms",
        "seed",
        "order",
        "statement_timeout_ms",
    ];
    const MIGRATION: &[&str] = &["up", "dir", "before", "after"];
    const SERVER: &[&str] = &["settings"];
    const OP: &[&str] = &[
        "description",
        "transaction",
        "params",
        "params",
        "params",
        "mode",
        "claim",
        "claim",
        "expect_same_result",
    ];
    let name = || {
        prop::option::weighted(
            0.97,
            value_for("name").prop_map(|n| format!("name = {n}\n")),
        )
    };
    let line = |k: &'static str| value_for(k).prop_map(move |v| format!("{k} = {v}\n"));
    let statements = prop_oneof![
        12 => line("sql"),
        6 => (line("before"), line("after")).prop_map(|(b, a)| b + &a),
        1 => line("before"),
        1 => (line("sql"), line("after")).prop_map(|(b, a)| b + &a),
        1 => Just(String::new()),
    ];
    let op = (name(), statements, table_lines(OP))
        .prop_map(|(n, st, l)| format!("[[operation]]\n{}{st}{l}", n.unwrap_or_default()));
    (
        (name(), table_lines(TOP)).prop_map(|(n, l)| format!("{}{l}", n.unwrap_or_default())),
        prop::option::weighted(0.95, table_lines(DATA)),
        prop::option::of(table_lines(RUN)),
        prop::option::weighted(0.3, table_lines(MIGRATION)),
        prop::option::weighted(0.2, table_lines(SERVER)),
        prop_oneof![20 => prop::collection::vec(op.clone(), 1..4), 1 => prop::collection::vec(op, 0..1)],
        prop::option::weighted(0.05, "\\PC{0,30}"),
    )
        .prop_map(|(top, data, run, migration, server, ops, garbage)| {
            let mut doc = format!("{top}\n");
            for (header, body) in [("data", data), ("run", run), ("migration", migration), ("server", server)] {
                if let Some(body) = body {
                    doc += &format!("[{header}]\n{body}\n");
                }
            }
            doc += &ops.join("\n");
            doc.push('\n');
            if let Some(g) = garbage {
                doc += &g;
            }
            doc
        })
}

// ---------------------------------------------------------------------------------------------
// JSON

fn report_keys() -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    out.push(k.clone());
                    walk(v, out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut keys = Vec::new();
    walk(&sample_report().1, &mut keys);
    keys.sort();
    keys.dedup();
    keys
}

/// The results file to mutate: another engineer's `tests/data/reports/sample.json` when it
/// exists and this querygate reads it, else the copy kept with these tests. Regenerate the copy
/// after a change of the results format:
/// `cargo run -q -- run tests/data/scenarios/ok/tiny.toml --backend local --out tests/data/fuzz/sample_report.json -q`
fn sample_report() -> (String, serde_json::Value) {
    let mut tried = Vec::new();
    for p in [
        "tests/data/reports/sample.json",
        "tests/data/fuzz/sample_report.json",
    ] {
        let Ok(text) = std::fs::read_to_string(p) else {
            continue;
        };
        match querygate::report::write::parse_report(&text) {
            Ok(_) => {
                let v = serde_json::from_str(&text).expect("valid JSON");
                return (text, v);
            }
            Err(e) => tried.push(format!("{p}: {e:#}")),
        }
    }
    panic!(
        "no results file that this querygate reads: {tried:?}; regenerate tests/data/fuzz/sample_report.json"
    );
}

fn json_leaf() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{json, Value as J};
    prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<u64>().prop_map(|i| json!(i)),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(vec![0i64, 1, -1, 2, 255, 256, 65535, 4294967296])
            .prop_map(|i| json!(i)),
        prop::sample::select(vec![
            "",
            "complete",
            "incomplete",
            "holds",
            "refuted",
            "inconclusive",
            "pass",
            "regressed",
            "improved",
            "read",
            "rollback",
            "commit",
            "p50",
            "p95",
            "random",
            "abba",
            "HISTFAAAAB",
            "!!!not base64",
            "é😀",
            "NaN",
        ])
        .prop_map(|s| J::String(s.to_string())),
        "\\PC{0,12}".prop_map(J::String),
    ]
}

fn json_value(keys: Vec<String>) -> impl Strategy<Value = serde_json::Value> {
    json_leaf().prop_recursive(5, 64, 8, move |inner| {
        let keys = keys.clone();
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::vec(
                (prop_oneof![prop::sample::select(keys), "\\PC{0,6}"], inner),
                0..8
            )
            .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum JsonMutation {
    /// Replaces the node with this pre-order index.
    Replace(usize, serde_json::Value),
    Remove(usize),
    /// Appends a copy of an array's element, or of an object's value under a new key.
    Duplicate(usize),
}

fn count_nodes(v: &serde_json::Value) -> usize {
    1 + match v {
        serde_json::Value::Array(a) => a.iter().map(count_nodes).sum(),
        serde_json::Value::Object(m) => m.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Finds the node with pre-order index `*n` (counting down) and applies `f` to its parent's slot.
fn with_node(
    v: &mut serde_json::Value,
    n: &mut usize,
    f: &mut dyn FnMut(&mut serde_json::Value),
) -> bool {
    if *n == 0 {
        f(v);
        return true;
    }
    *n -= 1;
    match v {
        serde_json::Value::Array(a) => {
            for x in a.iter_mut() {
                if with_node(x, n, f) {
                    return true;
                }
            }
        }
        serde_json::Value::Object(m) => {
            for (_, x) in m.iter_mut() {
                if with_node(x, n, f) {
                    return true;
                }
            }
        }
        _ => {}
    }
    false
}

fn mutate_json(v: &serde_json::Value, ms: &[JsonMutation]) -> serde_json::Value {
    use serde_json::Value as J;
    let mut v = v.clone();
    for m in ms {
        let total = count_nodes(&v);
        match m {
            JsonMutation::Replace(i, new) => {
                let mut n = i % total;
                with_node(&mut v, &mut n, &mut |x| *x = new.clone());
            }
            JsonMutation::Remove(i) => {
                // Remove the first child of the chosen container.
                let mut n = i % total;
                with_node(&mut v, &mut n, &mut |x| match x {
                    J::Array(a) if !a.is_empty() => {
                        a.remove(0);
                    }
                    J::Object(m) => {
                        if let Some(k) = m.keys().next().cloned() {
                            m.remove(&k);
                        }
                    }
                    _ => {}
                });
            }
            JsonMutation::Duplicate(i) => {
                let mut n = i % total;
                with_node(&mut v, &mut n, &mut |x| match x {
                    J::Array(a) if !a.is_empty() => {
                        let first = a[0].clone();
                        a.push(first);
                    }
                    J::Object(m) => {
                        if let Some((k, val)) = m.iter().next().map(|(k, v)| (k.clone(), v.clone()))
                        {
                            m.insert(format!("{k}_copy"), val);
                        }
                    }
                    _ => {}
                });
            }
        }
    }
    v
}

fn json_mutation() -> impl Strategy<Value = JsonMutation> {
    prop_oneof![
        4 => (any::<usize>(), json_leaf()).prop_map(|(i, v)| JsonMutation::Replace(i, v)),
        2 => any::<usize>().prop_map(JsonMutation::Remove),
        1 => any::<usize>().prop_map(JsonMutation::Duplicate),
    ]
}

// ---------------------------------------------------------------------------------------------
// Targets

proptest! {
    #![proptest_config(config())]

    #[test]
    fn scenario_random_toml(text in scenario_text(), scale in prop::option::of(any::<i64>())) {
        check_scenario(&text, scale);
    }

    #[test]
    fn scenario_mutations(
        which in 0usize..4,
        ms in prop::collection::vec(mutation(), 1..8),
    ) {
        let texts = seed_texts();
        check_scenario(&mutate(&texts[which], &ms), None);
    }

    #[test]
    fn scenario_arbitrary_text(text in "\\PC{0,200}|(?s:.{0,200})") {
        check_scenario(&text, None);
    }

    #[test]
    fn expr_compile_and_eval(
        text in prop_oneof![4 => expr_text(), 1 => "\\PC{0,40}", 1 => "[-+*/%() :a-z_0-9.,'é]{0,40}"],
        seed in any::<u64>(),
    ) {
        check_expr(&text, seed);
    }

    #[test]
    fn claim_parse(text in prop_oneof![4 => claim_text(), 1 => "\\PC{0,60}"]) {
        check_claim(&text);
    }

    #[test]
    fn sql_helpers(
        sql in prop_oneof![2 => sql_text(), 1 => "\\PC{0,60}", 1 => "[-$:'\"/*a-z0-9 \n;é]{0,60}"],
        offset in any::<usize>(),
    ) {
        check_sql(&sql, offset);
    }

    #[test]
    fn report_random_json(
        v in json_value(report_keys()),
        version in prop::option::of(prop::sample::select(vec![1u64, 0, 2])),
    ) {
        let mut v = v;
        if let (Some(ver), serde_json::Value::Object(m)) = (version, &mut v) {
            m.insert("schema_version".into(), ver.into());
        }
        check_report(&v.to_string());
    }

    #[test]
    fn report_mutations(
        ms in prop::collection::vec(json_mutation(), 1..6),
        bytes in prop::collection::vec(mutation(), 0..3),
        pretty in any::<bool>(),
    ) {
        let (_, sample) = sample_report();
        let v = mutate_json(&sample, &ms);
        let text = if pretty {
            serde_json::to_string_pretty(&v).unwrap()
        } else {
            v.to_string()
        };
        check_report(&mutate(&text, &bytes));
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: inputs that once panicked, replayed on every run.

fn regression_files(target: &str) -> Vec<PathBuf> {
    let dir = Path::new("tests/data/fuzz").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return vec![];
    };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    files
}

#[test]
fn regressions_scenario() {
    for f in regression_files("scenario") {
        check_scenario(&data(f.to_str().unwrap()), None);
    }
}

#[test]
fn regressions_expr() {
    for f in regression_files("expr") {
        // One expression per line.
        for line in data(f.to_str().unwrap()).lines() {
            check_expr(line, 0);
            check_expr(line, u64::MAX);
        }
    }
}

#[test]
fn regressions_claim() {
    for f in regression_files("claim") {
        for line in data(f.to_str().unwrap()).lines() {
            check_claim(line);
        }
    }
}

#[test]
fn regressions_report() {
    for f in regression_files("report") {
        check_report(&data(f.to_str().unwrap()));
    }
}

#[test]
fn the_real_scenarios_load() {
    for text in seed_texts().iter().take(2) {
        let path = Path::new(SCENARIO_PATH);
        let reader = |_: &Path| -> Result<String, String> { Ok("SELECT 1;".to_string()) };
        let s = scenario::parse(path, text, None, &Files(reader)).expect("a real scenario");
        exercise(path, &s);
    }
}

/// How far the generators get: `cargo test --release --test fuzz_inputs -- --ignored --nocapture`
/// prints, per scenario generator, how often parsing succeeds and the commonest errors. Most
/// inputs should get past the TOML syntax, or the fuzzing only tests the TOML crate.
#[test]
#[ignore]
fn generator_reach() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    fn tally(name: &str, mut next: impl FnMut() -> String) {
        let path = Path::new(SCENARIO_PATH);
        let reader = |_: &Path| -> Result<String, String> { Ok("SELECT 1;".to_string()) };
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let n = 5000;
        for _ in 0..n {
            let text = next();
            let key = match scenario::parse(path, &text, None, &Files(reader)) {
                Ok(_) => "ok".to_string(),
                Err(e) => e.message.chars().take(38).collect(),
            };
            *seen.entry(key).or_default() += 1;
        }
        let mut v: Vec<_> = seen.into_iter().collect();
        v.sort_by_key(|b| std::cmp::Reverse(b.1));
        println!("{name}: {} kinds of outcome in {n}", v.len());
        for (k, c) in v.iter().take(25) {
            println!("  {c:5}  {k}");
        }
    }
    let mut runner = TestRunner::deterministic();
    let s = scenario_text();
    tally("scenario_random_toml", || {
        s.new_tree(&mut runner).unwrap().current()
    });
    let texts = seed_texts();
    let m = (0usize..4, prop::collection::vec(mutation(), 1..8));
    tally("scenario_mutations", || {
        let (which, ms) = m.new_tree(&mut runner).unwrap().current();
        mutate(&texts[which], &ms)
    });
}
