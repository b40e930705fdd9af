//! From TOML text to a validated [`Scenario`]. Every error names file, line and column.
//!
//! Parsing is pure: referenced files are read through a [`FileReader`], so tests can supply them
//! from memory and `check` can validate without a server.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::expr::{self, Value};
use super::model::*;
use super::{claim, max_placeholder};
use crate::error::Located;

/// Reads a file a scenario names; `Err` carries a human-readable reason.
pub type FileReader<'a> = &'a dyn Fn(&Path) -> Result<String, String>;

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
    #[serde(rename = "operation", default)]
    operations: Vec<Spanned<RawOperation>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    #[serde(default)]
    schema: Option<Spanned<toml::Value>>,
    seed: Option<Spanned<toml::Value>>,
    scale: Option<Spanned<i64>>,
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
    let text = std::fs::read_to_string(path)
        .map_err(|e| Located::file(path, format!("cannot read the scenario file: {e}")))?;
    let reader = |p: &Path| std::fs::read_to_string(p).map_err(|e| e.to_string());
    parse(path, &text, scale, &reader)
}

/// Validates scenario `text` (the contents of `path`); files it names are read by `read`.
pub fn parse(
    path: &Path,
    text: &str,
    scale: Option<i64>,
    read: FileReader<'_>,
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
        (None, Some(s)) => *s.get_ref(),
        (None, None) => 1,
    };
    if scale < 1 {
        let span = data.scale.as_ref().map_or(0..0, |s| s.span());
        return Err(cx.err(span, format!("`scale` must be at least 1, found {scale}")));
    }
    let mut vars = BTreeMap::from([
        ("scale".to_string(), Value::Int(scale)),
        ("seed".to_string(), Value::Int(run.seed as i64)),
    ]);
    for (key, value) in &data.vars {
        if vars.contains_key(key) {
            return Err(cx.err(
                value.span(),
                format!("variable `{key}` is predefined by querygate"),
            ));
        }
    }
    // Variables may refer to each other in any order: evaluate in passes until none is left,
    // reporting the first failure when a pass makes no progress (unknown name or a cycle).
    let mut pending: Vec<(&String, &Spanned<toml::Value>)> = data.vars.iter().collect();
    while !pending.is_empty() {
        let mut progressed = false;
        let mut first_error = None;
        let mut still = Vec::new();
        for (key, value) in pending {
            let v = match value.get_ref() {
                toml::Value::Integer(i) => Ok(Value::Int(*i)),
                toml::Value::Float(f) => Ok(Value::Float(*f)),
                toml::Value::String(s) => expr::eval_const(s, &vars),
                other => {
                    return Err(cx.err(
                        value.span(),
                        format!(
                            "variable `{key}` must be a number or an expression string, found {}",
                            kind(other)
                        ),
                    ))
                }
            };
            match v {
                Ok(v) => {
                    vars.insert(key.clone(), v);
                    progressed = true;
                }
                Err(e) => {
                    first_error.get_or_insert((key, value.span(), e));
                    still.push((key, value));
                }
            }
        }
        if !progressed {
            let (key, span, mut e) = first_error.expect("a pass without progress has an error");
            // An unknown name that is itself a variable still waiting: they refer to each other.
            let other = e
                .message
                .strip_prefix("unknown variable `")
                .and_then(|m| m.split('`').next())
                .filter(|o| still.iter().any(|(k, _)| k.as_str() == *o));
            if let Some(other) = other {
                let names: Vec<String> = still.iter().map(|(k, _)| format!("`{k}`")).collect();
                e.message = format!(
                    "variable `{key}` needs `{other}`, which cannot be computed first: the variables {} refer to each other in a cycle",
                    names.join(", ")
                );
            }
            return Err(cx.expr_err(&span, e));
        }
        pending = still;
    }

    let schema = match &data.schema {
        Some(v) => cx.files(v, "data.schema")?,
        None => vec![],
    };
    let seed = match &data.seed {
        Some(v) => cx.files(v, "data.seed")?,
        None => vec![],
    };
    let migration = cx.migration(raw.migration)?;

    let mut settings = BTreeMap::new();
    for (k, v) in raw.server.map(|s| s.settings).unwrap_or_default() {
        let s = match v.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => if *b { "on" } else { "off" }.to_string(),
            other => {
                return Err(cx.err(
                    v.span(),
                    format!(
                        "setting `{k}` must be a string or number, found {}",
                        kind(other)
                    ),
                ))
            }
        };
        settings.insert(k, s);
    }

    if raw.operations.is_empty() {
        return Err(Located::at(
            path,
            text,
            text.len(),
            "a scenario needs at least one [[operation]] (with a `name` and its `sql`)",
        ));
    }
    let defaults = cx.thresholds(raw.gate.as_ref(), crate::report::Thresholds::default())?;
    let mut operations: Vec<Operation> = Vec::new();
    for op in raw.operations {
        let span = op.span();
        let name_span = op.get_ref().name.span();
        let op = cx.operation(op.into_inner(), span, &vars, defaults)?;
        if let Some(prev) = operations.iter().find(|o| o.name == op.name) {
            let first = Located::at(path, text, prev.span.start, "").line;
            return Err(cx.err(
                name_span,
                format!(
                    "operation `{}` is defined twice (first at line {first}); operation names must be unique",
                    op.name
                ),
            ));
        }
        operations.push(op);
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
        run,
        operations,
    })
}

