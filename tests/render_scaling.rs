//! The sweep view in every renderer (snapshots from a committed sweep, tests/data/reports/
//! sweep.json), a header that counts scenarios and not scenario × scale, verdict lines that
//! name their scale, and Markdown that fits a GitHub comment for any number of operations.

use std::path::PathBuf;

use querygate::report::{self, markdown::GITHUB_LIMIT, Report};

fn fixture(name: &str) -> Report {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/reports")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    report::write::parse_report(&text).unwrap()
}

fn markdown(r: &Report) -> String {
    report::markdown::to_string(r)
}

#[test]
fn sweep_view_snapshots() {
    let r = fixture("sweep.json");
    assert_eq!(
        r.sweeps.len(),
        1,
        "the fixture is one scenario at three scales"
    );
    let mut table = Vec::new();
    report::table::sweeps(&mut table, &r).unwrap();
    insta::assert_snapshot!("sweep_table", String::from_utf8(table).unwrap());
    let mut md = String::new();
    report::markdown::sweeps(&mut md, &r);
    insta::assert_snapshot!("sweep_markdown", md);
    let mut html = String::new();
    report::html::sweeps(&mut html, &r);
    insta::assert_snapshot!("sweep_html", html);
}

#[test]
fn a_sweep_is_one_scenario_and_every_verdict_names_its_scale() {
    let r = fixture("sweep.json");
    let md = markdown(&r);
    assert!(md.contains("in 1 scenario at 3 scales"), "{md}");
    let html = report::html::to_string(&r);
    assert!(html.contains("in 1 scenario at 3 scales"));
    assert!(html.contains("<svg class=\"sweep-chart\""));
    let mut table = Vec::new();
    report::table::render(&mut table, &r).unwrap();
    let table = String::from_utf8(table).unwrap();
    let mut verdict_lines = 0;
    for line in table.lines().filter(|l| {
        l.contains(" REFUTED: ") || l.contains(" inconclusive: ") || l.contains(" holds: ")
    }) {
        verdict_lines += 1;
        assert!(
            line.contains(" at scale ") || line.contains("over the sweep"),
            "a verdict line without its scale: {line}"
        );
    }
    assert!(
        verdict_lines > 0,
        "the fixture has verdicts that are not `holds`"
    );
    for f in &r.failures {
        assert!(
            f.contains(" at scale ") || f.contains("over the sweep"),
            "{f}"
        );
    }
    for line in md
        .lines()
        .filter(|l| l.starts_with("- ✗ ") || l.starts_with("- ? "))
    {
        assert!(line.contains(" at scale "), "{line}");
    }
}

/// `n` operations: the operations of many.json repeated and renamed.
fn with_operations(n: usize) -> Report {
    let mut r = fixture("many.json");
    let ops = r.scenarios[0].operations.clone();
    r.scenarios[0].operations = (0..n)
        .map(|i| {
            let mut op = ops[i % ops.len()].clone();
            op.name = format!("{}_{i:05}", op.name);
            op
        })
        .collect();
    r
}

#[test]
fn markdown_fits_a_github_comment_for_any_number_of_operations() {
    let small = markdown(&fixture("many.json"));
    assert!(
        !small.contains("Shortened to fit"),
        "20 operations fit whole"
    );
    for n in [60, 400, 5_000] {
        let r = with_operations(n);
        let md = markdown(&r);
        let chars = md.chars().count();
        assert!(chars <= GITHUB_LIMIT, "{n} operations: {chars} characters");
        // The verdict comes first, and a note says where the rest is.
        assert!(md.starts_with("## "), "{n}: {}", &md[..80]);
        assert!(md.contains("Shortened to fit a GitHub comment"), "{n}");
        assert!(md.contains("HTML report"), "{n}");
        assert_eq!(
            md.matches("<details>").count(),
            md.matches("</details>").count(),
            "{n}: unbalanced <details>"
        );
        // The table is kept: the first operation's row is there.
        assert!(
            md.contains(&format!("| {} |", r.scenarios[0].operations[0].name).replace('_', "\\_"))
                || md.contains(&format!("| {} |", r.scenarios[0].operations[0].name)),
            "{n}: the table's first row is missing"
        );
    }
    // 60 operations keep every table row (only the details go).
    let r = with_operations(60);
    let md = markdown(&r);
    let last = &r.scenarios[0].operations[59].name;
    assert!(md.contains(last.as_str()) || md.contains(&last.replace('_', "\\_")));
    assert!(!md.contains("cut here to fit"));
}
