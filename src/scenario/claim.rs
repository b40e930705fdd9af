//! Claims: the statements a change's author makes ("10-50x faster", "uses the new index"),
//! parsed from short sentences so that a scenario can quote them nearly as written.
//!
//! Grammar (case-insensitive, `x` and `%` suffixes optional where they make sense):
//! - `[p50|p95] speedup >= X` / `> X` / `in A..B` (also `A-B`): end-to-end, client latency
//! - `[p50|p95] latency reduction >= R%`  (the same as `speedup >= 1 / (1 - R)`)
//! - `server speedup >= X` / `> X` / `in A..B`, `server latency reduction >= R%`: the same on
//!   server time per execution (pg_stat_statements), without the round trip
//! - `[before|after] p50|p95|p99 [latency] <= N ms|us|s`  (an absolute latency bound, default side
//!   `after`; also `<`, and `>=` / `>` for a lower bound, e.g. a claimed "before" time)
//! - `uses index NAME` / `before uses index NAME`
//! - `no seq scan on TABLE` / `before no seq scan on TABLE`
//! - `buffers ratio >= X`  (before/after shared hit+read blocks)
//! - `same result`
//!
//! Under load (docs/load.md):
//! - `[before|after] throughput >= N tps`; `no errors`
//! - during the migration under load: `max latency during migration <= N ms`,
//!   `p50|p95|p99 [latency] during migration <= N ms` (the latency bound above, on the
//!   migration's window), `no errors during migration`, `no blocking during migration`,
//!   `zero downtime` (no errors and no blocking)
//! - any timing, throughput or error claim followed by `at N tps`: judged only on a load run
//!   that kept that rate
//!
//! Over a sweep (`--scale A,B,C`):
//! - `[before|after] grows at most linearly` / `… at most quadratically` /
//!   `[before|after] growth <= K` (latency ∝ scale^k with the whole interval of k at most K)
//! - any claim above followed by `at scale >= N` (also `>`, `<=`, `<`, `=`): judged only at
//!   the scales that satisfy the condition

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Quantile {
    P50,
    P95,
    P99,
}

impl Quantile {
    pub fn q(self) -> f64 {
        match self {
            Quantile::P50 => 0.50,
            Quantile::P95 => 0.95,
            Quantile::P99 => 0.99,
        }
    }
}

impl fmt::Display for Quantile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Quantile::P50 => "p50",
            Quantile::P95 => "p95",
            Quantile::P99 => "p99",
        })
    }
}

/// What a speedup claim is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Client latency (what the application sees, round trip included): unqualified `speedup`.
    EndToEnd,
    /// The server's time per execution (`server speedup`).
    Server,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Before,
    After,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Before => "before",
            Side::After => "after",
        })
    }
}

/// The comparison of an absolute latency claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    AtMost,
    Below,
    AtLeast,
    Above,
}

impl Bound {
    fn parse(op: &str) -> Option<Bound> {
        match op {
            "<=" => Some(Bound::AtMost),
            "<" => Some(Bound::Below),
            ">=" => Some(Bound::AtLeast),
            ">" => Some(Bound::Above),
            _ => None,
        }
    }

    /// Whether `value` satisfies the bound `limit`.
    pub fn admits(self, value: f64, limit: f64) -> bool {
        match self {
            Bound::AtMost => value <= limit,
            Bound::Below => value < limit,
            Bound::AtLeast => value >= limit,
            Bound::Above => value > limit,
        }
    }

