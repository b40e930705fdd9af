//! The little expression language of scenario files: variables (`users = "scale / 100"`) and
//! parameter generators (`random(1, :users)`), after pgbench's `\set` expressions.
//!
//! Variables are folded to constants when a scenario is loaded; what remains to evaluate per
//! execution is a small tree whose leaves are constants and generator calls. Random functions
//! follow pgbench's definitions so that a workload written for pgbench means the same here.

use std::collections::BTreeMap;
use std::fmt;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Zipf};

/// A value an expression produces: bound as a statement parameter or substituted into SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An integer (`random(1, :users)`, `42`).
    Int(i64),
    /// A floating-point number (`0.5`, or arithmetic on one).
    Float(f64),
    /// Text (`'Deep Focus'`); sampled rows (`params = { sample = "SELECT …" }`) arrive as text.
    Text(String),
    /// SQL NULL.
    Null,
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Text(v) => write!(f, "{v}"),
            Value::Null => write!(f, "NULL"),
        }
    }
}

impl Value {
    fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(v) => Some(*v as f64),
            Value::Float(v) => Some(*v),
            _ => None,
        }
    }
    fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            // Only whole numbers that fit: `as` would saturate 1e300 to i64::MAX silently.
            Value::Float(v) if v.fract() == 0.0 && v.abs() < 9.2e18 => Some(*v as i64),
            _ => None,
        }
    }
}

/// An error inside an expression; `offset` is a byte offset into the expression text.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprError {
    pub offset: usize,
    pub message: String,
}

impl ExprError {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        ExprError {
            offset,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RandomKind {
    Uniform,
    Zipfian,
    Exponential,
    Gaussian,
}

/// A compiled expression: constants folded, generators validated.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Const(Value),
    Random {
        kind: RandomKind,
        lo: i64,
        hi: i64,
        param: f64,
    },
    Binary {
        op: char,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Neg(Box<Expr>),
}

/// The compiled form in pgbench's notation, constants folded: `random(1, 1000)`,
/// `(random_zipfian(1, 50, 1.5) * 2)`. Two generators that draw the same stream print the
/// same, however they were written (variables, spacing), which is what fingerprints need.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Const(Value::Text(t)) => write!(f, "'{}'", t.replace('\'', "''")),
            Expr::Const(v) => write!(f, "{v}"),
            Expr::Random {
                kind,
                lo,
                hi,
                param,
            } => match kind {
                RandomKind::Uniform => write!(f, "random({lo}, {hi})"),
                RandomKind::Zipfian => write!(f, "random_zipfian({lo}, {hi}, {param})"),
                RandomKind::Exponential => write!(f, "random_exponential({lo}, {hi}, {param})"),
                RandomKind::Gaussian => write!(f, "random_gaussian({lo}, {hi}, {param})"),
            },
            Expr::Binary { op, left, right } => write!(f, "({left} {op} {right})"),
            Expr::Neg(e) => write!(f, "-{e}"),
        }
    }
}

impl Expr {
    /// True when evaluation needs no random numbers.
    pub fn is_const(&self) -> bool {
        matches!(self, Expr::Const(_))
    }

    /// Evaluates the expression, drawing from `rng` for generators.
    pub fn eval(&self, rng: &mut ChaCha8Rng) -> Value {
        match self {
            Expr::Const(v) => v.clone(),
            Expr::Random {
                kind,
                lo,
                hi,
                param,
            } => Value::Int(draw(*kind, *lo, *hi, *param, rng)),
            Expr::Neg(e) => negate(e.eval(rng)).unwrap_or(Value::Null),
            Expr::Binary { op, left, right } => {
                arith(*op, &left.eval(rng), &right.eval(rng)).unwrap_or(Value::Null)
            }
        }
    }
}

