//! The HTML report in a real browser: Debian's headless chromium loads the page written for
//! the committed results files and must render it without script errors, with the operation
//! names and the charts in the DOM. Screenshots are left in target/tmp/html_browser/ for a
//! human to look at.
//!
//! Needs chromium: `apt-get install -y chromium` (the CI script installs it). Without it the
//! test fails rather than skips, so a missing browser cannot pass silently.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use querygate::report::{self, Report};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> Report {
    let path = root().join("tests/data/reports").join(name);
    report::write::parse_report(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()))
}

/// `chromium` from PATH, or the binary named by `QUERYGATE_CHROMIUM`.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("QUERYGATE_CHROMIUM") {
        return PathBuf::from(p);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "chromium is not installed, and this test needs a real browser to check the HTML report.\n\
             Install it with:\n    apt-get update && apt-get install -y chromium\n\
             (or point QUERYGATE_CHROMIUM at a chromium binary)"
        )
    })
}

/// Runs chromium headless with a deadline: a browser that hangs must not hang the tests.
fn run_chromium(args: &[&str], url: &str) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Read the pipes on threads so a chatty browser cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut b).ok();
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut b).ok();
        b
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("chromium did not finish within 90 s for {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

fn write_html(dir: &Path, name: &str, r: &Report) -> PathBuf {
    let path = dir.join(format!("{name}.html"));
    let mut buf = Vec::new();
    report::html::render(&mut buf, r).unwrap();
    std::fs::write(&path, buf).unwrap();
    path
}

fn url(path: &Path, fragment: &str) -> String {
    format!("file://{}{fragment}", path.display())
}

/// Console errors chromium logs to stderr (`CONSOLE(…)] "Uncaught …"`).
fn script_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("Uncaught") || (l.contains(":CONSOLE") && l.contains("rror")))
        .collect()
}

fn dump_dom(path: &Path, fragment: &str) -> String {
    let o = run_chromium(&["--dump-dom"], &url(path, fragment));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "chromium failed: {stderr}");
    let errors = script_errors(&stderr);
    assert!(errors.is_empty(), "script errors: {errors:#?}");
    String::from_utf8(o.stdout).unwrap()
}

fn screenshot(path: &Path, png: &Path, size: &str) {
    let o = run_chromium(
        &[
            &format!("--screenshot={}", png.display()),
            &format!("--window-size={size}"),
        ],
        &url(path, ""),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "chromium failed: {stderr}");
    let bytes =
        std::fs::read(png).unwrap_or_else(|e| panic!("no screenshot {}: {e}", png.display()));
    assert!(
        bytes.starts_with(b"\x89PNG"),
        "{} is not a PNG",
        png.display()
    );
    assert!(bytes.len() > 10_000, "{} looks blank", png.display());
}

fn out_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html_browser");
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn report_renders_in_headless_chromium() {
    let dir = out_dir();
    for name in ["sample", "incomplete", "many", "compared"] {
        let r = fixture(&format!("{name}.json"));
        let page = write_html(&dir, name, &r);
        let dom = dump_dom(&page, "");
        assert!(
            dom.contains("data-script=\"ok\""),
            "{name}: the inline script did not run to its end"
        );
        for s in &r.scenarios {
            for op in &s.operations {
                assert!(dom.contains(&op.name), "{name}: {} missing", op.name);
            }
        }
        let measured = r
            .scenarios
            .iter()
            .flat_map(|s| &s.operations)
            .filter(|o| o.before.latency.count > 0 || o.after.latency.count > 0)
            .count();
        assert_eq!(
            dom.matches("<svg class=\"chart\"").count(),
            measured,
            "{name}: one chart per measured operation"
        );
        assert!(dom.contains("<polyline class=\"after\""), "{name}");
        // The browser parsed the escaped SQL back into text.
        assert!(dom.contains("WHERE id &lt; $1"), "{name}");
    }
    let incomplete = dump_dom(&dir.join("incomplete.html"), "");
    assert!(incomplete.contains("not measured"));
    assert!(incomplete.contains("interrupted by SIGINT"));
}

#[test]
fn following_an_anchor_opens_the_operation() {
    let dir = out_dir();
    let r = fixture("many.json");
    let page = write_html(&dir, "many_anchor", &r);
    // With 20 operations every section starts folded; the anchor's script unfolds one.
    let dom = dump_dom(&page, "#op-1-7-by_group_07");
    let at = dom
        .find("id=\"op-1-7-by_group_07\"")
        .expect("anchor in the DOM");
    let tag = &dom[dom[..at].rfind('<').unwrap()..at + dom[at..].find('>').unwrap()];
    assert!(tag.contains(" open"), "not opened: {tag}");
    let other = dom.find("id=\"op-1-8-touch_08\"").unwrap();
    let tag = &dom[dom[..other].rfind('<').unwrap()..other + dom[other..].find('>').unwrap()];
    assert!(!tag.contains(" open"), "opened too: {tag}");
}

#[test]
fn screenshots_at_normal_width_and_with_twenty_operations() {
    let dir = out_dir();
    let sample = write_html(&dir, "sample_shot", &fixture("sample.json"));
    screenshot(&sample, &dir.join("sample.png"), "1280,2400");
    let narrow = dir.join("sample_narrow.png");
    screenshot(&sample, &narrow, "760,2000");
    let many = write_html(&dir, "many_shot", &fixture("many.json"));
    screenshot(&many, &dir.join("many.png"), "1280,1800");
    let incomplete = write_html(&dir, "incomplete_shot", &fixture("incomplete.json"));
    screenshot(&incomplete, &dir.join("incomplete.png"), "1280,2400");
}