    /// Upper bounds (`<=`, `<`) hold on the interval's high end; lower bounds on its low end.
    pub fn is_upper(self) -> bool {
        matches!(self, Bound::AtMost | Bound::Below)
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Bound::AtMost => "<=",
            Bound::Below => "<",
            Bound::AtLeast => ">=",
            Bound::Above => ">",
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// speedup (before/after) at a quantile lies in [min, max]; `max` infinite for `>=`.
    /// Server-time speedups have no quantile (server time is a mean per round): P50 is stored.
    Speedup {
        basis: Basis,
        quantile: Quantile,
        min: f64,
        max: f64,
        strict: bool,
    },
    /// one side's latency quantile compared with `bound_us` (`<=`, `<`, `>=` or `>`).
    Latency {
        side: Side,
        quantile: Quantile,
        bound: Bound,
        bound_us: f64,
    },
    UsesIndex {
        side: Side,
        index: String,
    },
    NoSeqScan {
        side: Side,
        table: String,
    },
    BuffersRatio {
        min: f64,
    },
    SameResult,
    /// Over a sweep: the growth exponent k (latency ∝ scale^k) of one side is at most `max`.
    Growth {
        side: Side,
        max: f64,
    },
    /// A claim that applies only at the scales satisfying `cmp scale`.
    AtScale {
        cmp: ScaleCmp,
        scale: i64,
        claim: Box<Claim>,
    },
    /// Under load: executions per second of one side (of all operations, at scenario level).
    Throughput {
        side: Side,
        min_tps: f64,
    },
    /// Under load, during the migration window: the maximum (`quantile` None) or a quantile of
    /// latency is below `bound_us` (`<=` or `<`: an upper bound only).
    MigrationLatency {
        quantile: Option<Quantile>,
        bound: Bound,
        bound_us: f64,
    },
    /// No failed execution (during the migration window only, or in the whole load run).
    NoErrors {
        during_migration: bool,
    },
    /// No execution waited on a lock held by the migration's session.
    NoBlocking,
    /// No errors and no blocking during the migration.
    ZeroDowntime,
    /// `claim` checked on a load run at `tps` executions per second or more.
    AtRate {
        claim: Box<Claim>,
        tps: f64,
    },
}

/// The comparison in `at scale >= N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleCmp {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
}

impl ScaleCmp {
    fn symbol(self) -> &'static str {
        match self {
            ScaleCmp::Ge => ">=",
            ScaleCmp::Gt => ">",
            ScaleCmp::Le => "<=",
            ScaleCmp::Lt => "<",
            ScaleCmp::Eq => "=",
        }
    }
}

impl Claim {
    /// Whether this claim is judged on a run at `scale` (a growth claim never is: it needs
    /// the whole sweep).
    pub fn applies_at(&self, scale: i64) -> bool {
        match self {
            Claim::Growth { .. } => false,
            Claim::AtScale { cmp, scale: n, .. } => match cmp {
                ScaleCmp::Ge => scale >= *n,
                ScaleCmp::Gt => scale > *n,
                ScaleCmp::Le => scale <= *n,
                ScaleCmp::Lt => scale < *n,
                ScaleCmp::Eq => scale == *n,
            },
            _ => true,
        }
    }

    /// The claim itself, without an `at scale` condition.
    pub fn inner(&self) -> &Claim {
        match self {
            Claim::AtScale { claim, .. } => claim,
            other => other,
        }
    }

    /// Claims judged over a sweep (growth), or only at some scales.
    pub fn is_sweep(&self) -> bool {
        matches!(self, Claim::Growth { .. } | Claim::AtScale { .. })
    }

    /// Whether `at N tps` can qualify this claim: a claim about timing, throughput or errors
    /// (not a plan, result or sweep claim, nor a claim that already names a rate).
    pub fn judged_at_a_rate(&self) -> bool {
        !matches!(
            self,
            Claim::UsesIndex { .. }
                | Claim::NoSeqScan { .. }
                | Claim::BuffersRatio { .. }
                | Claim::SameResult
                | Claim::Growth { .. }
                | Claim::AtScale { .. }
                | Claim::AtRate { .. }
        )
    }
}

