//! From TOML text to a validated [`Scenario`]. Every error names file, line and column.
//!
//! Parsing is pure: referenced files are read through a [`FileReader`], so tests can supply them
//! from memory and `check` can validate without a server.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::expr;
use super::model::*;
use crate::error::Located;
use toml_error::toml_error;

mod data;
mod operation;
mod run;
mod toml_error;

/// How the loader reaches the files and folders a scenario names: [`FsReader`] in `load`,
/// files from memory in tests. `Err` carries a human-readable reason.
pub trait FileReader {
    /// The text of the file at `path`.
    fn read(&self, path: &Path) -> Result<String, String>;
    /// The names of the entries of the folder at `path` (file names, not paths), in any order.
    fn list(&self, path: &Path) -> Result<Vec<String>, String>;
}

/// The file system.
pub struct FsReader;

impl FileReader for FsReader {
    fn read(&self, path: &Path) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }

    fn list(&self, path: &Path) -> Result<Vec<String>, String> {
        let entries = std::fs::read_dir(path).map_err(|e| e.to_string())?;
        Ok(entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    description: Option<String>,
    data: RawData,
    migration: Option<RawMigration>,
    server: Option<RawServer>,
    run: Option<RawRun>,
    gate: Option<RawGate>,
    load: Option<Spanned<super::load_section::RawLoad>>,
    #[serde(rename = "operation", default)]
    operations: Vec<Spanned<RawOperation>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    #[serde(default)]
    schema: Option<Spanned<toml::Value>>,
    seed: Option<Spanned<toml::Value>>,
    scale: Option<Spanned<toml::Value>>,
    #[serde(default)]
    vars: BTreeMap<String, Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMigration {
    up: Option<Spanned<toml::Value>>,
    dir: Option<Spanned<String>>,
    before: Option<Spanned<toml::Value>>,
    after: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default)]
    settings: BTreeMap<String, Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    warmup: Option<Spanned<i64>>,
    rounds: Option<Spanned<i64>>,
    iterations: Option<Spanned<i64>>,
    round_budget_ms: Option<Spanned<i64>>,
    seed: Option<Spanned<i64>>,
    order: Option<Spanned<String>>,
    statement_timeout_ms: Option<Spanned<i64>>,
    reconnect: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperation {
    name: Spanned<String>,
    description: Option<String>,
    sql: Option<Spanned<toml::Value>>,
    before: Option<Spanned<toml::Value>>,
    after: Option<Spanned<toml::Value>>,
    transaction: Option<bool>,
    params: Option<Spanned<toml::Value>>,
    mode: Option<Spanned<String>>,
    claim: Option<Spanned<toml::Value>>,
    expect_same_result: Option<bool>,
    gate: Option<RawGate>,
    /// Share of the load mix (`[load]`); default 1, 0 leaves the operation out of load runs.
    weight: Option<Spanned<i64>>,
}

/// `[gate]` (scenario) or `gate = { … }` (operation): regression-gate thresholds.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawGate {
    latency_threshold: Option<Spanned<toml::Value>>,
    buffers_tolerance: Option<Spanned<toml::Value>>,
    buffers_floor: Option<Spanned<i64>>,
    screen_confidence: Option<Spanned<toml::Value>>,
    confirm_confidence: Option<Spanned<toml::Value>>,
}

