//! Operations implemented in Rust: a side is either the scenario's SQL or an async function
//! ([`Code`]) that receives the side's connection and a row of generated parameters.
//!
//! This module only holds the functions (it runs nothing by itself): `measure::exec::execute`
//! calls them in place of statements, `explain::capture` explains what they run, and
//! [`Registry::attach`] puts them into a loaded scenario. Everything else — warm-up,
//! interleaved rounds, histograms, analysis, the gate — is the machinery SQL operations use.

#![warn(missing_docs)]

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnection;

use super::{
    claim, expr, Claim, LocatedClaim, Mode, Operation as ScenarioOp, Scenario, SideSql, Value,
};
use crate::error::{Error, Result};

type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// One row of parameter values for one execution, drawn from the operation's `params`
/// (generators or sampled rows) exactly as for SQL operations: both sides of a round see the
/// same rows.
///
/// ```
/// use querygate::bench::{Params, Value};
/// let values = [Value::Int(42), Value::Text("7".into()), Value::Text("Deep Focus".into())];
/// let p = Params::new(&values);
/// assert_eq!(p.i64(0), 42);
/// assert_eq!(p.i32(1), 7); // sampled rows arrive as text; numbers parse
/// assert_eq!(p.text(2), "Deep Focus");
/// assert!(p.try_i64(2).is_err());
/// ```
#[repr(transparent)]
#[derive(Debug, PartialEq)]
pub struct Params([Value]);

/// A parameter that is missing or does not convert to the type asked for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("parameter {index} (${number}): {message}", number = index + 1)]
pub struct ParamError {
    /// Zero-based position in the row.
    pub index: usize,
    /// What went wrong, naming the value.
    pub message: String,
}

impl Params {
    /// Views a row of values as parameters (querygate does this for every execution; useful
    /// to call an operation's function in a unit test).
    ///
    /// ```
    /// use querygate::bench::{Params, Value};
    /// let values = [Value::Int(7)];
    /// let p = Params::new(&values);
    /// assert_eq!(p.i64(0), 7);
    /// ```
    pub fn new(values: &[Value]) -> &Params {
        // SAFETY: `Params` is `repr(transparent)` over `[Value]`, so the layouts and the
        // pointer metadata (the slice length) are identical.
        unsafe { &*(values as *const [Value] as *const Params) }
    }

    /// The values, in `params` order.
    ///
    /// ```
    /// use querygate::bench::{Params, Value};
    /// let values = [Value::Int(7), Value::Null];
    /// assert_eq!(Params::new(&values).values(), &values);
    /// ```
    pub fn values(&self) -> &[Value] {
        &self.0
    }