fn number(tok: &str, suffixes: &[&str]) -> Option<f64> {
    let mut t = tok;
    for s in suffixes {
        if let Some(stripped) = t.strip_suffix(s) {
            t = stripped;
            break;
        }
    }
    t.replace('_', "")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

const EXPECTED: &str = "expected one of: `speedup >= X`, `speedup in A..B`, `p95 speedup >= X`, \
`server speedup >= X`, `latency reduction >= R%`, `after p50 <= N ms`, `uses index NAME`, `no seq scan on TABLE`, \
`buffers ratio >= X`, `same result`, `after grows at most linearly`, `after growth <= K`, \
under load `throughput >= N tps`, `no errors`, and during a migration under load \
`max latency during migration <= N ms`, `p99 latency during migration <= N ms`, `no errors during migration`, \
`no blocking during migration`, `zero downtime`; a claim may be followed by `at N tps` and then by `at scale >= N`";

/// Splits `… at scale >= N` off a claim sentence.
fn split_scale_condition(text: &str) -> Result<Option<(&str, ScaleCmp, i64)>, String> {
    let lower = text.to_ascii_lowercase();
    let Some(at) = lower.rfind(" at scale") else {
        return Ok(None);
    };
    let rest = lower[at + " at scale".len()..]
        .trim_start_matches('s')
        .replace(' ', "");
    let (cmp, num) = [
        (">=", ScaleCmp::Ge),
        ("<=", ScaleCmp::Le),
        (">", ScaleCmp::Gt),
        ("<", ScaleCmp::Lt),
        ("=", ScaleCmp::Eq),
    ]
    .iter()
    .find_map(|(sym, c)| rest.strip_prefix(sym).map(|n| (*c, n.to_string())))
    .unwrap_or((ScaleCmp::Eq, rest.clone()));
    let n = number(&num, &[])
        .filter(|v| *v >= 1.0 && v.fract() == 0.0 && *v < 9e15)
        .ok_or_else(|| {
            format!("cannot read claim `{text}`: `at scale` needs a positive whole number, e.g. `at scale >= 100000`; {EXPECTED}")
        })?;
    Ok(Some((&text[..at], cmp, n as i64)))
}

/// The growth forms: `grows at most linearly|quadratically`, `growth <= K`.
fn growth(toks: &[&str]) -> Option<Result<f64, &'static str>> {
    match toks {
        ["grows", "at", "most", "linearly"] => Some(Ok(1.0)),
        ["grows", "at", "most", "quadratically"] => Some(Ok(2.0)),
        ["grows", "at", "most", "logarithmically"] | ["grows", "sublinearly"] => None,
        ["growth", "<=", k] | ["growth", "exponent", "<=", k] => Some(
            number(k, &[])
                .filter(|v| *v >= 0.0)
                .ok_or("a growth exponent is a number >= 0"),
        ),
        _ => None,
    }
}

/// Parses one claim sentence.
pub fn parse(text: &str) -> Result<Claim, String> {
    if let Some((inner, cmp, scale)) = split_scale_condition(text)? {
        let claim = parse_one(inner).map_err(|e| e.replacen(inner, text, 1))?;
        if claim.is_sweep() {
            return Err(format!(
                "cannot read claim `{text}`: a growth claim is judged over the whole sweep, not `at scale`; {EXPECTED}"
            ));
        }
        return Ok(Claim::AtScale {
            cmp,
            scale,
            claim: Box::new(claim),
        });
    }
    parse_one(text)
}

fn parse_one(text: &str) -> Result<Claim, String> {
    // Normalise operators glued to numbers ("speedup>=10") and unicode dashes ("10–50x").
    let spaced = space_operators(&text.replace(['–', '—'], "-")).to_ascii_lowercase();
    parse_tokens(text, spaced.split_whitespace().collect())
}

/// The message of a claim that cannot be read: `text` as written, why, and what is expected.
fn unreadable(text: &str, why: &str) -> String {
    format!("cannot read claim `{text}`: {why}; {EXPECTED}")
}

/// A claim from its tokens; `text` (the sentence as written) is for messages. The words before
/// the claim proper are read here (`at N tps` around it, a side, a quantile, `max`, `during
/// migration`, `server`); the claim itself by [`claim_body`].
fn parse_tokens(text: &str, mut toks: Vec<&str>) -> Result<Claim, String> {
    let err = |why: &str| -> Result<Claim, String> { Err(unreadable(text, why)) };
    if toks.is_empty() {
        return err("it is empty");
    }
    if let Some((inner, tps)) = at_rate(&toks) {
        return rate_claim(text, inner, tps);
    }
    if let Some(c) = load_claim(&toks) {
        return c.or_else(|why| err(&why));
    }

    let side = take_side(&mut toks);
    let quantile = take_quantile(&mut toks);
    // A latency bound may say `latency` after its statistic, and bound the migration's window
    // (`max latency during migration <= 200ms`, `p99 during migration <= 50ms`).
    let max = quantile.is_none() && toks.first() == Some(&"max");
    if max {
        toks.remove(0);
    }
    if (max || quantile.is_some())
        && toks.first() == Some(&"latency")
        && toks.get(1) != Some(&"reduction")
    {
        toks.remove(0);
    }
    if toks.starts_with(&["during", "migration"]) && (max || quantile.is_some()) {
        return migration_bound(&toks[2..], side, quantile).or_else(err);
    }
    if max {
        return err("`max latency` is bounded during the migration under load (`max latency during migration <= N ms`); other latency bounds take p50, p95 or p99");
    }

    let mut basis = Basis::EndToEnd;
    if toks.first() == Some(&"server") && side.is_none() {
        if quantile.is_some() {
            return err("server time is measured as a mean per round, so a server speedup has no p50/p95 (write `server speedup >= X`)");
        }
        basis = Basis::Server;
        toks.remove(0);
        if !matches!(toks.first(), Some(&"speedup") | Some(&"latency")) {
            return err("`server` goes before `speedup` or `latency reduction`");
        }
    }
    claim_body(&toks, side, quantile, basis).or_else(err)
}

