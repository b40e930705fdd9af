//! Fuzzing on stable Rust: property tests over everything querygate reads from users.
//!
//! No input may panic querygate (issue 6). Each target feeds one reader random and mutated
//! input and checks that it returns either a value or an error located inside the text:
//!
//! | target | reader | inputs |
//! |---|---|---|
//! | `scenario_random_toml` | `scenario::parse` | TOML-ish documents built from scenario keys, tables and values |
//! | `scenario_mutations` | `scenario::parse` | the real scenarios with byte flips, truncations, inserted unicode, spliced ranges |
//! | `scenario_arbitrary_text` | `scenario::parse` | arbitrary unicode text |
//! | `expr_compile_and_eval` | `expr::compile`, `Expr::eval` | generator expressions from the grammar, and garbage |
//! | `claim_parse` | `claim::parse` | claim sentences from the grammar, and garbage |
//! | `report_random_json` | `report::write::parse_report` | random JSON built from the results file's keys |
//! | `report_mutations` | `report::write::parse_report` | a real results file, mutated as JSON and as bytes |
//!
//! Cases per target: `QUERYGATE_FUZZ_CASES` (default 256, a few seconds in all). A long run:
//! `QUERYGATE_FUZZ_CASES=200000 cargo test --release --test fuzz_inputs`.
//! Every input a run found to panic is kept under `tests/data/fuzz/<target>/` and replayed by
//! the `regressions_*` tests; add a file there when fixing a new finding.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::Config;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use querygate::error::Located;
use querygate::scenario::{self, claim, expr, Expr, Params, Value};

// ---------------------------------------------------------------------------------------------
// Configuration

fn cases() -> u32 {
    std::env::var("QUERYGATE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(256)
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

fn check_scenario(text: &str, scale: Option<i64>) {
    let path = Path::new(SCENARIO_PATH);
    // Files the scenario names come from memory; names with "missing" do not exist.
    let reader = |p: &Path| -> Result<String, String> {
        if p.to_string_lossy().contains("missing") {
            Err("No such file or directory (os error 2)".into())
        } else {
            Ok("SELECT 1;\n".into())
        }
    };
    match scenario::parse(path, text, scale, &reader) {
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
    match claim::parse(text) {
        Ok(c) => {
            let _ = c.to_string();
        }
        Err(e) => assert!(e.contains("expected one of"), "{e}"),
    }
}

fn check_report(text: &str) {
    match querygate::report::write::parse_report(text) {
        Ok(r) => {
            let _ = querygate::report::write::to_json(&r);
        }
        Err(e) => {
            let _ = format!("{e:#}");
            // A syntax error says where: a line and column inside the text.
            if let Some(j) = e.chain().find_map(|c| c.downcast_ref::<serde_json::Error>()) {
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
            "é", "€", "😀", "\u{301}", "\u{200b}", "\u{feff}", "\u{10ffff}", "\r", "\r\n", "\t",
            "\0", "\"", "'", "\\", "\\u00e9", "\\U0001F600", "\\n", "\"\"\"", "'''", "[", "]",
            "[[", "]]", "{", "}", "=", ",", ".", "#", "\n", "$", "$1", "$9", "$$", "$0", ":",
            "::", ":scale", "-", "--", "/*", "(", ")", "random(", "1e400", "-9223372036854775808",
            "9223372036854775807", "nan", "inf", "true", "[[operation]]\n", "\nname = \"x\"\n",
            "params = [", "sql = \"", "before = \"", "after = \"",
        ])
        .prop_map(str::to_string),
        "\\PC{1,8}",
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0", "-1", "1", "2", "1.5", "0.5", "1e3", "1e400", "-0", "+1", "1_000", "0x10",
            "0o7", "0b1", "nan", "inf", "-inf", "1.001", "1000", "1000.5",
            "9223372036854775807", "-9223372036854775808", "9223372036854775808",
            "18446744073709551615", "1e-320",
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

fn expr_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        number_text(),
        prop::sample::select(vec![
            ":scale", "scale", ":users", "users", ":nope", "nope", ":", "::x", "big", ":small",
            "half", "huge", "inf", "nan", "word", "nothing", "null", "true", "false", "'x'",
            "'it''s'", "'é😀'", "'", "''", "_", "x1",
        ])
        .prop_map(str::to_string),
        "\\PC{0,4}",
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
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
    })
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
    prop::sample::select(vec![0u8, 1, 2, 3]).prop_map(move |style| match style {
        0 => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
        1 if !s.contains('\'') && !s.contains('\n') => format!("'{s}'"),
        2 if !s.contains("\"\"\"") => format!("\"\"\"\n{}\"\"\"", s.replace('\\', "\\\\")),
        _ => format!("\"{}\"", s.escape_unicode()),
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
            "SELECT é, $1",
            "",
            "  ",
            ";",
        ])
        .prop_map(str::to_string),
        "[ -~é$]{0,40}",
    ]
}

fn value_text() -> BoxedStrategy<String> {
    let scalar = prop_oneof![
        number_text(),
        prop::sample::select(vec!["true", "false", "1979-05-27T07:32:00Z", "[]", "{}"])
            .prop_map(str::to_string),
        expr_text().prop_flat_map(|e| toml_string(&e)),
        claim_text().prop_flat_map(|c| toml_string(&c)),
        sql_text().prop_flat_map(|s| toml_string(&s)),
        prop::sample::select(vec![
            "tiny_schema.sql", "../ok/tiny_schema.sql", "missing.sql", "migrations", "", ".",
            "/", "read", "rollback", "commit", "random", "abba", "0001", "1", "2", "3",
        ])
        .prop_flat_map(toml_string),
    ];
    scalar
        .prop_recursive(3, 16, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                prop::collection::vec(
                    (
                        prop::sample::select(vec![
                            "sample",
                            "statements",
                            "transaction",
                            "users",
                            "limit",
                            "work_mem",
                            "a",
                        ]),
                        inner
                    ),
                    0..4
                )
                .prop_map(|kv| {
                    let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                    format!("{{ {} }}", body.join(", "))
                }),
            ]
        })
        .boxed()
}