/// Draws one value like pgbench's random functions (pgbench.c `getrand`, `getExponentialRand`,
/// `getGaussianRand`, `getZipfianRand`).
fn draw(kind: RandomKind, lo: i64, hi: i64, param: f64, rng: &mut ChaCha8Rng) -> i64 {
    let n = (hi - lo + 1) as f64;
    match kind {
        RandomKind::Uniform => rng.random_range(lo..=hi),
        RandomKind::Exponential => {
            let cut = (-param).exp();
            let uniform: f64 = 1.0 - rng.random::<f64>();
            let r = -(cut + (1.0 - cut) * uniform).ln() / param;
            lo + ((n * r) as i64).min(hi - lo)
        }
        RandomKind::Gaussian => {
            // Box-Muller, rejecting draws beyond ±param standard deviations (pgbench's method).
            let stdev = loop {
                let r1: f64 = 1.0 - rng.random::<f64>();
                let r2: f64 = rng.random::<f64>();
                let z = (-2.0 * r1.ln()).sqrt() * (2.0 * std::f64::consts::PI * r2).sin();
                if z >= -param && z < param {
                    break z;
                }
            };
            let rand = (stdev + param) / (param * 2.0);
            lo + ((n * rand) as i64).min(hi - lo)
        }
        RandomKind::Zipfian => {
            let zipf = Zipf::new(n, param).expect("validated zipfian parameters");
            // The draw is in [1, n]; n is rounded to f64, so clamp before adding.
            let k = (zipf.sample(rng) as i64)
                .saturating_sub(1)
                .clamp(0, hi - lo);
            lo + k
        }
    }
}

fn negate(v: Value) -> Option<Value> {
    match v {
        Value::Int(i) => Some(Value::Int(i.checked_neg()?)),
        Value::Float(f) => Some(Value::Float(-f)),
        _ => None,
    }
}

/// Integer arithmetic when both sides are integers (pgbench semantics), float otherwise.
fn arith(op: char, a: &Value, b: &Value) -> Option<Value> {
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        return Some(Value::Int(match op {
            '+' => x.checked_add(*y)?,
            '-' => x.checked_sub(*y)?,
            '*' => x.checked_mul(*y)?,
            '/' => x.checked_div(*y)?,
            '%' => x.checked_rem(*y)?,
            _ => return None,
        }));
    }
    let (x, y) = (a.as_f64()?, b.as_f64()?);
    Some(Value::Float(match op {
        '+' => x + y,
        '-' => x - y,
        '*' => x * y,
        '/' if y != 0.0 => x / y,
        '%' if y != 0.0 => x % y,
        _ => return None,
    }))
}

/// Parses and compiles `text`, resolving variables (with or without a leading `:`) from `vars`.
pub fn compile(text: &str, vars: &BTreeMap<String, Value>) -> Result<Expr, ExprError> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
        vars,
        depth: 0,
    };
    let e = p.expr()?;
    p.skip_ws();
    if p.pos < p.s.len() {
        return Err(ExprError::new(
            p.pos,
            format!("unexpected `{}`", &text[p.pos..]),
        ));
    }
    Ok(e)
}

/// Compiles `text` and requires a constant (no generator): used for variables and bounds.
pub fn eval_const(text: &str, vars: &BTreeMap<String, Value>) -> Result<Value, ExprError> {
    match compile(text, vars)? {
        Expr::Const(v) => Ok(v),
        _ => Err(ExprError::new(
            0,
            "expected a constant expression, found a random generator",
        )),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    vars: &'a BTreeMap<String, Value>,
    /// Nesting of parentheses, calls and signs: bounded so that no input overflows the stack.
    depth: usize,
}

/// Deeper nesting than any real generator needs; the parser recurses once per level.
const MAX_DEPTH: usize = 64;

/// The option closest to `word` when it is a likely misspelling (for "did you mean").
pub(crate) fn closest<'a>(
    word: &str,
    options: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    options
        .into_iter()
        .map(|o| (edit_distance(word, o), o))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| o)
}

