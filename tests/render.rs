//! The renderers over committed results files (tests/data/reports, see the README there):
//! snapshots of every format, plus the properties a snapshot does not state on its own
//! (valid JUnit counts, no network in the HTML, escaping, determinism), and the committed JSON
//! Schema matching the types.
//!
//! The inputs are fixed files and no renderer prints the current time, so nothing is redacted.

use std::path::PathBuf;

use querygate::report::{self, Report};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> Report {
    let path = root().join("tests/data/reports").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    report::write::parse_report(&text).unwrap_or_else(|e| {
        panic!(
            "{} no longer parses as a Report ({e:#}); regenerate it as tests/data/reports/README.md says",
            path.display()
        )
    })
}

fn markdown(r: &Report) -> String {
    let mut buf = Vec::new();
    report::markdown::render(&mut buf, r).unwrap();
    String::from_utf8(buf).unwrap()
}

fn html(r: &Report) -> String {
    let mut buf = Vec::new();
    report::html::render(&mut buf, r).unwrap();
    String::from_utf8(buf).unwrap()
}

fn junit(r: &Report) -> String {
    let mut buf = Vec::new();
    report::junit::render(&mut buf, r).unwrap();
    String::from_utf8(buf).unwrap()
}

const FIXTURES: [&str; 5] = [
    "sample.json",
    "incomplete.json",
    "many.json",
    "compared.json",
    "single_side.json",
];

#[test]
fn markdown_snapshots() {
    insta::assert_snapshot!("markdown_sample", markdown(&fixture("sample.json")));
    insta::assert_snapshot!("markdown_incomplete", markdown(&fixture("incomplete.json")));
    insta::assert_snapshot!("markdown_compared", markdown(&fixture("compared.json")));
}

#[test]
fn html_snapshots() {
    insta::assert_snapshot!("html_sample", html(&fixture("sample.json")));
    insta::assert_snapshot!("html_incomplete", html(&fixture("incomplete.json")));
    insta::assert_snapshot!("html_compared", html(&fixture("compared.json")));
}

#[test]
fn junit_snapshots() {
    insta::assert_snapshot!("junit_sample", junit(&fixture("sample.json")));
    insta::assert_snapshot!("junit_incomplete", junit(&fixture("incomplete.json")));
    insta::assert_snapshot!("junit_compared", junit(&fixture("compared.json")));
}

/// A scenario without a change: one side in every output, no speedups, no migration time.
#[test]
fn single_side_snapshots() {
    let r = fixture("single_side.json");
    assert!(r.scenarios[0].single_side);
    let mut buf = Vec::new();
    report::table::render(&mut buf, &r).unwrap();
    insta::assert_snapshot!("table_single_side", String::from_utf8(buf).unwrap());
    insta::assert_snapshot!("markdown_single_side", markdown(&r));
    insta::assert_snapshot!("junit_single_side", junit(&r));
    let h = html(&r);
    for absent in [
        "<th class=\"before\">",
        "speedup (95% CI)",
        "migration 0 ms",
    ] {
        assert!(!h.contains(absent), "{absent}");
    }
    assert!(h.contains("<th class=\"measured\">measured</th>"));
}

#[test]
fn terminal_table_snapshot() {
    let mut buf = Vec::new();
    report::table::render(&mut buf, &fixture("incomplete.json")).unwrap();
    insta::assert_snapshot!("table_incomplete", String::from_utf8(buf).unwrap());
}

#[test]
fn load_snapshots() {
    let r = fixture("load.json");
    let mut buf = Vec::new();
    report::table::render(&mut buf, &r).unwrap();
    insta::assert_snapshot!("table_load", String::from_utf8(buf).unwrap());
    insta::assert_snapshot!("markdown_load", markdown(&r));
    insta::assert_snapshot!("junit_load", junit(&r));
    // 2 operation gates + 3 load claims, two of them refuted.
    assert_eq!(check_junit(&junit(&r)), (5, 2, 0, 0));
    let h = html(&r);
    assert_eq!(h, html(&r));
    // The timeline chart, with the migration window shaded and named.
    assert!(h.contains("<svg class=\"timeline\""), "no timeline chart");
    let window = r.scenarios[0]
        .load
        .as_ref()
        .unwrap()
        .migration
        .as_ref()
        .unwrap();
    assert!(
        h.contains(&format!("<title>migration {:.0} ms", window.duration_ms)),
        "no shaded migration window"
    );
    assert!(h.contains("blocked writes to items"));
}

#[test]
fn renderers_are_deterministic() {
    for name in FIXTURES {
        let r = fixture(name);
        assert_eq!(markdown(&r), markdown(&r), "{name}");
        assert_eq!(html(&r), html(&r), "{name}");
        assert_eq!(junit(&r), junit(&r), "{name}");
    }
}

