//! From TOML text to a validated [`Scenario`]. Every error names file, line and column.
//!
//! Parsing is pure: referenced files are read through a [`FileReader`], so tests can supply them
//! from memory and `check` can validate without a server.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
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
    let cx = Cx {
        path,
        text,
        dir: path.parent().unwrap_or(Path::new(".")),
        read,
    };
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        Located::at(path, text, offset, e.message().trim_end().to_string())
    })?;

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
            let v =
                match value.get_ref() {
                    toml::Value::Integer(i) => Ok(Value::Int(*i)),
                    toml::Value::Float(f) => Ok(Value::Float(*f)),
                    toml::Value::String(s) => {
                        expr::eval_const(s, &vars).map_err(|e| cx.expr_err(value.span(), e))
                    }
                    other => return Err(cx.err(
                        value.span(),
                        format!(
                            "variable `{key}` must be a number or an expression string, found {}",
                            other.type_str()
                        ),
                    )),
                };
            match v {
                Ok(v) => {
                    vars.insert(key.clone(), v);
                    progressed = true;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                    still.push((key, value));
                }
            }
        }
        if !progressed {
            return Err(first_error.expect("a pass without progress has an error"));
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
                        other.type_str()
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
            "a scenario needs at least one [[operation]]",
        ));
    }
    let mut operations: Vec<Operation> = Vec::new();
    for op in raw.operations {
        let span = op.span();
        let op = cx.operation(op.into_inner(), span, &vars)?;
        if let Some(prev) = operations.iter().find(|o| o.name == op.name) {
            let _ = prev;
            return Err(cx.err(
                op.span.clone(),
                format!("operation `{}` is defined twice", op.name),
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
}

impl Cx<'_> {
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> Located {
        Located::at(self.path, self.text, span.start, message)
    }

    /// An expression error inside a TOML string: point into the string (past its opening quote).
    fn expr_err(&self, span: Range<usize>, e: expr::ExprError) -> Located {
        Located::at(self.path, self.text, span.start + 1 + e.offset, e.message)
    }

    fn read_file(&self, rel: &str, span: Range<usize>) -> Result<SqlFile, Located> {
        let path = self.dir.join(rel);
        let text = (self.read)(&path)
            .map_err(|e| self.err(span, format!("cannot read `{}`: {e}", path.display())))?;
        Ok(SqlFile { path, text })
    }

    /// A file name or a list of file names.
    fn files(&self, v: &Spanned<toml::Value>, key: &str) -> Result<Vec<SqlFile>, Located> {
        let names: Vec<String> = match v.get_ref() {
            toml::Value::String(s) => vec![s.clone()],
            toml::Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    self.err(
                        v.span(),
                        format!("`{key}` must be a file name or a list of file names"),
                    )
                })?,
            other => {
                return Err(self.err(
                    v.span(),
                    format!(
                        "`{key}` must be a file name or a list of file names, found {}",
                        other.type_str()
                    ),
                ))
            }
        };
        let span = v.span();
        names
            .iter()
            .map(|n| {
                // Point at the file's own string when it can be found inside the value.
                let at = self.text[span.clone()]
                    .find(n.as_str())
                    .map_or(span.clone(), |i| span.start + i - 1..span.end);
                self.read_file(n, at)
            })
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
                        other.type_str()
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
        let bad = || {
            self.err(span.clone(), format!("`{key}` must be an SQL string, a list of SQL strings, or a table {{ statements = [...], transaction = true }}"))
        };
        let (list, tx): (Vec<&str>, Option<bool>) = match v.get_ref() {
            toml::Value::String(s) => (vec![s.as_str()], None),
            toml::Value::Array(a) => (
                a.iter()
                    .map(|x| x.as_str().ok_or_else(bad))
                    .collect::<Result<_, _>>()?,
                None,
            ),
            toml::Value::Table(t) => {
                if let Some(k) = t.keys().find(|k| *k != "statements" && *k != "transaction") {
                    return Err(self.err(
                        span.clone(),
                        format!(
                            "unknown key `{k}` in `{key}`, expected `statements` or `transaction`"
                        ),
                    ));
                }
                let stmts = t
                    .get("statements")
                    .and_then(|s| s.as_array())
                    .ok_or_else(bad)?;
                let tx = match t.get("transaction") {
                    None => None,
                    Some(toml::Value::Boolean(b)) => Some(*b),
                    Some(_) => {
                        return Err(self.err(
                            span.clone(),
                            format!("`{key}.transaction` must be true or false"),
                        ))
                    }
                };
                (
                    stmts
                        .iter()
                        .map(|x| x.as_str().ok_or_else(bad))
                        .collect::<Result<_, _>>()?,
                    tx,
                )
            }
            _ => return Err(bad()),
        };
        if list.is_empty() {
            return Err(self.err(span, format!("`{key}` has no statements")));
        }
        let mut statements = Vec::new();
        for sql in list {
            if sql.trim().is_empty() {
                return Err(self.err(span, format!("`{key}` has an empty statement")));
            }
            // Locate this statement's own string inside the value when we can.
            let probe: String = sql.lines().next().unwrap_or("").chars().take(40).collect();
            let at = self
                .text
                .get(span.clone())
                .and_then(|t| t.find(probe.as_str()))
                .map_or(span.clone(), |i| span.start + i..span.start + i + sql.len());
            statements.push(Statement {
                sql: sql.trim().trim_end_matches(';').to_string(),
                span: at,
                placeholders: max_placeholder(sql),
            });
        }
        Ok(SideSql {
            statements,
            transaction: tx.or(transaction).unwrap_or(false),
        })
    }

    fn operation(
        &self,
        raw: RawOperation,
        span: Range<usize>,
        vars: &BTreeMap<String, Value>,
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
                other => return Err(self.err(
                    m.span(),
                    format!(
                        "`mode` must be \"read\", \"rollback\" or \"commit\", found \"{other}\""
                    ),
                )),
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

        let params = match &raw.params {
            None => Params::None,
            Some(p) => match p.get_ref() {
                toml::Value::Array(items) => {
                    let mut exprs = Vec::new();
                    let mut cursor = p.span().start;
                    for item in items {
                        let Some(text) = item.as_str() else {
                            return Err(self.err(p.span(), "each entry of `params` must be a generator expression string such as \"random(1, :users)\""));
                        };
                        let at = self.text[cursor..p.span().end].find(text).map_or(p.span().start, |i| cursor + i - 1);
                        cursor = at + text.len();
                        exprs.push(expr::compile(text, vars).map_err(|e| self.expr_err(at..at + text.len(), e))?);
                    }
                    Params::Generated(exprs)
                }
                toml::Value::Table(t) => {
                    if let Some(k) = t.keys().find(|k| *k != "sample") {
                        return Err(self.err(p.span(), format!("unknown key `{k}` in `params`, expected `sample` (a query whose rows supply the parameters)")));
                    }
                    match t.get("sample").and_then(|s| s.as_str()) {
                        Some(sql) if !sql.trim().is_empty() => Params::Sample { sql: sql.trim().trim_end_matches(';').to_string(), span: p.span() },
                        _ => return Err(self.err(p.span(), "`params.sample` must be a non-empty SQL query")),
                    }
                }
                other => return Err(self.err(p.span(), format!("`params` must be a list of generator expressions or {{ sample = \"SELECT …\" }}, found {}", other.type_str()))),
            },
        };
        match &params {
            Params::Generated(exprs) if exprs.len() != used => {
                let p = raw.params.as_ref().expect("params present");
                return Err(self.err(
                    p.span(),
                    format!("operation `{name}`: `params` gives {} value(s) but its statements use {} placeholder(s) ($1..${used})", exprs.len(), used),
                ));
            }
            Params::None if used > 0 => {
                return Err(self.err(span, format!("operation `{name}`: its statements use placeholders up to ${used} but it has no `params`")));
            }
            _ => {}
        }

        let mut claims = Vec::new();
        if let Some(c) = &raw.claim {
            let texts: Vec<&str> = match c.get_ref() {
                toml::Value::String(s) => vec![s.as_str()],
                toml::Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str())
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        self.err(c.span(), "`claim` must be a string or a list of strings")
                    })?,
                _ => {
                    return Err(self.err(c.span(), "`claim` must be a string or a list of strings"))
                }
            };
            for text in texts {
                let at = self.text[c.span()].find(text).map_or(c.span(), |i| {
                    c.span().start + i - 1..c.span().start + i + text.len()
                });
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
            span,
        })
    }
}