/// Edit distance by characters, counting a swap of two neighbours as one edit (optimal string
/// alignment), since `usres` for `users` is the commonest typo.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.pos).copied()
    }

    fn expr(&mut self) -> Result<Expr, ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::new(
                self.pos,
                format!("the expression is nested too deeply (more than {MAX_DEPTH} levels)"),
            ));
        }
        let e = self.sum();
        self.depth -= 1;
        e
    }

    fn sum(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.term()?;
        while let Some(c @ (b'+' | b'-')) = self.peek() {
            let at = self.pos;
            self.pos += 1;
            let right = self.term()?;
            left = fold(c as char, left, right, at)?;
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.unary()?;
        while let Some(c @ (b'*' | b'/' | b'%')) = self.peek() {
            let at = self.pos;
            self.pos += 1;
            let right = self.unary()?;
            left = fold(c as char, left, right, at)?;
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        if self.peek() == Some(b'-') {
            let at = self.pos;
            self.pos += 1;
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(ExprError::new(at, "too many signs in a row"));
            }
            let inner = self.unary();
            self.depth -= 1;
            return match inner? {
                Expr::Const(v) => negate(v)
                    .map(Expr::Const)
                    .ok_or_else(|| ExprError::new(at, "cannot negate this value")),
                e => Ok(Expr::Neg(Box::new(e))),
            };
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        let start = match self.peek() {
            None => return Err(ExprError::new(self.pos, "expected a value, found the end")),
            Some(_) => self.pos,
        };
        let c = self.s[start];
        if c == b'(' {
            self.pos += 1;
            let e = self.expr()?;
            if self.peek() != Some(b')') {
                return Err(ExprError::new(self.pos, "expected `)`"));
            }
            self.pos += 1;
            return Ok(e);
        }
        if c == b'\'' {
            return self.string();
        }
        if c.is_ascii_digit() || c == b'.' {
            return self.number();
        }
        if c == b':' || c.is_ascii_alphabetic() || c == b'_' {
            if c == b':' {
                self.pos += 1;
            }
            let name_start = self.pos;
            while self.pos < self.s.len()
                && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_')
            {
                self.pos += 1;
            }
            let name = std::str::from_utf8(&self.s[name_start..self.pos])
                .unwrap_or_default()
                .to_string();
            if name.is_empty() {
                return Err(ExprError::new(start, "expected a variable name after `:`"));
            }
            if c != b':' && self.peek() == Some(b'(') {
                self.pos += 1;
                return self.call(&name, start);
            }
            if c != b':' {
                match name.to_ascii_lowercase().as_str() {
                    "null" => return Ok(Expr::Const(Value::Null)),
                    "true" => return Ok(Expr::Const(Value::Text("true".into()))),
                    "false" => return Ok(Expr::Const(Value::Text("false".into()))),
                    _ => {}
                }
            }
            return match self.vars.get(&name) {
                Some(v) => Ok(Expr::Const(v.clone())),
                None => {
                    let known: Vec<&str> = self.vars.keys().map(String::as_str).collect();
                    let mut m = format!("unknown variable `{name}` (known: {})", known.join(", "));
                    if let Some(best) = closest(&name, known.iter().copied()) {
                        m += &format!("; did you mean `{best}`?");
                    }
                    Err(ExprError::new(start, m))
                }
            };
        }
        // `start` is a character boundary: the parser only ever steps over whole characters.
        let ch = std::str::from_utf8(&self.s[start..])
            .ok()
            .and_then(|t| t.chars().next())
            .unwrap_or(c as char);
        Err(ExprError::new(
            start,
            format!(
                "unexpected `{ch}`: expected a number, a variable, a 'string' or a function call"
            ),
        ))
    }

    fn string(&mut self) -> Result<Expr, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.s.get(self.pos) {
                None => return Err(ExprError::new(start, "unterminated string literal")),
                Some(b'\'') if self.s.get(self.pos + 1) == Some(&b'\'') => {
                    out.push(b'\'');
                    self.pos += 2;
                }
                Some(b'\'') => {
                    self.pos += 1;
                    break;
                }
                Some(&b) => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
        Ok(Expr::Const(Value::Text(
            String::from_utf8_lossy(&out).into_owned(),
        )))
    }

    fn number(&mut self) -> Result<Expr, ExprError> {
        let start = self.pos;
        while self.pos < self.s.len()
            && (self.s[self.pos].is_ascii_digit()
                || matches!(self.s[self.pos], b'.' | b'_' | b'e' | b'E'))
        {
            self.pos += 1;
        }
        let raw: String = std::str::from_utf8(&self.s[start..self.pos])
            .unwrap_or_default()
            .replace('_', "");
        if let Ok(i) = raw.parse::<i64>() {
            return Ok(Expr::Const(Value::Int(i)));
        }
        match raw.parse::<f64>() {
            // `1e5` is a whole number in practice; keep it an integer so it can be a bound.
            Ok(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Expr::Const(Value::Int(f as i64))),
            Ok(f) => Ok(Expr::Const(Value::Float(f))),
            Err(_) => Err(ExprError::new(start, format!("`{raw}` is not a number"))),
        }
    }

    /// The arguments of a call, after its `(`, through the closing `)`; each with its offset.
    fn arguments(&mut self) -> Result<Vec<(usize, Expr)>, ExprError> {
        let mut args = Vec::new();
        if self.peek() == Some(b')') {
            self.pos += 1;
            return Ok(args);
        }
        loop {
            let at = self.pos;
            args.push((at, self.expr()?));
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b')') => {
                    self.pos += 1;
                    return Ok(args);
                }
                _ => {
                    return Err(ExprError::new(
                        self.pos,
                        "expected `,` or `)` in the argument list",
                    ))
                }
            }
        }
    }

    fn call(&mut self, name: &str, start: usize) -> Result<Expr, ExprError> {
        let args = self.arguments()?;
        let (kind, arity) = match name {
            "random" => (RandomKind::Uniform, 2),
            "random_zipfian" => (RandomKind::Zipfian, 3),
            "random_exponential" => (RandomKind::Exponential, 3),
            "random_gaussian" => (RandomKind::Gaussian, 3),
            _ => {
                return Err(ExprError::new(
                    start,
                    format!(
                        "unknown function `{name}`: expected random, random_zipfian, random_exponential or random_gaussian"
                    ),
                ))
            }
        };
        if args.len() != arity {
            return Err(ExprError::new(
                start,
                format!("{name} takes {arity} arguments, found {}", args.len()),
            ));
        }
        let int_arg = |(at, e): &(usize, Expr), what: &str| -> Result<i64, ExprError> {
            match e {
                Expr::Const(v) => v.as_int().ok_or_else(|| {
                    ExprError::new(
                        *at,
                        format!("the {what} of {name} must be an integer, found `{v}`"),
                    )
                }),
                _ => Err(ExprError::new(
                    *at,
                    format!("the {what} of {name} must be a constant"),
                )),
            }
        };
        let lo = int_arg(&args[0], "lower bound")?;
        let hi = int_arg(&args[1], "upper bound")?;
        if lo > hi {
            return Err(ExprError::new(
                start,
                format!("empty range in {name}: lower bound {lo} is above upper bound {hi}"),
            ));
        }
        if hi.checked_sub(lo).and_then(|d| d.checked_add(1)).is_none() {
            return Err(ExprError::new(
                start,
                format!("range of {name} is too large"),
            ));
        }
        let param = match args.get(2) {
            None => 0.0,
            Some((at, Expr::Const(v))) => v.as_f64().ok_or_else(|| {
                ExprError::new(*at, format!("the parameter of {name} must be a number"))
            })?,
            Some((at, _)) => {
                return Err(ExprError::new(
                    *at,
                    format!("the parameter of {name} must be a constant"),
                ))
            }
        };
        let at = args.get(2).map(|a| a.0).unwrap_or(start);
        // Written as `!(x > …)` so that NaN is refused too (a NaN gaussian would never end).
        match kind {
            RandomKind::Zipfian if !(1.001..=1000.0).contains(&param) => {
                return Err(ExprError::new(at, format!("zipfian parameter must be in [1.001, 1000] (pgbench's range), found {param}")))
            }
            RandomKind::Exponential if !(param > 0.0 && param.is_finite()) => {
                return Err(ExprError::new(at, format!("exponential parameter must be a number greater than 0, found {param}")))
            }
            RandomKind::Gaussian if !(param >= 2.0 && param.is_finite()) => {
                return Err(ExprError::new(at, format!("gaussian parameter must be a number of at least 2.0 (pgbench's minimum), found {param}")))
            }
            _ => {}
        }
        Ok(Expr::Random {
            kind,
            lo,
            hi,
            param,
        })
    }
}