#[test]
fn markdown_starts_with_the_verdict_and_escapes_cells() {
    let md = markdown(&fixture("sample.json"));
    let first = md.lines().next().unwrap();
    assert_eq!(first, "## ❌ querygate: 1 refuted claim (exit code 1)");
    let incomplete = markdown(&fixture("incomplete.json"));
    assert!(
        incomplete.starts_with("## ⚠️ querygate: incomplete"),
        "{incomplete}"
    );
    assert!(incomplete.contains("| impossible | not measured | not measured |"));
    // Every table row has exactly as many unescaped pipes as the header.
    for doc in [&md, &incomplete] {
        for table in doc.split("\n\n").filter(|b| b.starts_with("| operation")) {
            let pipes = |l: &str| l.replace("\\|", "").matches('|').count();
            let header = pipes(table.lines().next().unwrap());
            for line in table.lines() {
                assert_eq!(pipes(line), header, "{line}");
            }
        }
    }
}

#[test]
fn html_is_self_contained_and_escaped() {
    for name in FIXTURES {
        let page = html(&fixture(name));
        let lower = page.to_lowercase();
        // The only URL is the SVG namespace, which is a name, not a fetch.
        let without_ns = lower.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        for needle in ["http://", "https://", "src=", "@import", "url(", "<link"] {
            assert!(
                !without_ns.contains(needle),
                "{name}: the HTML must not load anything ({needle})"
            );
        }
        assert!(!page.contains("WHERE id < $1"), "{name}: SQL not escaped");
        assert!(page.contains("WHERE id &lt; $1"), "{name}");
        assert_eq!(
            page.matches("<details class=\"json\">").count(),
            fixture(name)
                .scenarios
                .iter()
                .flat_map(|s| &s.operations)
                .map(|o| o.before.explain.len() + o.after.explain.len())
                .sum::<usize>(),
            "{name}: one plan-JSON block per explained statement"
        );
    }
    let page = html(&fixture("incomplete.json"));
    assert!(page.contains("not measured"));
    assert!(page.contains("interrupted by SIGINT"));
    assert!(page.contains("<header class=\"verdict incomplete\">"));
}

#[test]
fn html_charts_and_changed_plan_nodes() {
    let page = html(&fixture("sample.json"));
    // One chart per measured operation, two curves each.
    assert_eq!(page.matches("<svg class=\"chart\"").count(), 3);
    assert_eq!(page.matches("<polyline class=\"before\"").count(), 3);
    assert_eq!(page.matches("<polyline class=\"after\"").count(), 3);
    // by_group: Seq Scan before, Bitmap Heap Scan + Bitmap Index Scan after, both under Sort.
    let by_group = &page
        [page.find("id=\"op-1-1-by_group\"").unwrap()..page.find("id=\"op-1-2-touch\"").unwrap()];
    assert!(by_group.contains("node chg\"><span class=\"label\">Seq Scan on items"));
    assert!(by_group.contains("node chg\"><span class=\"label\">Bitmap Heap Scan on items"));
    assert!(by_group.contains("<div class=\"node\"><span class=\"label\">Sort</span>"));
    // Unchanged plans mark nothing.
    let rest = &page[page.find("id=\"op-1-2-touch\"").unwrap()..];
    assert!(!rest.contains("node chg"));
}

#[test]
fn plan_json_blocks_hold_the_explain_document() {
    let r = fixture("sample.json");
    let page = html(&r);
    let plan = &r.scenarios[0].operations[0].before.explain[0].plan;
    let text = serde_json::to_string_pretty(plan).unwrap();
    let escaped = querygate::report::html::esc(&text);
    assert!(page.contains(&escaped));
    // What PEV2 reads: an array whose first element has a "Plan".
    assert!(plan[0]["Plan"]["Node Type"].is_string());
}