/// `CLAIM at N tps`: the claim in `inner`, judged at a rate.
fn rate_claim(text: &str, inner: Vec<&str>, tps: Option<f64>) -> Result<Claim, String> {
    if inner.is_empty() {
        return Err(unreadable(text, "`at N tps` follows a claim"));
    }
    let Some(tps) = tps.filter(|t| *t > 0.0) else {
        return Err(unreadable(
            text,
            "the rate in `at N tps` must be a positive number",
        ));
    };
    let claim = parse_tokens(text, inner)?;
    if !claim.judged_at_a_rate() {
        return Err(unreadable(
            text,
            "`at N tps` follows a latency, speedup, throughput, error or migration claim",
        ));
    }
    Ok(Claim::AtRate {
        claim: Box::new(claim),
        tps,
    })
}

/// A leading `before` or `after`, taken off `toks`.
fn take_side(toks: &mut Vec<&str>) -> Option<Side> {
    let side = match *toks.first()? {
        "before" => Side::Before,
        "after" => Side::After,
        _ => return None,
    };
    toks.remove(0);
    Some(side)
}

/// A leading quantile (`p50`, `median`, `p95`, `p99`), taken off `toks`.
fn take_quantile(toks: &mut Vec<&str>) -> Option<Quantile> {
    let quantile = match *toks.first()? {
        "p50" | "median" => Quantile::P50,
        "p95" => Quantile::P95,
        "p99" => Quantile::P99,
        _ => return None,
    };
    toks.remove(0);
    Some(quantile)
}

/// The bound after `… during migration` (`<= 200ms`): latency in the migration's window.
fn migration_bound(
    toks: &[&str],
    side: Option<Side>,
    quantile: Option<Quantile>,
) -> Result<Claim, &'static str> {
    match toks {
        _ if side.is_some() => Err("the migration runs on the before database while the traffic goes on: a bound during the migration has no before/after"),
        [op, rest @ ..] if !rest.is_empty() && Bound::parse(op).is_some_and(Bound::is_upper) => {
            latency_us(rest).map(|bound_us| Claim::MigrationLatency {
                quantile,
                bound: Bound::parse(op).expect("checked"),
                bound_us,
            })
        }
        [op, ..] if Bound::parse(op).is_some() => {
            Err("latency during the migration is bounded from above (`<=` or `<`)")
        }
        _ => Err("not a claim querygate knows"),
    }
}

/// The claim proper, after the words [`parse_tokens`] reads: one arm per form of the grammar
/// (docs/scenario-format.md, "Claims").
fn claim_body(
    toks: &[&str],
    side: Option<Side>,
    quantile: Option<Quantile>,
    basis: Basis,
) -> Result<Claim, &'static str> {
    match toks {
        ["speedup", op @ (">=" | ">"), x] if side.is_none() => match number(x, &["x"]) {
            Some(v) if v > 0.0 => Ok(Claim::Speedup {
                basis,
                quantile: quantile.unwrap_or(Quantile::P50),
                min: v,
                max: f64::INFINITY,
                strict: *op == ">",
            }),
            _ => Err("the speedup must be a positive number"),
        },
        ["speedup", "in", range] | ["speedup", range] if side.is_none() => {
            speedup_range(range, basis, quantile.unwrap_or(Quantile::P50))
        }
        ["latency", "reduction", ">=", r] if side.is_none() => match number(r, &["%"]) {
            Some(v) if v > 0.0 && v < 100.0 => Ok(Claim::Speedup {
                basis,
                quantile: quantile.unwrap_or(Quantile::P50),
                min: 1.0 / (1.0 - v / 100.0),
                max: f64::INFINITY,
                strict: false,
            }),
            _ => Err("a latency reduction is a percentage between 0 and 100"),
        },
        [op, rest @ ..] if quantile.is_some() && !rest.is_empty() && Bound::parse(op).is_some() => {
            latency_bound(
                rest,
                side.unwrap_or(Side::After),
                quantile.unwrap_or(Quantile::P50),
                Bound::parse(op).expect("checked"),
            )
        }
        ["uses", "index", name] if quantile.is_none() => Ok(Claim::UsesIndex {
            side: side.unwrap_or(Side::After),
            index: name.to_string(),
        }),
        ["no", "seq", "scan", "on", table] if quantile.is_none() => Ok(Claim::NoSeqScan {
            side: side.unwrap_or(Side::After),
            table: table.to_string(),
        }),
        ["buffers", "ratio", ">=", x] if side.is_none() && quantile.is_none() => {
            match number(x, &["x"]) {
                Some(v) if v > 0.0 => Ok(Claim::BuffersRatio { min: v }),
                _ => Err("the buffers ratio must be a positive number"),
            }
        }
        ["same", "result"] | ["same", "results"] if side.is_none() && quantile.is_none() => {
            Ok(Claim::SameResult)
        }
        t if quantile.is_none() && growth(t).is_some() => match growth(t) {
            Some(Ok(max)) => Ok(Claim::Growth {
                side: side.unwrap_or(Side::After),
                max,
            }),
            Some(Err(why)) => Err(why),
            None => Err("not a claim querygate knows"),
        },
        _ => Err("not a claim querygate knows"),
    }
}