fn fold(op: char, left: Expr, right: Expr, at: usize) -> Result<Expr, ExprError> {
    if let (Expr::Const(a), Expr::Const(b)) = (&left, &right) {
        return arith(op, a, b)
            .map(Expr::Const)
            .ok_or_else(|| ExprError::new(at, format!("cannot compute `{a} {op} {b}`")));
    }
    Ok(Expr::Binary {
        op,
        left: Box::new(left),
        right: Box::new(right),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn vars() -> BTreeMap<String, Value> {
        BTreeMap::from([
            ("scale".to_string(), Value::Int(100_000)),
            ("users".to_string(), Value::Int(1000)),
        ])
    }

    #[test]
    fn display_is_the_folded_form_whatever_the_spelling() {
        let a = compile("random(1, :users)", &vars()).unwrap();
        let b = compile("random( 1,users )", &vars()).unwrap();
        assert_eq!(a.to_string(), "random(1, 1000)");
        assert_eq!(a.to_string(), b.to_string());
        let z = compile("random_zipfian(1, users / 2, 1.5) * 2", &vars()).unwrap();
        assert_eq!(z.to_string(), "(random_zipfian(1, 500, 1.5) * 2)");
    }

    #[test]
    fn folds_constants_with_integer_division() {
        assert_eq!(
            eval_const("scale / 100", &vars()).unwrap(),
            Value::Int(1000)
        );
        assert_eq!(
            eval_const(":scale / 3 + 1", &vars()).unwrap(),
            Value::Int(33_334)
        );
        assert_eq!(eval_const("(1 + 2) * -3", &vars()).unwrap(), Value::Int(-9));
        assert_eq!(eval_const("1e5", &vars()).unwrap(), Value::Int(100_000));
        assert_eq!(
            eval_const("'it''s'", &vars()).unwrap(),
            Value::Text("it's".into())
        );
    }

    #[test]
    fn generators_stay_in_range_and_are_reproducible() {
        for text in [
            "random(1, :users)",
            "random_zipfian(1, users, 1.5)",
            "random_exponential(1, users, 3)",
            "random_gaussian(1, users, 2.5)",
        ] {
            let e = compile(text, &vars()).unwrap();
            let mut a = ChaCha8Rng::seed_from_u64(7);
            let mut b = ChaCha8Rng::seed_from_u64(7);
            for _ in 0..2000 {
                let v = e.eval(&mut a);
                assert_eq!(v, e.eval(&mut b), "{text}");
                let Value::Int(i) = v else {
                    panic!("{text} gave {v:?}")
                };
                assert!((1..=1000).contains(&i), "{text} gave {i}");
            }
        }
    }

    #[test]
    fn zipfian_favours_low_values() {
        let e = compile("random_zipfian(1, 1000, 1.5)", &vars()).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let ones = (0..10_000)
            .filter(|_| e.eval(&mut rng) == Value::Int(1))
            .count();
        assert!(
            ones > 2_000,
            "P(1) should be large for s = 1.5, got {ones} of 10000"
        );
    }

    #[test]
    fn errors_point_at_the_offending_text() {
        let err = compile("random(10, 1)", &vars()).unwrap_err();
        assert!(err.message.contains("empty range"), "{err:?}");
        let err = compile("random(1, :nope)", &vars()).unwrap_err();
        assert_eq!(err.offset, 10);
        assert!(err.message.contains("unknown variable `nope`"));
        let err = compile("rand(1, 2)", &vars()).unwrap_err();
        assert!(err.message.contains("unknown function `rand`"));
        let err = compile("random_zipfian(1, 10, 0.5)", &vars()).unwrap_err();
        assert!(err.message.contains("zipfian parameter"));
        let err = compile("random(1, 2", &vars()).unwrap_err();
        assert!(err.message.contains("expected `,` or `)`"));
        assert!(compile("1 +", &vars()).is_err());
        assert!(compile("", &vars()).is_err());
        let err = compile("random(1, :usres)", &vars()).unwrap_err();
        assert!(err.message.ends_with("did you mean `users`?"), "{err:?}");
        let err = compile("1 + é", &vars()).unwrap_err();
        assert_eq!(err.offset, 4);
        assert!(err.message.starts_with("unexpected `é`"), "{err:?}");
    }

    /// Inputs found by tests/fuzz_inputs.rs: each once overflowed the stack, hung, or was
    /// silently clamped.
    #[test]
    fn refuses_what_would_overflow_hang_or_saturate() {
        let mut v = vars();
        v.insert("nan".into(), Value::Float(f64::NAN));
        v.insert("inf".into(), Value::Float(f64::INFINITY));
        let deep = format!("{}1", "(".repeat(100_000));
        assert!(compile(&deep, &v)
            .unwrap_err()
            .message
            .contains("nested too deeply"));
        assert!(compile(&format!("{}1", "-".repeat(100_000)), &v).is_err());
        for text in [
            "random_gaussian(1, 10, nan)",
            "random_gaussian(1, 10, inf - inf)",
            "random_exponential(1, 10, nan)",
            "random_exponential(1, 10, inf)",
            "random(1, 1e300)",
        ] {
            assert!(compile(text, &v).is_err(), "{text}");
        }
        let e = compile("random_zipfian(1, 9223372036854775807, 1.001)", &v).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..1000 {
            assert!(matches!(e.eval(&mut rng), Value::Int(i) if i >= 1));
        }
    }
}
