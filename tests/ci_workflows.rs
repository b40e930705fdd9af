//! The example CI files under docs/ci/ are YAML that parses, and every `querygate …` command in
//! them is accepted by the real command line (clap parser and flag validation), naming files
//! that exist: a user who copies them gets a workflow that runs.

use std::path::{Path, PathBuf};

use clap::Parser;
use querygate::cli::Cli;

fn ci_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("docs/ci")
        .expect("docs/ci exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Keys whose values are shell scripts: GitHub's `run`, GitLab's `script` and friends.
const SCRIPT_KEYS: [&str; 4] = ["run", "script", "before_script", "after_script"];

/// Every shell line of every script in the document, with `\` continuations joined.
fn shell_lines(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Array(v) => v.iter().for_each(|x| shell_lines(x, out)),
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                if SCRIPT_KEYS.contains(&k.as_str()) {
                    script_lines(v, out);
                } else {
                    shell_lines(v, out);
                }
            }
        }
        _ => {}
    }
}

fn script_lines(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => {
            let joined = without_expressions(&s.replace("\\\n", " "));
            out.extend(joined.lines().map(|l| l.trim().to_string()));
        }
        serde_json::Value::Array(v) => v.iter().for_each(|x| script_lines(x, out)),
        _ => {}
    }
}

/// GitHub's `${{ … }}` expressions become `$EXPR`: a word the shell would expand.
fn without_expressions(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        out.push_str("$EXPR");
        rest = rest[i..].find("}}").map_or("", |j| &rest[i + j + 2..]);
    }
    out.push_str(rest);
    out
}

/// The words of a `querygate …` command, up to a shell operator.
fn querygate_command(line: &str) -> Option<Vec<String>> {
    let words = shlex::split(line)?;
    if words.first().map(String::as_str) != Some("querygate") {
        return None;
    }
    Some(
        words
            .into_iter()
            .take_while(|w| !matches!(w.as_str(), "|" | "||" | "&&" | ";" | ">" | ">>"))
            .collect(),
    )
}

#[test]
fn example_workflows_parse_and_their_commands_are_the_real_cli() {
    let files = ci_files();
    assert!(
        files.len() >= 4,
        "expected the CI examples, found {files:?}"
    );
    let mut commands = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let doc: serde_json::Value = serde_saphyr::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not valid YAML: {e}", file.display()));
        assert!(doc.is_object(), "{}: not a mapping", file.display());
        let mut lines = Vec::new();
        shell_lines(&doc, &mut lines);
        for line in lines {
            let Some(args) = querygate_command(&line) else {
                continue;
            };
            commands += 1;
            let cli = Cli::try_parse_from(&args)
                .unwrap_or_else(|e| panic!("{}: `{line}` does not parse:\n{e}", file.display()));
            cli.into_config()
                .unwrap_or_else(|e| panic!("{}: `{line}` is refused: {e}", file.display()));
            // Scenario and baseline files the commands name are in the repository.
            for w in &args {
                let committed = w.ends_with(".toml") || w.starts_with("results/baselines/");
                if committed && !w.contains('$') {
                    assert!(
                        Path::new(w).is_file(),
                        "{}: `{line}` names {w}, which is not in the repository",
                        file.display()
                    );
                }
            }
        }
    }
    assert!(
        commands >= 8,
        "only {commands} querygate commands found in docs/ci"
    );
}

#[test]
fn shell_commands_are_found_through_continuations() {
    let doc: serde_json::Value = serde_saphyr::from_str(
        "run: |\n  set +e\n  querygate merge a.json \\\n    b.json -o c.json\n  echo done\n",
    )
    .unwrap();
    let mut lines = Vec::new();
    shell_lines(&doc, &mut lines);
    let cmds: Vec<Vec<String>> = lines.iter().filter_map(|l| querygate_command(l)).collect();
    assert_eq!(
        cmds,
        vec![vec![
            "querygate",
            "merge",
            "a.json",
            "b.json",
            "-o",
            "c.json"
        ]]
    );
}