/// Spaces out `<=`, `>=`, `<` and `>` glued to their operands (`p95<100ms`, `speedup>=10`).
fn space_operators(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '<' || c == '>' {
            out.push(' ');
            out.push(c);
            if chars.peek() == Some(&'=') {
                out.push('=');
                chars.next();
            }
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    // "> =" written with a space inside the operator is one operator.
    let mut toks: Vec<String> = Vec::new();
    for t in out.split_whitespace() {
        match toks.last_mut() {
            Some(prev) if t == "=" && (prev == "<" || prev == ">") => prev.push('='),
            _ => toks.push(t.to_string()),
        }
    }
    toks.join(" ")
}

/// `A..B` or `A-B` (an optional `x` after each): the speedup lies in [A, B].
fn speedup_range(range: &str, basis: Basis, quantile: Quantile) -> Result<Claim, &'static str> {
    let r = range.trim_end_matches('x');
    let parts: Vec<&str> = if r.contains("..") {
        r.split("..").collect()
    } else {
        r.split('-').collect()
    };
    match parts.as_slice() {
        [a, b] => match (number(a, &["x"]), number(b, &["x"])) {
            (Some(a), Some(b)) if a > 0.0 && a <= b => Ok(Claim::Speedup {
                basis,
                quantile,
                min: a,
                max: b,
                strict: false,
            }),
            _ => Err("a speedup range needs two positive numbers, low first (`10..50`)"),
        },
        _ => Err("a speedup range is written `A..B`"),
    }
}

/// The bound of `<side> <quantile> <op> N unit`, the tokens after the operator (`5 ms`,
/// `500us`, `1s`).
fn latency_bound(
    rest: &[&str],
    side: Side,
    quantile: Quantile,
    bound: Bound,
) -> Result<Claim, &'static str> {
    Ok(Claim::Latency {
        side,
        quantile,
        bound,
        bound_us: latency_us(rest)?,
    })
}