    /// Number of values in the row.
    ///
    /// ```
    /// use querygate::bench::{Params, Value};
    /// let values = [Value::Int(7), Value::Null];
    /// assert_eq!(Params::new(&values).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the operation has no `params`.
    ///
    /// ```
    /// use querygate::bench::{Params, Value};
    /// assert!(Params::new(&[]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn get(&self, index: usize) -> std::result::Result<&Value, ParamError> {
        self.0.get(index).ok_or_else(|| ParamError {
            index,
            message: format!(
                "the row has {} value(s); declare one generator per parameter in `params`",
                self.0.len()
            ),
        })
    }

    /// The value at `index` as an integer (integers, whole floats and numeric text convert).
    ///
    /// ```
    /// use querygate::bench::{Params, Value};
    /// let values = [Value::Text("12".into()), Value::Float(2.5)];
    /// let p = Params::new(&values);
    /// assert_eq!(p.try_i64(0), Ok(12));
    /// let e = p.try_i64(1).unwrap_err();
    /// assert_eq!(e.to_string(), "parameter 1 ($2): `2.5` is not an integer");
    /// assert!(p.try_i64(2).is_err()); // no third value
    /// ```
    pub fn try_i64(&self, index: usize) -> std::result::Result<i64, ParamError> {
        let v = self.get(index)?;
        let n = match v {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
            Value::Text(t) => t.trim().parse().ok(),
            _ => None,
        };
        n.ok_or_else(|| ParamError {
            index,
            message: format!("`{v}` is not an integer"),
        })
    }

    /// The value at `index` as a float (integers and numeric text convert; NULL does not).
    ///
    /// ```
    /// use querygate::bench::{Params, Value};
    /// let values = [Value::Int(2), Value::Null];
    /// let p = Params::new(&values);
    /// assert_eq!(p.try_f64(0), Ok(2.0));
    /// assert!(p.try_f64(1).is_err());
    /// ```
    pub fn try_f64(&self, index: usize) -> std::result::Result<f64, ParamError> {
        let v = self.get(index)?;
        let n = match v {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Text(t) => t.trim().parse().ok(),
            Value::Null => None,
        };
        n.ok_or_else(|| ParamError {
            index,
            message: format!("`{v}` is not a number"),
        })
    }

    /// The value at `index` as an integer; panics with a message naming the parameter (a
    /// panic in an operation fails the run, as a wrong parameter declaration should).
    ///
    /// ```
    /// use querygate::bench::{Params, Value};
    /// let values = [Value::Int(42)];
    /// assert_eq!(Params::new(&values).i64(0), 42);
    /// ```
    pub fn i64(&self, index: usize) -> i64 {
        self.try_i64(index).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The value at `index` as an `i32` (for `INTEGER` columns); panics when it is not one.
    ///
    /// ```
    /// use querygate::bench::{Params, Value};
    /// let values = [Value::Int(3)];
    /// let position: i32 = Params::new(&values).i32(0);
    /// assert_eq!(position, 3);
    /// ```
    pub fn i32(&self, index: usize) -> i32 {
        let n = self.i64(index);
        i32::try_from(n).unwrap_or_else(|_| panic!("parameter {index}: {n} does not fit in i32"))
    }

    /// The value at `index` as a float; panics when it is not one.
    ///
    /// ```
    /// use querygate::bench::{Params, Value};
    /// let values = [Value::Float(0.25)];
    /// assert_eq!(Params::new(&values).f64(0), 0.25);
    /// ```
    pub fn f64(&self, index: usize) -> f64 {
        self.try_f64(index).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The value at `index` as text (numbers in their decimal form, NULL as `NULL`); panics
    /// when the row is too short.
    ///
    /// ```
    /// use querygate::bench::{Params, Value};
    /// let values = [Value::Text("Deep Focus Mix".into()), Value::Int(7)];
    /// let p = Params::new(&values);
    /// assert_eq!(p.text(0), "Deep Focus Mix");
    /// assert_eq!(p.text(1), "7");
    /// ```
    pub fn text(&self, index: usize) -> String {
        self.get(index)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string()
    }
}

/// The erased form of an operation's async function.
trait Erased: Send + Sync {
    /// One measured execution: the returned value is dropped.
    fn run<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        params: &'a Params,
    ) -> LocalBoxFuture<'a, anyhow::Result<()>>;
    /// One execution for the EXPLAIN pass: the digest of the value the function returned.
    fn digest<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        params: &'a Params,
    ) -> LocalBoxFuture<'a, anyhow::Result<u64>>;
}

struct FnCode<F>(F);

impl<F, T, E> Erased for FnCode<F>
where
    F: AsyncFn(&mut PgConnection, &Params) -> std::result::Result<T, E> + Send + Sync,
    T: fmt::Debug,
    E: Into<anyhow::Error>,
{
    fn run<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        params: &'a Params,
    ) -> LocalBoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            (self.0)(conn, params).await.map_err(Into::into)?;
            Ok(())
        })
    }

    fn digest<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        params: &'a Params,
    ) -> LocalBoxFuture<'a, anyhow::Result<u64>> {
        Box::pin(async move {
            let value = (self.0)(conn, params).await.map_err(Into::into)?;
            Ok(value_digest(&value))
        })
    }
}

/// The digest of a returned value: a SHA-256 prefix of its `Debug` form (what the repository
/// function hands back, compared before vs after and against a baseline).
fn value_digest(value: &dyn fmt::Debug) -> u64 {
    let d = Sha256::digest(format!("{value:?}").as_bytes());
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

/// An async Rust function measured as one side of an operation. Cheap to clone.
#[derive(Clone)]
pub struct Code {
    /// The function's path (`std::any::type_name`), recorded in the results.
    pub name: String,
    f: Arc<dyn Erased>,
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code({})", self.name)
    }
}

impl Code {
    /// Wraps `f`, an `async fn(&mut PgConnection, &Params) -> Result<T, E>` (or an async
    /// closure of that shape).
    pub fn new<F, T, E>(f: F) -> Code
    where
        F: AsyncFn(&mut PgConnection, &Params) -> std::result::Result<T, E> + Send + Sync + 'static,
        T: fmt::Debug,
        E: Into<anyhow::Error>,
    {
        Code {
            name: std::any::type_name::<F>().to_string(),
            f: Arc::new(FnCode(f)),
        }
    }

