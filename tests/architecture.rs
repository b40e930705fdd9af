//! The module graph points down the data flow: no top-level module of src/ reaches, through
//! `crate::` paths, a module that reaches it back, and every such path points to a lower line of
//! ARCHITECTURE.md's module layers; the renderers of src/report/ stand side by side, none named
//! by another or by a file they share; only `cli.rs` names clap. Run with
//! `cargo test --test architecture`.
//! The scan reads every `crate::<module>` path (in `use` trees, including grouped
//! `use crate::{a, b::c}`, and inline paths) outside comments and string literals.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level module a source file belongs to (`src/foo.rs` and `src/foo/**` are `foo`);
/// `None` for the crate roots, which only declare modules.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    match first.strip_suffix(".rs") {
        Some("lib") | Some("main") => None,
        Some(stem) => Some(stem.to_string()),
        None => Some(first),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source with comments and the contents of string and char literals blanked out, so a
/// path mentioned in a doc comment or a message is not an import.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            i = end;
            out.push(' ');
        } else if let Some(end) = raw_string_end(text, i) {
            i = end;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && char_literal_len(&b[i..]) > 0 {
            i += char_literal_len(&b[i..]);
            out.push_str("' '");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else {
            let c = text[i..].chars().next().expect("char");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Where a raw string literal (`r"…"`, `r#"…"#`, `br#"…"#`) starting at byte `i` ends.
fn raw_string_end(text: &str, i: usize) -> Option<usize> {
    let b = text.as_bytes();
    if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
        return None;
    }
    let start = if b[i..].starts_with(b"br") {
        i + 2
    } else if b[i] == b'r' {
        i + 1
    } else {
        return None;
    };
    let hashes = b[start..].iter().take_while(|&&c| c == b'#').count();
    if b.get(start + hashes) != Some(&b'"') {
        return None;
    }
    let close = format!("\"{}", "#".repeat(hashes));
    let body = start + hashes + 1;
    Some(
        text[body..]
            .find(&close)
            .map_or(b.len(), |e| body + e + close.len()),
    )
}

/// The length of a char literal (`'"'`, `'\''`, `'\u{7f}'`) at the start of `b`, 0 when `b`
/// starts a lifetime instead.
fn char_literal_len(b: &[u8]) -> usize {
    if b.len() >= 3 && b[1] != b'\\' && b[2] == b'\'' {
        return 3;
    }
    if b.len() >= 4 && b[1] == b'\\' {
        return b[3..]
            .iter()
            .take(10)
            .position(|&c| c == b'\'')
            .map_or(0, |p| p + 4);
    }
    0
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first path segment of every item in a `{ ... }` use group starting at `s[0] == '{'`.
fn group_heads(s: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut item_start = true;
    for (i, c) in s.char_indices() {
        match c {
            '{' => {
                depth += 1;
                item_start = depth == 1;
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => item_start = true,
            c if c.is_whitespace() => {}
            _ if item_start && depth == 1 => {
                let id = ident_at(&s[i..]);
                if !id.is_empty() {
                    heads.push(id.to_string());
                }
                item_start = false;
            }
            _ => {}
        }
    }
    heads
}

fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // e.g. `$crate::` or a longer identifier
        }
        let rest = code[at + "crate::".len()..].trim_start();
        if rest.starts_with('{') {
            refs.extend(group_heads(rest));
        } else {
            refs.insert(ident_at(rest).to_string());
        }
    }
    refs
}

/// The module graph: for each top-level module, the other top-level modules it names.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| top_module(&src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(from) = top_module(&src, file) else {
            continue;
        };
        let code = code_only(&std::fs::read_to_string(file).expect("read source"));
        let edges = graph.entry(from.clone()).or_default();
        for to in crate_refs(&code) {
            if to != from && modules.contains(&to) {
                edges.insert(to);
            }
        }
    }
    graph
}

/// A cycle in the graph as the list of modules along it (first repeated at the end), if any.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[pos..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, done, stack) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut done, &mut Vec::new()))
}

#[test]
fn top_level_modules_have_no_import_cycle() {
    let graph = module_graph();
    assert!(graph.len() > 5, "the scan found too few modules: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        let edges: Vec<String> = graph
            .iter()
            .map(|(m, to)| {
                format!(
                    "  {m} -> {}",
                    to.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        panic!(
            "import cycle between top-level modules: {}\nmodule graph:\n{}",
            cycle.join(" -> "),
            edges.join("\n")
        );
    }
}

/// The module layers of ARCHITECTURE.md, top first: the lines of the code block under
/// "### Module layers", each a `·`-separated list of modules.
fn layers() -> Vec<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(path).expect("read ARCHITECTURE.md");
    let section = text
        .split("### Module layers")
        .nth(1)
        .expect("ARCHITECTURE.md has a `### Module layers` section");
    let block = section.split("```").nth(1).expect("a code block in it");
    block
        .lines()
        .map(|line| {
            line.split('·')
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|line| !line.is_empty())
        .collect()
}

#[test]
fn imports_point_down_the_module_layers() {
    let graph = module_graph();
    let layers = layers();
    let line: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, l)| l.iter().map(move |m| (m.as_str(), i)))
        .collect();
    let mut wrong = Vec::new();
    for (from, to) in &graph {
        let Some(&at) = line.get(from.as_str()) else {
            wrong.push(format!("  `{from}` is not in the list"));
            continue;
        };
        for t in to {
            if line.get(t.as_str()).is_some_and(|&below| below <= at) {
                wrong.push(format!("  {from} -> {t} does not point to a lower line"));
            }
        }
    }
    for m in line.keys().filter(|m| !graph.contains_key(**m)) {
        wrong.push(format!("  `{m}` is listed but is no module of src/"));
    }
    assert!(
        wrong.is_empty(),
        "ARCHITECTURE.md's module layers do not match the code (move the import, or restate \
         the layers honestly):\n{}",
        wrong.join("\n")
    );
}

/// The renderers of src/report/: each stands on the report model and the shared files
/// (`text.rs`, `server.rs`, `scaling.rs`, `load_text.rs`, `histogram.rs`), never on another
/// renderer.
const RENDERERS: [&str; 4] = ["table", "markdown", "html", "junit"];

/// The files of src/report/ that `code` names through `super::` or `report::` paths: the first
/// segment after them (and after any further `super::`), or each head of a `{ ... }` group.
fn report_refs(code: &str, files: &BTreeSet<String>) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for prefix in ["super::", "report::"] {
        for (at, _) in code.match_indices(prefix) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let mut rest = code[at + prefix.len()..].trim_start();
            while let Some(r) = rest.strip_prefix("super::") {
                rest = r.trim_start();
            }
            if rest.starts_with('{') {
                refs.extend(group_heads(rest));
            } else {
                refs.insert(ident_at(rest).to_string());
            }
        }
    }
    refs.retain(|r| files.contains(r));
    refs
}