/// Counts what a CI system would count, and checks the attributes the common JUnit schema
/// (Jenkins xUnit's junit-10.xsd) requires or allows.
fn check_junit(xml: &str) -> (usize, usize, usize, usize) {
    let doc = roxmltree::Document::parse(xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    for a in root.attributes() {
        assert!(
            ["name", "time", "tests", "failures", "disabled", "errors"].contains(&a.name()),
            "attribute {} is not allowed on <testsuites>",
            a.name()
        );
    }
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    for suite in root.children().filter(|n| n.is_element()) {
        assert_eq!(suite.tag_name().name(), "testsuite");
        for required in ["name", "tests", "failures", "errors"] {
            assert!(
                suite.attribute(required).is_some(),
                "testsuite lacks {required}"
            );
        }
        let cases: Vec<_> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        let with = |tag: &str| {
            cases
                .iter()
                .filter(|c| c.children().any(|k| k.has_tag_name(tag)))
                .count()
        };
        let n = |a: &str| suite.attribute(a).unwrap().parse::<usize>().unwrap();
        assert_eq!(n("tests"), cases.len());
        assert_eq!(n("failures"), with("failure"));
        assert_eq!(n("errors"), with("error"));
        assert_eq!(n("skipped"), with("skipped"));
        for c in &cases {
            assert!(c.attribute("name").is_some_and(|v| !v.is_empty()));
            assert!(c.attribute("classname").is_some());
            let t = c.attribute("time").unwrap();
            assert!(t.parse::<f64>().is_ok_and(|t| t >= 0.0), "time {t}");
            for k in c.children().filter(|k| k.is_element()) {
                assert!(
                    ["failure", "error", "skipped", "system-out", "system-err"]
                        .contains(&k.tag_name().name()),
                    "unexpected <{}>",
                    k.tag_name().name()
                );
            }
        }
        tests += cases.len();
        failures += with("failure");
        errors += with("error");
        skipped += with("skipped");
    }
    let total = |a: &str| root.attribute(a).unwrap().parse::<usize>().unwrap();
    assert_eq!(
        (total("tests"), total("failures"), total("errors")),
        (tests, failures, errors)
    );
    (tests, failures, errors, skipped)
}

#[test]
fn junit_counts_operations_and_claims() {
    // sample: 3 operation gates + 6 claims; the impossible speedup claim is refuted.
    assert_eq!(check_junit(&junit(&fixture("sample.json"))), (9, 1, 0, 0));
    // incomplete: touch returns other rows (gate and claim fail), impossible was not
    // measured (error) and its claim is inconclusive (skipped); the scenario error is a case.
    assert_eq!(
        check_junit(&junit(&fixture("incomplete.json"))),
        (10, 2, 2, 1)
    );
    // compared: a baseline gate regressed on by_group (a failing gate case).
    assert_eq!(check_junit(&junit(&fixture("compared.json"))), (9, 2, 0, 0));
    let (tests, failures, _, _) = check_junit(&junit(&fixture("many.json")));
    assert_eq!((tests, failures), (20 + 7 * 4 + 7 + 6, 6));
}

#[test]
fn junit_failure_messages_carry_the_reason() {
    let xml = junit(&fixture("sample.json"));
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(failure.attribute("type"), Some("refuted"));
    assert!(failure
        .attribute("message")
        .unwrap()
        .contains("the whole interval is below the claimed 1000×"));
    let case = failure.parent().unwrap();
    assert_eq!(case.attribute("classname"), Some("tiny.impossible"));
    assert_eq!(case.attribute("name"), Some("claim: speedup >= 1000"));
}

#[test]
fn committed_schema_matches_the_types() {
    let path = root().join("docs/results.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = report::schema::results_schema_text();
    if committed != generated {
        let old: serde_json::Value = serde_json::from_str(&committed).unwrap_or_default();
        let new = report::schema::results_schema();
        let defs = |v: &serde_json::Value| {
            v.get("$defs")
                .and_then(|d| d.as_object())
                .cloned()
                .unwrap_or_default()
        };
        let (o, n) = (defs(&old), defs(&new));
        let mut changed: Vec<&String> = n
            .keys()
            .chain(o.keys())
            .filter(|k| o.get(*k) != n.get(*k))
            .collect();
        changed.sort();
        changed.dedup();
        panic!(
            "docs/results.schema.json does not match the types in src/report/model.rs \
             (definitions that differ: {changed:?}; top level differs: {}).\n\
             Regenerate it with:\n    cargo run -q -- schema > docs/results.schema.json\n\
             and say in docs/results-format.md what changed (bump SCHEMA_VERSION for an incompatible change).",
            old.get("properties") != new.get("properties")
        );
    }
}

#[test]
fn fixtures_carry_the_stable_fields() {
    // Every field docs/results-format.md calls stable is present in each fixture (full schema
    // validation of the fixtures was checked with a Draft 2020-12 validator when they were made).
    for name in FIXTURES {
        let path = root().join("tests/data/reports").join(name);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for key in ["schema_version", "exit_code", "status", "scenarios"] {
            assert!(v.get(key).is_some(), "{name}: {key}");
        }
        for op in v["scenarios"][0]["operations"].as_array().unwrap() {
            for key in [
                "name",
                "speedup",
                "speedup_p95",
                "same_result",
                "plan_changed",
                "claims",
            ] {
                assert!(op.get(key).is_some(), "{name}: operation {key}");
            }
            for side in ["before", "after"] {
                assert!(op[side].get("latency").is_some());
                assert!(op[side].get("histogram_ns_v2z").is_some());
            }
        }
    }
}

/// A run whose claims decided nothing (all inconclusive or not evaluated), with no baseline,
/// is headlined "undecided" in every output, never "pass".
#[test]
fn undecided_claims_are_not_headlined_pass() {
    let mut r = fixture("sample.json");
    r.gate = None;
    r.exit_code = 0;
    r.failures.clear();
    for (k, c) in r
        .scenarios
        .iter_mut()
        .flat_map(|s| &mut s.operations)
        .flat_map(|o| &mut o.claims)
        .enumerate()
    {
        c.verdict = if k % 2 == 0 {
            report::ClaimVerdict::Inconclusive
        } else {
            report::ClaimVerdict::NotEvaluated
        };
    }
    let md = markdown(&r);
    let first = md.lines().next().unwrap();
    assert!(first.starts_with("## ❔ querygate: undecided:"), "{first}");
    assert!(!first.contains("pass"), "{first}");
    assert!(
        html(&r).contains("<header class=\"verdict undecided\">"),
        "html header"
    );
    let mut buf = Vec::new();
    report::table::render(&mut buf, &r).unwrap();
    let table = String::from_utf8(buf).unwrap();
    assert!(table.contains("\nresult: undecided:"), "{table}");
}