const KEYS: &[&str] = &[
    "name", "description", "schema", "seed", "scale", "vars", "up", "dir", "before", "after",
    "settings", "warmup", "rounds", "iterations", "round_budget_ms", "order",
    "statement_timeout_ms", "sql", "transaction", "params", "mode", "claim",
    "expect_same_result", "gate", "latency_threshold", "nmae", "data.scale", "\"quoted key\"",
];

fn line_text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(vec![
            "[data]", "[migration]", "[server]", "[run]", "[gate]", "[[operation]]", "[operation]",
            "[data.vars]", "[server.settings]", "[[data]]", "[nope]", "", "# comment",
        ])
        .prop_map(str::to_string),
        8 => (prop::sample::select(KEYS.to_vec()), value_text())
            .prop_map(|(k, v)| format!("{k} = {v}")),
        1 => "\\PC{0,30}",
    ]
}

/// A document that mostly has the shape of a scenario, so that parsing gets past the TOML and
/// into validation.
fn scenario_text() -> impl Strategy<Value = String> {
    let op = (
        prop::sample::select(vec!["q", "q2", "get_user", "", "bad name", "é"]),
        prop::collection::vec(line_text(), 0..6),
    )
        .prop_map(|(n, lines)| format!("[[operation]]\nname = \"{n}\"\n{}", lines.join("\n")));
    (
        prop::collection::vec(line_text(), 0..4),
        prop::collection::vec(line_text(), 0..4),
        prop::collection::vec(op, 0..4),
        prop::collection::vec(line_text(), 0..3),
    )
        .prop_map(|(top, data, ops, tail)| {
            format!(
                "name = \"fuzz\"\n{}\n[data]\n{}\n{}\n{}\n",
                top.join("\n"),
                data.join("\n"),
                ops.join("\n"),
                tail.join("\n")
            )
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
            "", "complete", "incomplete", "holds", "refuted", "inconclusive", "pass",
            "regressed", "improved", "read", "rollback", "commit", "p50", "p95", "random",
            "abba", "HISTFAAAAB", "!!!not base64", "é😀", "NaN",
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
                (
                    prop_oneof![prop::sample::select(keys), "\\PC{0,6}"],
                    inner
                ),
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
        let reader = |_: &Path| Ok("SELECT 1;".to_string());
        let s = scenario::parse(path, text, None, &reader).expect("a real scenario");
        exercise(path, &s);
    }
}