    /// One measured execution: the returned value is dropped.
    pub async fn run(&self, conn: &mut PgConnection, values: &[Value]) -> anyhow::Result<()> {
        self.f.run(conn, Params::new(values)).await
    }

    /// One execution whose result is kept: the digest of the returned value.
    pub async fn digest(&self, conn: &mut PgConnection, values: &[Value]) -> anyhow::Result<u64> {
        self.f.digest(conn, Params::new(values)).await
    }
}

/// The two sides of an operation: the function measured on the database before the
/// migration and the one measured after it. Made by `bench::both` (one function for both
/// sides), `bench::before(old).after(new)`, or `(before(old), after(new)).into()`.
///
/// ```
/// use querygate::bench::{after, before, both, Implementation, Params};
/// async fn old(_: &mut sqlx::PgConnection, _: &Params) -> Result<(), sqlx::Error> { Ok(()) }
/// async fn new(_: &mut sqlx::PgConnection, _: &Params) -> Result<(), sqlx::Error> { Ok(()) }
/// let same: Implementation = both(old);
/// let pair: Implementation = before(old).after(new);
/// let tuple: Implementation = (before(old), after(new)).into();
/// ```
#[derive(Debug, Clone)]
pub struct Implementation {
    pub(crate) before: Code,
    pub(crate) after: Code,
}

/// An operation declared entirely in code, for one the scenario file does not have: its
/// parameters and claims are written as in a scenario file and checked by the same parsers.
///
/// ```
/// use querygate::bench::{both, Mode, Operation, Params};
/// async fn touch(conn: &mut sqlx::PgConnection, p: &Params) -> Result<(), sqlx::Error> {
///     sqlx::query("UPDATE users SET total_focus_seconds = total_focus_seconds + 1 WHERE id = $1")
///         .bind(p.i64(0))
///         .execute(conn)
///         .await?;
///     Ok(())
/// }
/// let op = Operation::new("touch_user", both(touch))
///     .params(["random(1, :users)"])
///     .claim("no seq scan on users")
///     .mode(Mode::Rollback);
/// ```
#[derive(Debug, Clone)]
pub struct Operation {
    name: String,
    implementation: Implementation,
    params: Vec<String>,
    claims: Vec<String>,
    mode: Mode,
    expect_same_result: Option<bool>,
}

impl Operation {
    /// An operation named `name` (as in results and reports), with no parameters or claims,
    /// in read mode.
    pub fn new(name: &str, implementation: impl Into<Implementation>) -> Operation {
        Operation {
            name: name.to_string(),
            implementation: implementation.into(),
            params: vec![],
            claims: vec![],
            mode: Mode::Read,
            expect_same_result: None,
        }
    }

    /// One generator expression per parameter, as in a scenario's `params`
    /// (e.g. `"random(1, :users)"`); the scenario's variables are in scope.
    pub fn params<I, S>(mut self, exprs: I) -> Operation
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.params = exprs.into_iter().map(Into::into).collect();
        self
    }

    /// A claim sentence, as in a scenario's `claim` (e.g. `"speedup >= 2"`).
    pub fn claim(mut self, sentence: &str) -> Operation {
        self.claims.push(sentence.to_string());
        self
    }

    /// What happens to writes: [`Mode::Read`] (default), [`Mode::Rollback`] (each execution
    /// in a transaction rolled back) or [`Mode::Commit`].
    pub fn mode(mut self, mode: Mode) -> Operation {
        self.mode = mode;
        self
    }

    /// As a scenario's `expect_same_result`: `true` makes a different result refute the
    /// operation; `false` makes it information.
    ///
    /// ```
    /// use querygate::bench::{both, Operation, Params};
    /// async fn now(c: &mut sqlx::PgConnection, _: &Params) -> Result<String, sqlx::Error> {
    ///     sqlx::query_scalar("SELECT now()::text").fetch_one(c).await
    /// }
    /// // The clock differs between the sides by nature.
    /// let op = Operation::new("clock", both(now)).expect_same_result(false);
    /// ```
    pub fn expect_same_result(mut self, same: bool) -> Operation {
        self.expect_same_result = Some(same);
        self
    }
}

/// Operations implemented in code, as the run configuration carries them.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// Code for operations of the scenario file, by name.
    pub replace: Vec<(String, Implementation)>,
    /// Operations declared in code.
    pub define: Vec<Operation>,
    /// Only operations whose name contains one of these (empty: all).
    pub only: Vec<String>,
}