struct Cx<'a> {
    path: &'a Path,
    text: &'a str,
    dir: &'a Path,
    read: FileReader<'a>,
    /// The document with a span for every value: serde gives the span of a whole value only,
    /// this finds the items of a list and the keys of an inline table inside it.
    doc: Option<Spanned<DeTable<'a>>>,
}

impl Cx<'_> {
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

    fn read_file(&self, rel: &str, span: Range<usize>, key: &str) -> Result<SqlFile, Located> {
        let path = self.dir.join(rel);
        let what = match key {
            "data.schema" => "schema file",
            "data.seed" => "seed script",
            _ => "migration file",
        };
        let text = (self.read)(&path).map_err(|e| {
            self.err(
                span,
                format!("cannot read the {what} `{}`: {e}", path.display()),
            )
        })?;
        Ok(SqlFile { path, text })
    }

    /// A file name or a list of file names.
    fn files(&self, v: &Spanned<toml::Value>, key: &str) -> Result<Vec<SqlFile>, Located> {
        let span = v.span();
        let bad = |found: &str| {
            format!("`{key}` must be a file name or a list of file names, found {found}")
        };
        let names = match v.get_ref() {
            toml::Value::String(s) => vec![(s.as_str(), span.clone())],
            toml::Value::Array(a) => self.strings(a, &span, &bad)?,
            other => return Err(self.err(span, bad(&kind(other)))),
        };
        names
            .into_iter()
            .map(|(n, at)| self.read_file(n, at, key))
            .collect()
    }

    fn run_settings(&self, raw: Option<RawRun>) -> Result<RunSettings, Located> {
        let mut run = RunSettings {
            warmup: 20,
            rounds: 10,
            iterations: 50,
            round_budget_ms: 250,
            seed: 42,
            order: RoundOrder::Random,
            statement_timeout_ms: 30_000,
            reconnect: None,
        };
        let Some(raw) = raw else { return Ok(run) };
        let get = |v: &Option<Spanned<i64>>,
                   name: &str,
                   min: i64,
                   max: i64|
         -> Result<Option<u64>, Located> {
            match v {
                None => Ok(None),
                Some(s) if (min..=max).contains(s.get_ref()) => Ok(Some(*s.get_ref() as u64)),
                Some(s) => Err(self.err(
                    s.span(),
                    format!(
                        "`run.{name}` must be between {min} and {max}, found {}",
                        s.get_ref()
                    ),
                )),
            }
        };
        if let Some(v) = get(&raw.warmup, "warmup", 0, 1_000_000)? {
            run.warmup = v;
        }
        if let Some(v) = get(&raw.rounds, "rounds", 2, 100_000)? {
            run.rounds = v;
        }
        if let Some(v) = get(&raw.iterations, "iterations", 1, 100_000_000)? {
            run.iterations = v;
        }
        if let Some(v) = get(&raw.round_budget_ms, "round_budget_ms", 1, 3_600_000)? {
            run.round_budget_ms = v;
        }
        if let Some(v) = get(&raw.seed, "seed", 0, i64::MAX)? {
            run.seed = v;
        }
        if let Some(v) = get(
            &raw.statement_timeout_ms,
            "statement_timeout_ms",
            1,
            86_400_000,
        )? {
            run.statement_timeout_ms = v;
        }
        if let Some(r) = raw.reconnect {
            run.reconnect = Some(r);
        }
        if let Some(o) = &raw.order {
            run.order = match o.get_ref().as_str() {
                "random" => RoundOrder::Random,
                "abba" => RoundOrder::Abba,
                other => {
                    return Err(self.err(
                        o.span(),
                        format!("`run.order` must be \"random\" or \"abba\", found \"{other}\""),
                    ))
                }
            };
        }
        Ok(run)
    }

    fn migration(&self, raw: Option<RawMigration>) -> Result<Migration, Located> {
        let Some(raw) = raw else {
            return Ok(Migration {
                base: vec![],
                up: vec![],
            });
        };
        match (&raw.up, &raw.dir) {
            (Some(up), None) => {
                if let Some(b) = raw.before.as_ref().or(raw.after.as_ref()) {
                    return Err(self.err(
                        b.span(),
                        "`before`/`after` go with `dir` (a migrations folder), not with `up`",
                    ));
                }
                Ok(Migration {
                    base: vec![],
                    up: self.files(up, "migration.up")?,
                })
            }
            (None, Some(dir)) => self.migration_dir(dir, raw.before.as_ref(), raw.after.as_ref()),
            (Some(up), Some(_)) => Err(self.err(
                up.span(),
                "give either `up` (files) or `dir` (a migrations folder), not both",
            )),
            (None, None) => Ok(Migration {
                base: vec![],
                up: vec![],
            }),
        }
    }

    /// A sqlx-style folder: `<version>_<description>.sql` or `.up.sql` (`.down.sql` ignored).
    /// Versions up to `before` form the base schema; (`before`, `after`] is the change.
    fn migration_dir(
        &self,
        dir: &Spanned<String>,
        before: Option<&Spanned<toml::Value>>,
        after: Option<&Spanned<toml::Value>>,
    ) -> Result<Migration, Located> {
        let version = |v: Option<&Spanned<toml::Value>>, key: &str| -> Result<i64, Located> {
            let Some(v) = v else {
                return Err(self.err(
                    dir.span(),
                    format!("a migrations `dir` needs `{key}` (a version number)"),
                ));
            };
            match v.get_ref() {
                toml::Value::Integer(i) => Ok(*i),
                toml::Value::String(s) => s.parse().map_err(|_| {
                    self.err(
                        v.span(),
                        format!("`{key}` must be a migration version number, found \"{s}\""),
                    )
                }),
                other => Err(self.err(
                    v.span(),
                    format!(
                        "`{key}` must be a migration version number, found {}",
                        kind(other)
                    ),
                )),
            }
        };
        let (b, a) = (version(before, "before")?, version(after, "after")?);
        if b >= a {
            return Err(self.err(
                after.map_or(dir.span(), |s| s.span()),
                format!("`after` ({a}) must be a later version than `before` ({b})"),
            ));
        }
        let path = self.dir.join(dir.get_ref());
        let entries = std::fs::read_dir(&path).map_err(|e| {
            self.err(
                dir.span(),
                format!("cannot read migrations folder `{}`: {e}", path.display()),
            )
        })?;
        let mut found: Vec<(i64, PathBuf)> = Vec::new();
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if !file.ends_with(".sql") || file.ends_with(".down.sql") {
                continue;
            }
            let Some((ver, _)) = file.split_once('_') else {
                continue;
            };
            if let Ok(v) = ver.parse::<i64>() {
                if let Some((other, _)) = found.iter().find(|(x, _)| *x == v) {
                    let _ = other;
                    return Err(self.err(
                        dir.span(),
                        format!("two migrations in `{}` have version {v}", path.display()),
                    ));
                }
                found.push((v, entry.path()));
            }
        }
        found.sort();
        for (v, key, s) in [(b, "before", before), (a, "after", after)] {
            if !found.iter().any(|(x, _)| *x == v) {
                let span = s.map_or(dir.span(), |s| s.span());
                let list: Vec<String> = found.iter().map(|(x, _)| x.to_string()).collect();
                return Err(self.err(
                    span,
                    format!(
                        "no migration with version {v} (`{key}`) in `{}`; found: {}",
                        path.display(),
                        list.join(", ")
                    ),
                ));
            }
        }
        let read = |p: &PathBuf| -> Result<SqlFile, Located> {
            let text = (self.read)(p)
                .map_err(|e| self.err(dir.span(), format!("cannot read `{}`: {e}", p.display())))?;
            Ok(SqlFile {
                path: p.clone(),
                text,
            })
        };
        let base = found
            .iter()
            .filter(|(v, _)| *v <= b)
            .map(|(_, p)| read(p))
            .collect::<Result<_, _>>()?;
        let up = found
            .iter()
            .filter(|(v, _)| *v > b && *v <= a)
            .map(|(_, p)| read(p))
            .collect::<Result<_, _>>()?;
        Ok(Migration { base, up })
    }

    /// SQL given as a string, a list of strings, or `{ statements = [...], transaction = bool }`.
    fn side(
        &self,
        v: &Spanned<toml::Value>,
        key: &str,
        transaction: Option<bool>,
    ) -> Result<SideSql, Located> {
        let span = v.span();
        let bad = |found: &str| {
            format!("`{key}` must be an SQL string, a list of SQL strings, or a table {{ statements = [...], transaction = true }}, found {found}")
        };
        let (list, tx): (Vec<(&str, Range<usize>)>, Option<bool>) = match v.get_ref() {
            toml::Value::String(s) => (vec![(s.as_str(), span.clone())], None),
            toml::Value::Array(a) => (self.strings(a, &span, &bad)?, None),
            toml::Value::Table(t) => {
                if let Some(k) = t.keys().find(|k| *k != "statements" && *k != "transaction") {
                    return Err(self.unknown_key(&span, key, k, &["statements", "transaction"]));
                }
                let tx = match t.get("transaction") {
                    None => None,
                    Some(toml::Value::Boolean(b)) => Some(*b),
                    Some(other) => {
                        let at = self
                            .entry(&span, "transaction")
                            .map_or(span.clone(), |e| e.1);
                        return Err(self.err(
                            at,
                            format!(
                                "`{key}.transaction` must be true or false, found {}",
                                kind(other)
                            ),
                        ));
                    }
                };
                let list = match (t.get("statements"), self.entry(&span, "statements")) {
                    (Some(toml::Value::Array(a)), at) => {
                        let at = at.map_or(span.clone(), |e| e.1);
                        self.strings(a, &at, &|found| {
                            format!(
                                "`{key}.statements` must be a list of SQL strings, found {found}"
                            )
                        })?
                    }
                    (Some(other), at) => {
                        return Err(self.err(
                            at.map_or(span.clone(), |e| e.1),
                            format!(
                                "`{key}.statements` must be a list of SQL strings, found {}",
                                kind(other)
                            ),
                        ))
                    }
                    (None, _) => {
                        return Err(self.err(
                            span,
                            format!("`{key}` as a table needs `statements = [\"…\", …]`"),
                        ))
                    }
                };
                (list, tx)
            }
            other => return Err(self.err(span, bad(&kind(other)))),
        };
        if list.is_empty() {
            return Err(self.err(span, format!("`{key}` has no statements")));
        }
        let mut statements = Vec::new();
        for (sql, at) in list {
            let body = sql
                .trim()
                .trim_end_matches(|c: char| c == ';' || c.is_whitespace());
            if body.is_empty() {
                return Err(self.err(at, format!("`{key}` has an empty statement")));
            }
            // The span starts one byte before the statement's text, so that `span.start + 1 +
            // offset` is where a server error position points (exact without escapes).
            let lead = sql.len() - sql.trim_start().len();
            let start = self.string_start(&at) + lead;
            statements.push(Statement {
                sql: body.to_string(),
                span: start.saturating_sub(1)..at.end.max(start),
                placeholders: max_placeholder(sql),
            });
        }
        Ok(SideSql {
            statements,
            transaction: tx.or(transaction).unwrap_or(false),
        })
    }

    /// Applies a `gate` table over `base`, checking every value's range.
    fn thresholds(
        &self,
        raw: Option<&RawGate>,
        base: crate::report::Thresholds,
    ) -> Result<crate::report::Thresholds, Located> {
        let mut t = base;
        let Some(g) = raw else { return Ok(t) };
        let num = |v: &Option<Spanned<toml::Value>>,
                   key: &str,
                   lo: f64,
                   hi: f64|
         -> Result<Option<f64>, Located> {
            let Some(v) = v else { return Ok(None) };
            let x = match v.get_ref() {
                toml::Value::Float(f) => *f,
                toml::Value::Integer(i) => *i as f64,
                other => {
                    return Err(self.err(
                        v.span(),
                        format!("`gate.{key}` must be a number, found {}", other.type_str()),
                    ))
                }
            };
            if !(lo..=hi).contains(&x) {
                return Err(self.err(
                    v.span(),
                    format!("`gate.{key}` must be between {lo} and {hi}, found {x}"),
                ));
            }
            Ok(Some(x))
        };
        if let Some(x) = num(&g.latency_threshold, "latency_threshold", 0.0, 10.0)? {
            t.latency = x;
        }
        if let Some(x) = num(&g.buffers_tolerance, "buffers_tolerance", 0.0, 100.0)? {
            t.buffers_relative = x;
        }
        if let Some(x) = num(&g.screen_confidence, "screen_confidence", 0.5, 0.9999)? {
            t.screen_confidence = x;
        }
        if let Some(x) = num(&g.confirm_confidence, "confirm_confidence", 0.5, 0.9999)? {
            t.confirm_confidence = x;
        }
        if let Some(f) = &g.buffers_floor {
            if *f.get_ref() < 0 {
                return Err(self.err(f.span(), "`gate.buffers_floor` must not be negative"));
            }
            t.buffers_floor = *f.get_ref() as u64;
        }
        Ok(t)
    }

    fn operation(
        &self,
        raw: RawOperation,
        span: Range<usize>,
        vars: &BTreeMap<String, Value>,
        gate: crate::report::Thresholds,
    ) -> Result<Operation, Located> {
        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(self.err(
                raw.name.span(),
                "an operation `name` must be non-empty and use only letters, digits, `_` and `-`",
            ));
        }
        let mode = match &raw.mode {
            None => Mode::Read,
            Some(m) => match m.get_ref().as_str() {
                "read" => Mode::Read,
                "rollback" => Mode::Rollback,
                "commit" => Mode::Commit,
                other => {
                    return Err(self.err(
                        m.span(),
                        format!(
                        "`mode` must be \"read\", \"rollback\" or \"commit\", found \"{other}\""
                    ),
                    ))
                }
            },
        };
        let (before, after) = match (&raw.sql, &raw.before, &raw.after) {
            (Some(sql), None, None) => {
                let s = self.side(sql, "sql", raw.transaction)?;
                (s.clone(), s)
            }
            (None, Some(b), Some(a)) => (self.side(b, "before", raw.transaction)?, self.side(a, "after", raw.transaction)?),
            (Some(sql), _, _) => return Err(self.err(sql.span(), format!("operation `{name}`: give either `sql` (same on both sides) or `before` and `after`, not both"))),
            (None, Some(x), None) | (None, None, Some(x)) => {
                return Err(self.err(x.span(), format!("operation `{name}`: `before` and `after` go together; use `sql` when both sides run the same SQL")))
            }
            (None, None, None) => return Err(self.err(span, format!("operation `{name}` has no SQL: add `sql = \"…\"`, or `before` and `after`"))),
        };
        let used = before
            .statements
            .iter()
            .chain(&after.statements)
            .map(|s| s.placeholders)
            .max()
            .unwrap_or(0);

        let mut param_spans = vec![];
        let params = match &raw.params {
            None => Params::None,
            Some(p) => {
                let span = p.span();
                match p.get_ref() {
                    toml::Value::Array(items) => {
                        let texts = self.strings(items, &span, &|found| {
                            format!("each entry of `params` must be a generator expression string such as \"random(1, :users)\", found {found}")
                        })?;
                        let mut exprs = Vec::new();
                        for (text, at) in texts {
                            exprs.push(expr::compile(text, vars).map_err(|e| self.expr_err(&at, e))?);
                            param_spans.push(at);
                        }
                        Params::Generated(exprs)
                    }
                    toml::Value::Table(t) => {
                        if let Some(k) = t.keys().find(|k| *k != "sample") {
                            let mut e = self.unknown_key(&span, "params", k, &["sample"]);
                            e.message += " (`sample` is a query whose rows supply the parameters)";
                            return Err(e);
                        }
                        let at = self.entry(&span, "sample").map_or(span.clone(), |e| e.1);
                        match t.get("sample").and_then(|s| s.as_str()) {
                            Some(sql) if !sql.trim().is_empty() => Params::Sample {
                                sql: sql.trim().trim_end_matches(';').to_string(),
                                span: at,
                            },
                            _ => return Err(self.err(at, "`params.sample` must be a non-empty SQL query")),
                        }
                    }
                    other => return Err(self.err(span, format!("`params` must be a list of generator expressions or {{ sample = \"SELECT …\" }}, found {}", kind(other)))),
                }
            }
        };
        // Where the highest placeholder is used, to name it in errors.
        let statements = || {
            let (b, a) = (&before.statements, &after.statements);
            let side = if raw.sql.is_some() {
                "sql"
            } else if b.iter().any(|s| s.placeholders == used) {
                "before"
            } else {
                "after"
            };
            (side, b.iter().chain(a).find(|s| s.placeholders == used))
        };
        let plural = |n: usize, one: &str, many: &str| {
            if n == 1 {
                format!("1 {one}")
            } else {
                format!("{n} {many}")
            }
        };
        match &params {
            Params::Generated(exprs) if exprs.len() > used => {
                let at = param_spans[used].clone();
                let uses = if used == 0 {
                    "has no placeholders ($1, $2, …)".to_string()
                } else {
                    format!("uses placeholders up to ${used}")
                };
                return Err(self.err(
                    at,
                    format!("operation `{name}`: `params` has {} but its SQL {uses}: this entry would be ${}, which no statement uses", plural(exprs.len(), "entry", "entries"), used + 1),
                ));
            }
            Params::Generated(exprs) if exprs.len() < used => {
                let p = raw.params.as_ref().expect("params present");
                let (side, _) = statements();
                return Err(self.err(
                    p.span(),
                    format!("operation `{name}`: `params` has {} but its SQL (`{side}`) uses placeholders up to ${used}: give one generator per placeholder", plural(exprs.len(), "entry", "entries")),
                ));
            }
            Params::None if used > 0 => {
                // Point at the placeholder itself when it is written plainly in the string.
                let (_, st) = statements();
                let at = st.map_or(span.start, |st| {
                    let mark = format!("${used}");
                    self.text
                        .get(st.span.clone())
                        .and_then(|t| {
                            t.match_indices(&mark).find(|(i, _)| {
                                !t[i + mark.len()..].starts_with(|c: char| c.is_ascii_digit())
                            })
                        })
                        .map_or(st.span.start + 1, |(i, _)| st.span.start + i)
                });
                return Err(self.err(at..at, format!("operation `{name}`: its SQL uses placeholder ${used} but the operation has no `params`: add `params = [\"random(1, 100)\"]` (one generator per placeholder) or `params = {{ sample = \"SELECT …\" }}`")));
            }
            _ => {}
        }

        let mut claims = Vec::new();
        if let Some(c) = &raw.claim {
            let bad = |found: &str| {
                format!("`claim` must be a string or a list of strings, found {found}")
            };
            let texts = match c.get_ref() {
                toml::Value::String(s) => vec![(s.as_str(), c.span())],
                toml::Value::Array(a) => self.strings(a, &c.span(), &bad)?,
                other => return Err(self.err(c.span(), bad(&kind(other)))),
            };
            for (text, at) in texts {
                let claim = claim::parse(text).map_err(|e| self.err(at.clone(), e))?;
                claims.push(LocatedClaim {
                    claim,
                    text: text.to_string(),
                    span: at,
                });
            }
        }
        if raw.expect_same_result == Some(true)
            && !claims.iter().any(|c| c.claim == super::Claim::SameResult)
        {
            claims.push(LocatedClaim {
                claim: super::Claim::SameResult,
                text: "expect_same_result = true".into(),
                span: span.clone(),
            });
        }

        Ok(Operation {
            name,
            description: raw.description,
            mode,
            before,
            after,
            params,
            claims,
            expect_same_result: raw.expect_same_result,
            thresholds: self.thresholds(raw.gate.as_ref(), gate)?,
            span,
        })
    }
}