/// A latency written after its operator (`5 ms`, `500us`, `1s`), in µs.
fn latency_us(rest: &[&str]) -> Result<f64, &'static str> {
    let joined = rest.join("");
    let (num, scale) = if let Some(n) = joined.strip_suffix("ms") {
        (n, 1000.0)
    } else if let Some(n) = joined
        .strip_suffix("us")
        .or_else(|| joined.strip_suffix("µs"))
    {
        (n, 1.0)
    } else if let Some(n) = joined.strip_suffix('s') {
        (n, 1_000_000.0)
    } else {
        return Err("a latency bound needs a unit: ms, us or s");
    };
    match number(num, &[]) {
        Some(v) if v > 0.0 => Ok(v * scale),
        _ => Err("a latency bound must be a positive number"),
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Claim::Speedup {
                basis,
                quantile,
                min,
                max,
                strict,
            } => {
                match basis {
                    Basis::EndToEnd => write!(f, "{quantile} speedup")?,
                    Basis::Server => write!(f, "server speedup")?,
                }
                if max.is_infinite() {
                    write!(f, " {} {}", if *strict { ">" } else { ">=" }, trim(*min))
                } else {
                    write!(f, " in {}..{}", trim(*min), trim(*max))
                }
            }
            Claim::Latency {
                side,
                quantile,
                bound,
                bound_us,
            } if *bound_us < 1000.0 => write!(f, "{side} {quantile} {bound} {}us", trim(*bound_us)),
            Claim::Latency {
                side,
                quantile,
                bound,
                bound_us,
            } => write!(f, "{side} {quantile} {bound} {}ms", trim(bound_us / 1000.0)),
            Claim::UsesIndex { side, index } => write!(f, "{side} uses index {index}"),
            Claim::NoSeqScan { side, table } => write!(f, "{side} no seq scan on {table}"),
            Claim::BuffersRatio { min } => write!(f, "buffers ratio >= {}", trim(*min)),
            Claim::SameResult => write!(f, "same result"),
            Claim::Growth { side, max } if *max == 1.0 => {
                write!(f, "{side} grows at most linearly")
            }
            Claim::Growth { side, max } if *max == 2.0 => {
                write!(f, "{side} grows at most quadratically")
            }
            Claim::Growth { side, max } => write!(f, "{side} growth <= {}", trim(*max)),
            Claim::AtScale { cmp, scale, claim } => {
                write!(f, "{claim} at scale {} {scale}", cmp.symbol())
            }
            Claim::Throughput { side, min_tps } => {
                write!(f, "{side} throughput >= {} tps", trim(*min_tps))
            }
            Claim::MigrationLatency {
                quantile,
                bound,
                bound_us,
            } => write!(
                f,
                "{} latency during migration {bound} {}ms",
                quantile.map_or("max".to_string(), |q| q.to_string()),
                trim(bound_us / 1000.0)
            ),
            Claim::NoErrors {
                during_migration: true,
            } => write!(f, "no errors during migration"),
            Claim::NoErrors {
                during_migration: false,
            } => write!(f, "no errors"),
            Claim::NoBlocking => write!(f, "no blocking during migration"),
            Claim::ZeroDowntime => write!(f, "zero downtime"),
            Claim::AtRate { claim, tps } => write!(f, "{claim} at {} tps", trim(*tps)),
        }
    }
}

/// `… at N tps` / `… at Ntps`: the claim before it and the rate.
fn at_rate<'t>(toks: &[&'t str]) -> Option<(Vec<&'t str>, Option<f64>)> {
    let n = toks.len();
    if n >= 3 && toks[n - 3] == "at" && toks[n - 1] == "tps" {
        return Some((toks[..n - 3].to_vec(), number(toks[n - 2], &[])));
    }
    if n >= 2 && toks[n - 2] == "at" && toks[n - 1].ends_with("tps") {
        return Some((toks[..n - 2].to_vec(), number(toks[n - 1], &["tps"])));
    }
    None
}