impl Registry {
    /// Puts the code into `scenario`: replaces the sides of named operations, appends the
    /// operations declared in code, and keeps only the filtered ones.
    pub fn attach(&self, scenario: &mut Scenario) -> Result<()> {
        for (name, imp) in &self.replace {
            let known: Vec<String> = scenario.operations.iter().map(|o| o.name.clone()).collect();
            let Some(op) = scenario.operations.iter_mut().find(|o| &o.name == name) else {
                return Err(Error::Usage(format!(
                    "operation `{name}` is registered in code but {} has no [[operation]] named so (it has: {}); \
                     add it there (params, mode, claims), or declare it in code with Bench::define(Operation::new(…).params(…))",
                    scenario.path.display(),
                    known.join(", ")
                )));
            };
            op.before.code = Some(imp.before.clone());
            op.after.code = Some(imp.after.clone());
        }
        for op in &self.define {
            if scenario.operations.iter().any(|o| o.name == op.name) {
                return Err(Error::Usage(format!(
                    "operation `{}` is declared in code and in {}: use Bench::operation to give the file's operation code",
                    op.name,
                    scenario.path.display()
                )));
            }
            let defined = declared(op, scenario)?;
            scenario.operations.push(defined);
        }
        if !self.only.is_empty() {
            scenario
                .operations
                .retain(|o| self.only.iter().any(|f| o.name.contains(f.as_str())));
            if scenario.operations.is_empty() {
                return Err(Error::Usage(format!(
                    "no operation matches the filter {}",
                    self.only.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// An operation declared in code, checked as the scenario loader checks a file's.
fn declared(op: &Operation, scenario: &Scenario) -> Result<ScenarioOp> {
    let bad = |what: &str, text: &str, why: String| {
        Error::Usage(format!(
            "operation `{}` (declared in code): {what} `{text}`: {why}",
            op.name
        ))
    };
    let params = op
        .params
        .iter()
        .map(|p| expr::compile(p, &scenario.vars).map_err(|e| bad("params entry", p, e.message)))
        .collect::<Result<Vec<_>>>()?;
    let mut claims = op
        .claims
        .iter()
        .map(|c| {
            Ok(LocatedClaim {
                claim: claim::parse(c).map_err(|e| bad("claim", c, e))?,
                text: c.clone(),
                span: 0..0,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if op.expect_same_result == Some(true) && !claims.iter().any(|c| c.claim == Claim::SameResult) {
        claims.push(LocatedClaim {
            claim: Claim::SameResult,
            text: "expect_same_result = true".into(),
            span: 0..0,
        });
    }
    let side = |code: &Code| SideSql {
        statements: vec![],
        transaction: false,
        code: Some(code.clone()),
    };
    Ok(ScenarioOp {
        name: op.name.clone(),
        description: None,
        mode: op.mode,
        before: side(&op.implementation.before),
        after: side(&op.implementation.after),
        param_spans: vec![0..0; params.len()],
        params: if params.is_empty() {
            super::Params::None
        } else {
            super::Params::Generated(params)
        },
        claims,
        expect_same_result: op.expect_same_result,
        thresholds: Default::default(),
        weight: 1,
        span: 0..0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_convert_and_name_the_bad_one() {
        let values = [Value::Float(3.0), Value::Null, Value::Text(" 12 ".into())];
        let p = Params::new(&values);
        assert_eq!(p.len(), 3);
        assert_eq!(p.i64(0), 3);
        assert_eq!(p.try_i64(2), Ok(12));
        assert_eq!(p.text(1), "NULL");
        let e = p.try_i64(1).unwrap_err();
        assert_eq!(e.to_string(), "parameter 1 ($2): `NULL` is not an integer");
        let e = p.try_f64(5).unwrap_err();
        assert!(e.to_string().contains("the row has 3 value(s)"), "{e}");
    }

    #[test]
    fn digest_depends_on_the_value_only() {
        assert_eq!(value_digest(&(1, "a")), value_digest(&(1, "a")));
        assert_ne!(value_digest(&Some(1)), value_digest(&Some(2)));
    }

    #[test]
    fn code_records_the_function_name() {
        async fn find(_c: &mut PgConnection, p: &Params) -> std::result::Result<i64, sqlx::Error> {
            Ok(p.i64(0))
        }
        let c = Code::new(find);
        assert!(c.name.ends_with("find"), "{}", c.name);
    }
}
