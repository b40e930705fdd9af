//! The `[data]` and `[migration]` sections: SQL files and migration folders, read through the
//! injected [`FileReader`](super::FileReader).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::{kind, Cx, RawData, RawMigration, RawServer};
use crate::error::Located;
use crate::scenario::expr::{self, Value};
use crate::scenario::model::*;

/// Where each `[server] settings` value is written.
type SettingSpans = BTreeMap<String, Range<usize>>;

impl Cx<'_> {
    pub(super) fn read_file(
        &self,
        rel: &str,
        span: Range<usize>,
        key: &str,
    ) -> Result<SqlFile, Located> {
        let path = self.dir.join(rel);
        let what = match key {
            "data.schema" => "schema file",
            "data.seed" => "seed script",
            _ => "migration file",
        };
        let text = self.read.read(&path).map_err(|e| {
            self.err(
                span,
                format!("cannot read the {what} `{}`: {e}", path.display()),
            )
        })?;
        Ok(SqlFile { path, text })
    }

    /// A file name or a list of file names.
    pub(super) fn files(
        &self,
        v: &Spanned<toml::Value>,
        key: &str,
    ) -> Result<Vec<SqlFile>, Located> {
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

    pub(super) fn migration(&self, raw: Option<RawMigration>) -> Result<Migration, Located> {
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
    pub(super) fn migration_dir(
        &self,
        dir: &Spanned<String>,
        before: Option<&Spanned<toml::Value>>,
        after: Option<&Spanned<toml::Value>>,
    ) -> Result<Migration, Located> {
        let (b, a) = (
            self.migration_version(dir, before, "before")?,
            self.migration_version(dir, after, "after")?,
        );
        if b >= a {
            return Err(self.err(
                after.map_or(dir.span(), |s| s.span()),
                format!("`after` ({a}) must be a later version than `before` ({b})"),
            ));
        }
        let path = self.dir.join(dir.get_ref());
        let found = self.migration_files(dir, &path)?;
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
            let text = self
                .read
                .read(p)
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

    /// `before` or `after` of a migrations folder: a version number.
    pub(super) fn migration_version(
        &self,
        dir: &Spanned<String>,
        v: Option<&Spanned<toml::Value>>,
        key: &str,
    ) -> Result<i64, Located> {
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
    }

    /// The migrations in folder `path` (named by `dir`), sorted by version; a version may
    /// occur once.
    pub(super) fn migration_files(
        &self,
        dir: &Spanned<String>,
        path: &Path,
    ) -> Result<Vec<(i64, PathBuf)>, Located> {
        let entries = self.read.list(path).map_err(|e| {
            self.err(
                dir.span(),
                format!("cannot read migrations folder `{}`: {e}", path.display()),
            )
        })?;
        let mut found: Vec<(i64, PathBuf)> = Vec::new();
        for file in entries {
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
                found.push((v, path.join(&file)));
            }
        }
        found.sort();
        Ok(found)
    }

    /// `[data.vars]` evaluated over the predefined `scale` and `seed`.
    pub(super) fn variables(
        &self,
        data: &RawData,
        scale: i64,
        seed: u64,
    ) -> Result<BTreeMap<String, Value>, Located> {
        let mut vars = BTreeMap::from([
            ("scale".to_string(), Value::Int(scale)),
            ("seed".to_string(), Value::Int(seed as i64)),
        ]);
        for (key, value) in &data.vars {
            if vars.contains_key(key) {
                return Err(self.err(
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
                match self.variable(key, value, &vars)? {
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
                let (key, span, e) = first_error.expect("a pass without progress has an error");
                let waiting: Vec<&String> = still.iter().map(|(k, _)| *k).collect();
                return Err(self.expr_err(&span, cycle_error(key, e, &waiting)));
            }
            pending = still;
        }
        Ok(vars)
    }

    /// One variable's value from the ones known so far; the inner `Err` may resolve in a
    /// later pass.
    fn variable(
        &self,
        key: &str,
        value: &Spanned<toml::Value>,
        vars: &BTreeMap<String, Value>,
    ) -> Result<Result<Value, expr::ExprError>, Located> {
        Ok(match value.get_ref() {
            toml::Value::Integer(i) => Ok(Value::Int(*i)),
            toml::Value::Float(f) => Ok(Value::Float(*f)),
            toml::Value::String(s) => expr::eval_const(s, vars),
            other => {
                let found = kind(other);
                return Err(self.err(
                    value.span(),
                    format!(
                        "variable `{key}` must be a number or an expression string, found {found}"
                    ),
                ));
            }
        })
    }

    /// `[server.settings]` as the strings PostgreSQL takes.
    pub(super) fn settings(
        &self,
        raw: Option<RawServer>,
    ) -> Result<(BTreeMap<String, String>, SettingSpans), Located> {
        let cx = self;
        let mut settings = BTreeMap::new();
        let mut spans = BTreeMap::new();
        for (k, v) in raw.map(|s| s.settings).unwrap_or_default() {
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
            spans.insert(k.clone(), v.span());
            settings.insert(k, s);
        }
        Ok((settings, spans))
    }
}

/// `e` for variable `key`, reworded when the unknown name it reports is itself a variable
/// still `waiting`: then they refer to each other.
fn cycle_error(key: &str, mut e: expr::ExprError, waiting: &[&String]) -> expr::ExprError {
    let other = e
        .message
        .strip_prefix("unknown variable `")
        .and_then(|m| m.split('`').next())
        .filter(|o| waiting.iter().any(|k| k.as_str() == *o))
        .map(str::to_string);
    if let Some(other) = other {
        let names: Vec<String> = waiting.iter().map(|k| format!("`{k}`")).collect();
        e.message = format!(
            "variable `{key}` needs `{other}`, which cannot be computed first: the variables {} \
             refer to each other in a cycle",
            names.join(", ")
        );
    }
    e
}