/// The claims about a load run and the migration under load other than latency bounds;
/// `None` when `toks` is none of them.
fn load_claim(toks: &[&str]) -> Option<Result<Claim, String>> {
    let (side, rest) = match toks.first() {
        Some(&"before") => (Side::Before, &toks[1..]),
        Some(&"after") => (Side::After, &toks[1..]),
        _ => (Side::After, toks),
    };
    let c = match rest {
        ["throughput", ">=", n @ ..] if !n.is_empty() => {
            match number(&n.join(""), &["tps", "/s"]) {
                Some(v) if v > 0.0 => Ok(Claim::Throughput { side, min_tps: v }),
                _ => Err(
                    "a throughput is a positive number of executions per second (`1000 tps`)"
                        .into(),
                ),
            }
        }
        _ if toks.len() != rest.len() => return None,
        ["no", "errors", "during", "migration"] => Ok(Claim::NoErrors {
            during_migration: true,
        }),
        ["no", "errors"] | ["no", "errors", "under", "load"] => Ok(Claim::NoErrors {
            during_migration: false,
        }),
        ["no", "blocking", "during", "migration"]
        | ["no", "lock", "waits", "during", "migration"] => Ok(Claim::NoBlocking),
        ["zero", "downtime"] | ["zero-downtime"] | ["no", "downtime"] => Ok(Claim::ZeroDowntime),
        _ => return None,
    };
    Some(c)
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_claims_as_people_write_them() {
        assert_eq!(
            parse("speedup >= 10").unwrap(),
            Claim::Speedup {
                basis: Basis::EndToEnd,
                quantile: Quantile::P50,
                min: 10.0,
                max: f64::INFINITY,
                strict: false
            }
        );
        assert_eq!(
            parse("Speedup in 10..50x").unwrap(),
            Claim::Speedup {
                basis: Basis::EndToEnd,
                quantile: Quantile::P50,
                min: 10.0,
                max: 50.0,
                strict: false
            }
        );
        assert_eq!(
            parse("speedup 10–50x").unwrap(),
            Claim::Speedup {
                basis: Basis::EndToEnd,
                quantile: Quantile::P50,
                min: 10.0,
                max: 50.0,
                strict: false
            }
        );
        assert_eq!(
            parse("p95 speedup>=2x").unwrap(),
            Claim::Speedup {
                basis: Basis::EndToEnd,
                quantile: Quantile::P95,
                min: 2.0,
                max: f64::INFINITY,
                strict: false
            }
        );
        let Claim::Speedup { min, .. } = parse("latency reduction >= 50%").unwrap() else {
            panic!()
        };
        assert!((min - 2.0).abs() < 1e-9);
        assert_eq!(
            parse("after p50 <= 5 ms").unwrap(),
            Claim::Latency {
                side: Side::After,
                quantile: Quantile::P50,
                bound: Bound::AtMost,
                bound_us: 5000.0
            }
        );
        // `<` and `>` too, glued or spaced (absolute targets read naturally that way).
        for (text, bound, us) in [
            ("p95 < 100ms", Bound::Below, 100_000.0),
            ("before p99>2 s", Bound::Above, 2_000_000.0),
            ("p50 >= 300 us", Bound::AtLeast, 300.0),
            ("after p95 < = 1ms", Bound::AtMost, 1000.0),
        ] {
            let c = parse(text).unwrap();
            let Claim::Latency {
                bound: b, bound_us, ..
            } = c
            else {
                panic!("{text}: {c:?}")
            };
            assert_eq!((b, bound_us), (bound, us), "{text}");
        }
        assert_eq!(
            parse("p95 < 100ms").unwrap().to_string(),
            "after p95 < 100ms"
        );
        assert!(parse("speedup < 3").is_err());
        assert_eq!(
            parse("uses index idx_focus_sessions_user_active").unwrap(),
            Claim::UsesIndex {
                side: Side::After,
                index: "idx_focus_sessions_user_active".into()
            }
        );
        assert_eq!(
            parse("no seq scan on focus_sessions").unwrap(),
            Claim::NoSeqScan {
                side: Side::After,
                table: "focus_sessions".into()
            }
        );
        assert_eq!(parse("same result").unwrap(), Claim::SameResult);
        assert_eq!(
            parse("buffers ratio >= 10").unwrap(),
            Claim::BuffersRatio { min: 10.0 }
        );
    }

    #[test]
    fn server_speedup_claims() {
        assert_eq!(
            parse("server speedup >= 10").unwrap(),
            Claim::Speedup {
                basis: Basis::Server,
                quantile: Quantile::P50,
                min: 10.0,
                max: f64::INFINITY,
                strict: false
            }
        );
        assert_eq!(
            parse("Server speedup 10–50x").unwrap(),
            Claim::Speedup {
                basis: Basis::Server,
                quantile: Quantile::P50,
                min: 10.0,
                max: 50.0,
                strict: false
            }
        );
        let Claim::Speedup { basis, min, .. } = parse("server latency reduction >= 75%").unwrap()
        else {
            panic!()
        };
        assert_eq!(basis, Basis::Server);
        assert!((min - 4.0).abs() < 1e-9);
        for bad in [
            "p95 server speedup >= 2",
            "server uses index i",
            "after server speedup >= 2",
            "server",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("expected one of"), "{bad}: {e}");
        }
        assert!(parse("p95 server speedup >= 2")
            .unwrap_err()
            .contains("mean per round"));
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "server speedup >= 10",
            "server speedup in 2..8",
            "p50 speedup >= 10",
            "p95 speedup in 10..50",
            "after p99 <= 5ms",
            "before p50 >= 5000ms",
            "after p95 < 100ms",
            "before p50 > 2ms",
            "after p50 >= 300us",
            "after p95 < 100ms at scale >= 1000",
            "before uses index i",
            "after no seq scan on t",
            "same result",
            "buffers ratio >= 3",
            "after grows at most linearly",
            "before grows at most quadratically",
            "after growth <= 0.5",
            "p50 speedup >= 10 at scale >= 100000",
            "after p50 <= 100ms at scale < 5000",
            "after throughput >= 1000 tps",
            "max latency during migration <= 200ms",
            "p99 latency during migration <= 50ms",
            "p95 latency during migration < 1ms",
            "no errors during migration",
            "no errors",
            "no blocking during migration",
            "zero downtime",
            "after p95 <= 100ms at 500 tps",
        ] {
            assert_eq!(parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn rejects_with_the_list_of_forms() {
        for bad in [
            "",
            "fast",
            "speedup >= -1",
            "speedup in 50..10",
            "after p50 <= 5",
            "latency reduction >= 150%",
            "uses index",
            "speedup >= 10 at scale >= ten",
            "after grows at most linearly at scale >= 10",
            "grows at most cubically",
            "throughput >= fast",
            "max latency during migration <= 200",
            "at 500 tps",
            "p95 <= 100ms at many tps",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("expected one of"), "{bad}: {e}");
        }
    }
}