/// A TOML syntax or shape error, in the words of scenario files ("key", "table", "list") rather
/// than serde's ("field", "map", "sequence"), naming the key and suggesting a misspelt one.
fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> Located {
    let span = e.span().unwrap_or(0..0);
    let raw = e.message().trim_end();
    let mut offset = span.start;
    let message = if let Some(rest) = raw.strip_prefix("unknown field `") {
        // "unknown field `x`, expected one of `a`, `b`" / "…, expected `a`" / "…, there are no fields"
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let options: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let mut m = format!("unknown key `{key}`");
        if options.is_empty() {
            m += ": this table takes no keys";
        } else {
            let list: Vec<String> = options.iter().map(|o| format!("`{o}`")).collect();
            m += &format!(", expected one of {}", list.join(", "));
            if let Some(best) = expr::closest(key, options.iter().copied()) {
                m += &format!("; did you mean `{best}`?");
            }
        }
        m
    } else if let Some(rest) = raw.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or(rest);
        let at = text.get(span.clone()).unwrap_or("");
        if span.start == 0 && (span.is_empty() || span.end == text.len()) {
            // Missing at the top level: point at the first line that is not a comment.
            offset = first_content(text);
            match key {
                "name" => "missing key `name`: a scenario needs a name, e.g. `name = \"orders\"` at the top of the file".to_string(),
                "data" => "missing table `[data]`: a scenario needs one, with its `schema`, `seed` and `scale` (each optional)".to_string(),
                _ => format!("missing key `{key}`"),
            }
        } else if at.trim_start().starts_with("[[operation]]") {
            format!("this [[operation]] has no `{key}`: add `{key} = \"…\"`")
        } else {
            format!("missing key `{key}` in this table")
        }
    } else if let Some(rest) = raw.strip_prefix("invalid type: ") {
        // "invalid type: string \"10\", expected i64"
        let (found, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, "?"));
        let expected = match expected {
            "i64" | "u64" | "i32" | "u32" | "usize" => "an integer",
            "a boolean" => "true or false",
            "a sequence" => "a list",
            e if e.starts_with("struct ") || e == "a map" => "a table",
            e => e,
        };
        let found = match found {
            "sequence" => "a list".to_string(),
            "map" => "a table".to_string(),
            f => match f.split_once(' ') {
                Some(("floating", v)) => format!(
                    "the number {}",
                    v.trim_start_matches("point ").trim_matches('`')
                ),
                Some(("integer", v)) => format!("the integer {}", v.trim_matches('`')),
                Some(("boolean", v)) => v.trim_matches('`').to_string(),
                Some(("string", v)) => format!("the string {v}"),
                _ => f.to_string(),
            },
        };
        match key_before(text, span.start) {
            Some(key) => format!("`{key}` must be {expected}, found {found}"),
            None => format!("expected {expected}, found {found}"),
        }
    } else if raw == "duplicate key" {
        let key: String = text
            .get(span.clone())
            .unwrap_or("")
            .chars()
            .take_while(|c| !matches!(c, '=' | ']' | '\n'))
            .collect();
        format!(
            "duplicate key `{}`: it is already set in this table",
            key.trim()
        )
    } else {
        raw.to_string()
    };
    Located::at(path, text, offset, message)
}

/// The key of the `key = value` whose value starts at `offset`, if written plainly.
fn key_before(text: &str, offset: usize) -> Option<&str> {
    let before = text.get(..offset)?.trim_end().strip_suffix('=')?.trim_end();
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .last()
        .map_or(before.len(), |(i, _)| i);
    Some(&before[start..]).filter(|k| !k.is_empty())
}

/// The offset of the first line that is neither blank nor a comment.
fn first_content(text: &str) -> usize {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if !t.is_empty() && !t.starts_with('#') {
            return at + (line.len() - t.len());
        }
        at += line.len();
    }
    0
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