/// Reads and validates the scenario at `path`. `scale` overrides the file's `data.scale`.
pub fn load(path: &Path, scale: Option<i64>) -> Result<Scenario, Located> {
    let bytes = std::fs::read(path)
        .map_err(|e| Located::file(path, format!("cannot read the scenario file: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let byte = e.as_bytes()[at];
        let lossy = String::from_utf8_lossy(e.as_bytes());
        Located::at(
            path,
            &lossy,
            at,
            format!("the scenario file is not UTF-8: byte 0x{byte:02X} here is not valid UTF-8 (a Latin-1 or Windows-1252 character?); save the file as UTF-8"),
        )
    })?;
    parse(path, &text, scale, &FsReader)
}

/// Validates scenario `text` (the contents of `path`); files it names are read by `read`.
pub fn parse(
    path: &Path,
    text: &str,
    scale: Option<i64>,
    read: &dyn FileReader,
) -> Result<Scenario, Located> {
    let raw: RawScenario = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    let cx = Cx {
        path,
        text,
        dir: path.parent().unwrap_or(Path::new(".")),
        read,
        doc: DeTable::parse(text).ok(),
    };

    let name = raw.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(cx.err(raw.name.span(), "`name` must not be empty"));
    }

    let run = cx.run_settings(raw.run)?;
    let data = raw.data;
    let scale = match (scale, &data.scale) {
        (Some(s), _) => s,
        (None, Some(s)) => cx.scale(s)?,
        (None, None) => 1,
    };
    if scale < 1 {
        let span = data.scale.as_ref().map_or(0..0, |s| s.span());
        return Err(cx.err(span, format!("`scale` must be at least 1, found {scale}")));
    }
    let vars = cx.variables(&data, scale, run.seed)?;

    let schema = match &data.schema {
        Some(v) => cx.files(v, "data.schema")?,
        None => vec![],
    };
    let seed = match &data.seed {
        Some(v) => cx.files(v, "data.seed")?,
        None => vec![],
    };
    let migration = cx.migration(raw.migration)?;

    let (settings, setting_spans) = cx.settings(raw.server)?;

    if raw.operations.is_empty() {
        return Err(Located::at(
            path,
            text,
            text.len(),
            "a scenario needs at least one [[operation]] (with a `name` and its `sql`)",
        ));
    }
    let operations = cx.operations(raw.operations, raw.gate.as_ref(), &vars)?;
    let load = match raw.load {
        Some(l) => {
            let span = l.span();
            Some(cx.load_section(l.into_inner(), span)?)
        }
        None => None,
    };
    if let (Some(l), true) = (&load, migration.up.is_empty()) {
        if l.under_load {
            return Err(cx.err(
                l.span.clone(),
                "`under_load = true` runs the scenario's migration under traffic, and it has none: add [migration] up = [\"….sql\"]",
            ));
        }
    }
    if load.is_some() && operations.iter().all(|o| o.weight == 0) {
        let at = load.as_ref().map_or(0..0, |l| l.span.clone());
        return Err(cx.err(
            at,
            "every operation has `weight = 0`: the load mix is empty",
        ));
    }

    Ok(Scenario {
        path: path.to_path_buf(),
        text: text.to_string(),
        name,
        description: raw.description,
        schema,
        seed,
        scale,
        vars,
        migration,
        settings,
        setting_spans,
        run,
        operations,
        load,
    })
}

impl Cx<'_> {
    /// `data.scale`: a whole number of at least 1. TOML floats with an integral value (`1e5`,
    /// as the docs write it) are whole numbers too.
    fn scale(&self, v: &Spanned<toml::Value>) -> Result<i64, Located> {
        match v.get_ref() {
            toml::Value::Integer(i) => Ok(*i),
            toml::Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(*f as i64),
            toml::Value::Float(f) => Err(self.err(
                v.span(),
                format!("`scale` must be a whole number (rows of the seed), found {f}"),
            )),
            other => Err(self.err(
                v.span(),
                format!("`scale` must be an integer, found {}", kind(other)),
            )),
        }
    }
}

struct Cx<'a> {
    path: &'a Path,
    text: &'a str,
    dir: &'a Path,
    read: &'a dyn FileReader,
    /// The document with a span for every value: serde gives the span of a whole value only,
    /// this finds the items of a list and the keys of an inline table inside it.
    doc: Option<Spanned<DeTable<'a>>>,
}