#[cfg(test)]
mod load_tests {
    use super::*;

    #[test]
    fn a_bound_during_the_migration_is_the_latency_bound_on_another_window() {
        for (text, quantile, us) in [
            ("max latency during migration <= 200ms", None, 200_000.0),
            ("max during migration <= 2 s", None, 2_000_000.0),
            (
                "p99 during migration <= 50ms",
                Some(Quantile::P99),
                50_000.0,
            ),
            (
                "P95 latency during migration<=500us",
                Some(Quantile::P95),
                500.0,
            ),
        ] {
            assert_eq!(
                parse(text).unwrap(),
                Claim::MigrationLatency {
                    quantile,
                    bound: Bound::AtMost,
                    bound_us: us
                },
                "{text}"
            );
        }
        // `latency` may follow a statistic outside the migration too: the same claim.
        assert_eq!(
            parse("after p95 latency <= 100ms").unwrap(),
            parse("after p95 <= 100ms").unwrap()
        );
        for (bad, why) in [
            ("before p99 during migration <= 5ms", "no before/after"),
            ("max latency during migration >= 5ms", "from above"),
            ("p99 during migration > 5ms", "from above"),
            ("max latency during migration <= 5", "needs a unit"),
            ("max latency <= 5ms", "during the migration"),
            ("uses index i at 500 tps", "`at N tps` follows"),
            ("speedup >= 2 at 5 tps at 6 tps", "`at N tps` follows"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(
                e.contains(why) && e.contains("expected one of"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn a_rate_comes_before_a_scale() {
        let c = parse("after p95 <= 100ms at 500 tps at scale >= 1000").unwrap();
        let Claim::AtScale { claim, .. } = &c else {
            panic!("{c:?}")
        };
        assert!(matches!(**claim, Claim::AtRate { tps, .. } if tps == 500.0));
        assert_eq!(
            c.to_string(),
            "after p95 <= 100ms at 500 tps at scale >= 1000"
        );
        assert!(c.applies_at(1000) && !c.applies_at(999));
        assert_eq!(
            parse("zero downtime at 200tps").unwrap(),
            Claim::AtRate {
                claim: Box::new(Claim::ZeroDowntime),
                tps: 200.0
            }
        );
    }
}

#[cfg(test)]
mod sweep_tests {
    use super::*;

    #[test]
    fn reads_sweep_claims() {
        assert_eq!(
            parse("after grows at most linearly").unwrap(),
            Claim::Growth {
                side: Side::After,
                max: 1.0
            }
        );
        assert_eq!(
            parse("Before growth <= 1.5").unwrap(),
            Claim::Growth {
                side: Side::Before,
                max: 1.5
            }
        );
        let c = parse("speedup >= 10 at scale >= 100_000").unwrap();
        assert_eq!(
            c,
            Claim::AtScale {
                cmp: ScaleCmp::Ge,
                scale: 100_000,
                claim: Box::new(parse("speedup >= 10").unwrap())
            }
        );
        assert!(c.applies_at(100_000) && c.applies_at(1_000_000) && !c.applies_at(99_999));
        assert!(c.is_sweep());
        assert!(!parse("after grows at most linearly")
            .unwrap()
            .applies_at(10));
        assert!(parse("speedup >= 2").unwrap().applies_at(10));
        assert_eq!(
            parse("speedup >= 2 at scale 1e4").unwrap().to_string(),
            "p50 speedup >= 2 at scale = 10000"
        );
    }
}