/// The files a renderer includes as its own child modules (`#[path = "html_load.rs"]`).
fn included_files(text: &str) -> Vec<String> {
    text.match_indices("#[path = \"")
        .filter_map(|(at, m)| {
            let rest = &text[at + m.len()..];
            let name = &rest[..rest.find('"')?];
            Some(name.strip_suffix(".rs")?.to_string())
        })
        .collect()
}

#[test]
fn renderers_depend_only_on_the_report_model_and_shared_text() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/report");
    let mut paths = Vec::new();
    rust_files(&dir, &mut paths);
    let source: BTreeMap<String, String> = paths
        .iter()
        .filter(|p| p.parent() == Some(dir.as_path()))
        .map(|p| {
            let stem = p.file_stem().expect("stem").to_string_lossy().to_string();
            (stem, std::fs::read_to_string(p).expect("read report file"))
        })
        .filter(|(stem, _)| stem != "mod")
        .collect();
    let files: BTreeSet<String> = source.keys().cloned().collect();
    // Which renderer each file is part of: its own file and the files it includes.
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    for renderer in RENDERERS {
        let text = source
            .get(renderer)
            .unwrap_or_else(|| panic!("src/report/{renderer}.rs is missing"));
        owner.insert(renderer, renderer);
        for child in included_files(text) {
            let child = files.get(&child).expect("an included file of src/report");
            owner.insert(child.as_str(), renderer);
        }
    }
    let mut wrong = Vec::new();
    for (file, text) in &source {
        let own = owner.get(file.as_str()).copied();
        for to in report_refs(&code_only(text), &files) {
            if RENDERERS.contains(&to.as_str()) && Some(to.as_str()) != own {
                wrong.push(format!("  src/report/{file}.rs names the {to} renderer"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "renderers stand side by side, and the files they share name none of them \
         (share through text.rs, server.rs, scaling.rs, load_text.rs, each renderer escaping \
         for itself):\n{}",
        wrong.join("\n")
    );
}

/// Whether `code` (comments and literals blanked) names `word` as a whole identifier.
fn names(code: &str, word: &str) -> bool {
    code.match_indices(word).any(|(at, _)| {
        let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
        !code[..at].chars().next_back().is_some_and(ident)
            && !code[at + word.len()..].chars().next().is_some_and(ident)
    })
}

/// ARCHITECTURE.md: clap types live in `cli.rs` only, converted there into a validated
/// `Config` (or, for bench targets, by `cli::parse_bench_args`); no other file names clap,
/// not even `main.rs` (it calls `Cli::from_args`).
#[test]
fn only_cli_rs_names_clap() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "the scan found too few files: {files:?}");
    let naming: Vec<String> = files
        .iter()
        .filter(|f| **f != src.join("cli.rs"))
        .filter(|f| {
            names(
                &code_only(&std::fs::read_to_string(f).expect("read source")),
                "clap",
            )
        })
        .map(|f| f.strip_prefix(&src).unwrap_or(f).display().to_string())
        .collect();
    assert!(
        naming.is_empty(),
        "these files name clap, whose types belong in src/cli.rs only (add a function there): {naming:?}"
    );
}

#[test]
fn the_scan_sees_grouped_and_inline_paths() {
    let code = code_only(
        "use crate::{a::X, b, c::{d, e}};\n// crate::f\nlet s = \"crate::g\"; crate::h::y();",
    );
    let refs: Vec<String> = crate_refs(&code).into_iter().collect();
    assert_eq!(refs, ["a", "b", "c", "h"]);
    assert!(names(&code_only("use clap::Parser;"), "clap"));
    assert!(names(&code_only("<Cli as clap::Parser>::parse()"), "clap"));
    assert!(!names(
        &code_only("// clap\nlet s = \"clap\"; let clapper = 1;"),
        "clap"
    ));
    let files = BTreeSet::from(["html", "load_text", "markdown", "text"].map(String::from));
    let code = code_only(
        "use super::super::{load_text, Report};\nuse super::html::esc;\n// super::text\n\
         let s = crate::report::markdown::escape(x); super::esc(y);",
    );
    let refs: Vec<String> = report_refs(&code, &files).into_iter().collect();
    assert_eq!(refs, ["html", "load_text", "markdown"]);
    assert_eq!(
        included_files("#[path = \"html_load.rs\"]\nmod load;"),
        ["html_load"]
    );
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
}
