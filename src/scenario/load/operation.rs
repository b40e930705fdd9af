//! One `[[operation]]`: its name, mode, SQL on each side, parameters and claims.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::{kind, Cx, RawGate, RawOperation};
use crate::error::Located;
use crate::scenario::expr::{self, Value};
use crate::scenario::model::*;
use crate::scenario::{claim, max_placeholder, Claim};

impl Cx<'_> {
    /// SQL given as a string, a list of strings, or `{ statements = [...], transaction = bool }`.
    pub(super) fn side(
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
            code: None,
        })
    }

    pub(super) fn operation(
        &self,
        raw: RawOperation,
        span: Range<usize>,
        vars: &BTreeMap<String, Value>,
        gate: Thresholds,
    ) -> Result<Operation, Located> {
        let name = self.operation_name(&raw.name)?;
        let mode = self.mode(raw.mode.as_ref())?;
        let (before, after) = self.sides(&raw, &name, &span)?;
        if mode == Mode::Read {
            let default = raw.mode.is_none();
            if raw.sql.is_some() {
                self.refuse_writes(&name, &before, "sql", default)?;
            } else {
                self.refuse_writes(&name, &before, "before", default)?;
                self.refuse_writes(&name, &after, "after", default)?;
            }
        }
        let (params, param_spans) = self.params(raw.params.as_ref(), vars)?;
        self.check_placeholders(
            &raw,
            &name,
            &span,
            (&before, &after),
            (&params, &param_spans),
        )?;
        let claims = self.claims(&raw, &span)?;
        let weight = self.weight(&raw, &name)?;
        Ok(Operation {
            name,
            description: raw.description,
            mode,
            before,
            after,
            params,
            param_spans,
            claims,
            expect_same_result: raw.expect_same_result,
            thresholds: self.thresholds(raw.gate.as_ref(), gate)?,
            weight,
            span,
        })
    }

    /// `weight`: the operation's share of the load mix, 0 – 1 000 000 (default 1).
    fn weight(&self, raw: &RawOperation, name: &str) -> Result<u32, Located> {
        match &raw.weight {
            None => Ok(1),
            Some(w) if (0..=1_000_000).contains(w.get_ref()) => Ok(*w.get_ref() as u32),
            Some(w) => Err(self.err(
                w.span(),
                format!(
                    "operation `{name}`: `weight` must be between 0 and 1000000, found {}",
                    w.get_ref()
                ),
            )),
        }
    }

    pub(super) fn operation_name(&self, raw: &Spanned<String>) -> Result<String, Located> {
        let name = raw.get_ref().trim().to_string();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(self.err(
                raw.span(),
                "an operation `name` must be non-empty and use only letters, digits, `_` and `-`",
            ));
        }
        Ok(name)
    }

    /// `mode`: read (the default), rollback or commit.
    pub(super) fn mode(&self, raw: Option<&Spanned<String>>) -> Result<Mode, Located> {
        let mode = match raw {
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
        Ok(mode)
    }

    /// A `read` operation runs round after round on the same data, so a statement that writes
    /// would change what is measured (or drop it): refused here, before any server starts.
    fn refuse_writes(
        &self,
        name: &str,
        side: &SideSql,
        key: &str,
        default: bool,
    ) -> Result<(), Located> {
        let default = if default { " (the default)" } else { "" };
        for st in &side.statements {
            if let Some((at, word)) = crate::scenario::sql_writes(&st.sql) {
                let offset = (st.span.start + 1 + at).min(st.span.end);
                return Err(Located::at(
                    self.path,
                    self.text,
                    offset,
                    format!(
                        "operation `{name}`: `{key}` writes (`{word}`) but the mode is \"read\"{default}, which would run the write round after round and change the data being measured: set `mode = \"rollback\"` (each execution rolled back, the data stays the same) or `mode = \"commit\"` (writes kept)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `sql` (both sides) or `before` and `after`.
    pub(super) fn sides(
        &self,
        raw: &RawOperation,
        name: &str,
        span: &Range<usize>,
    ) -> Result<(SideSql, SideSql), Located> {
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
            (None, None, None) => return Err(self.err(span.clone(), format!("operation `{name}` has no SQL: add `sql = \"…\"`, or `before` and `after`"))),
        };
        Ok((before, after))
    }

    /// `params`: generator expressions, or `{ sample = "SELECT …" }`; with the span of each
    /// generator.
    pub(super) fn params(
        &self,
        raw: Option<&Spanned<toml::Value>>,
        vars: &BTreeMap<String, Value>,
    ) -> Result<(Params, Vec<Range<usize>>), Located> {
        let mut param_spans = vec![];
        let params = match raw {
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
        Ok((params, param_spans))
    }

    /// As many generators as the SQL has placeholders, each error placed where it is best fixed.
    pub(super) fn check_placeholders(
        &self,
        raw: &RawOperation,
        name: &str,
        span: &Range<usize>,
        (before, after): (&SideSql, &SideSql),
        (params, param_spans): (&Params, &[Range<usize>]),
    ) -> Result<(), Located> {
        let used = before
            .statements
            .iter()
            .chain(&after.statements)
            .map(|s| s.placeholders)
            .max()
            .unwrap_or(0);

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
        match params {
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

        Ok(())
    }

    /// `claim` sentences, plus `same result` when `expect_same_result = true`.
    pub(super) fn claims(
        &self,
        raw: &RawOperation,
        span: &Range<usize>,
    ) -> Result<Vec<LocatedClaim>, Located> {
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
            && !claims.iter().any(|c| c.claim == Claim::SameResult)
        {
            claims.push(LocatedClaim {
                claim: Claim::SameResult,
                text: "expect_same_result = true".into(),
                span: span.clone(),
            });
        }

        Ok(claims)
    }

    /// Every `[[operation]]`, with the scenario's `[gate]` as the default thresholds; names unique.
    pub(super) fn operations(
        &self,
        raw: Vec<Spanned<RawOperation>>,
        gate: Option<&RawGate>,
        vars: &BTreeMap<String, Value>,
    ) -> Result<Vec<Operation>, Located> {
        let (cx, path, text) = (self, self.path, self.text);
        let defaults = cx.thresholds(gate, Thresholds::default())?;
        let mut operations: Vec<Operation> = Vec::new();
        for op in raw {
            let span = op.span();
            let name_span = op.get_ref().name.span();
            let op = cx.operation(op.into_inner(), span, vars, defaults)?;
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
        Ok(operations)
    }
}