impl Cx<'_> {
    /// The `[load]` table.
    fn load_section(
        &self,
        raw: super::load_section::RawLoad,
        span: Range<usize>,
    ) -> Result<super::LoadSettings, Located> {
        let err = |at: Range<usize>, m: String| self.err(at, m);
        let strings = |v: &Spanned<toml::Value>| -> Result<Vec<(String, Range<usize>)>, Located> {
            let bad = |found: &str| {
                format!("`load.claim` must be a string or a list of strings, found {found}")
            };
            match v.get_ref() {
                toml::Value::String(s) => Ok(vec![(s.clone(), v.span())]),
                toml::Value::Array(a) => Ok(self
                    .strings(a, &v.span(), &bad)?
                    .into_iter()
                    .map(|(s, at)| (s.to_string(), at))
                    .collect()),
                other => Err(self.err(v.span(), bad(&kind(other)))),
            }
        };
        super::load_section::load_settings(raw, span, &err, &strings)
    }

    fn err(&self, span: Range<usize>, message: impl Into<String>) -> Located {
        Located::at(self.path, self.text, span.start, message)
    }

    /// An expression error inside the TOML string at `span`: point into the string (exact
    /// when the string has no escapes).
    fn expr_err(&self, span: &Range<usize>, e: expr::ExprError) -> Located {
        Located::at(
            self.path,
            self.text,
            self.string_start(span) + e.offset,
            e.message,
        )
    }

    /// Where the text of the string value at `span` starts: past its opening quote(s) and, for
    /// a multi-line string, past the newline TOML trims after them.
    fn string_start(&self, span: &Range<usize>) -> usize {
        let rest = self.text.get(span.start..).unwrap_or("");
        let mut at = span.start;
        if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
            at += 3;
            let after = self.text.get(at..).unwrap_or("");
            if after.starts_with("\r\n") {
                at += 2;
            } else if after.starts_with('\n') {
                at += 1;
            }
        } else if rest.starts_with('"') || rest.starts_with('\'') {
            at += 1;
        }
        at
    }

    /// The value whose span is `span`, found in the spanned document.
    fn node(&self, span: &Range<usize>) -> Option<&DeValue<'_>> {
        fn find<'d, 'i>(
            v: &'d Spanned<DeValue<'i>>,
            span: &Range<usize>,
        ) -> Option<&'d DeValue<'i>> {
            if v.span() == *span {
                return Some(v.get_ref());
            }
            match v.get_ref() {
                DeValue::Array(a) => a.iter().find_map(|x| find(x, span)),
                DeValue::Table(t) => t.iter().find_map(|(_, x)| find(x, span)),
                _ => None,
            }
        }
        let doc = self.doc.as_ref()?;
        doc.get_ref().iter().find_map(|(_, v)| find(v, span))
    }

    /// The spans of the items of the list at `span` (empty when unknown).
    fn items(&self, span: &Range<usize>) -> Vec<Range<usize>> {
        match self.node(span) {
            Some(DeValue::Array(a)) => a.iter().map(|x| x.span()).collect(),
            _ => vec![],
        }
    }

    /// The spans of key `key` and of its value in the inline table at `span`.
    fn entry(&self, span: &Range<usize>, key: &str) -> Option<(Range<usize>, Range<usize>)> {
        match self.node(span) {
            Some(DeValue::Table(t)) => t
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == key)
                .map(|(k, v)| (k.span(), v.span())),
            _ => None,
        }
    }

    /// An unknown key `k` in the inline table `what` at `span`, which takes `expected` keys.
    fn unknown_key(&self, span: &Range<usize>, what: &str, k: &str, expected: &[&str]) -> Located {
        let at = self.entry(span, k).map_or(span.clone(), |(key, _)| key);
        let list: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
        let mut m = format!(
            "unknown key `{k}` in `{what}`, expected {}",
            list.join(" or ")
        );
        if let Some(best) = expr::closest(k, expected.iter().copied()) {
            m += &format!("; did you mean `{best}`?");
        }
        self.err(at, m)
    }

    /// The strings of list `a` (at `span`) with the span of each; `bad` words the error for
    /// an item of another type (given its type).
    fn strings<'v>(
        &self,
        a: &'v [toml::Value],
        span: &Range<usize>,
        bad: &dyn Fn(&str) -> String,
    ) -> Result<Vec<(&'v str, Range<usize>)>, Located> {
        let spans = self.items(span);
        a.iter()
            .enumerate()
            .map(|(i, x)| {
                let at = spans.get(i).cloned().unwrap_or_else(|| span.clone());
                match x.as_str() {
                    Some(s) => Ok((s, at)),
                    None => Err(self.err(at, bad(&kind(x)))),
                }
            })
            .collect()
    }
}

/// A value's type for messages, with the value when it is short: "the integer 5", "a list".
fn kind(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) if s.chars().count() <= 40 => format!("the string {s:?}"),
        toml::Value::String(_) => "a string".into(),
        toml::Value::Integer(i) => format!("the integer {i}"),
        toml::Value::Float(f) => format!("the number {f}"),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => format!("the date {d}"),
        toml::Value::Array(_) => "a list".into(),
        toml::Value::Table(_) => "a table".into(),
    }
}
