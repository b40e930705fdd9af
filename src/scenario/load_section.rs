//! The `[load]` table: concurrent clients, a target rate, phases, and the migration under live
//! load. Parsed here (pure) into [`LoadSettings`]; run by `crate::load`.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::claim;
use super::model::LocatedClaim;

/// How an open loop spaces a client's executions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Arrival {
    /// Every client sends every `clients / rate` seconds, clients evenly staggered.
    Uniform,
    /// Exponential gaps (a Poisson process at the rate), seeded: what `pgbench -R` does.
    Poisson,
}

/// A validated `[load]` table (with command-line overrides applied).
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// Load mode runs without a command-line flag (`enabled = false`: only with `--load`,
    /// `--clients`, `--rate`, `--under-load` …, so the single-client comparison stays the default).
    pub enabled: bool,
    /// Concurrent clients, each with its own connection.
    pub clients: u32,
    /// Total target rate in executions per second (open loop); `None` is a closed loop.
    pub rate: Option<f64>,
    pub arrival: Arrival,
    /// Unrecorded time before measuring.
    pub warmup_ms: u64,
    /// Measured time of the before/after comparison, split into `phases`.
    pub duration_ms: u64,
    /// Phases of the comparison (A, B, B, A …): an even number, at least 2.
    pub phases: u32,
    /// Discarded at the start of every phase.
    pub settle_ms: u64,
    /// `settle` was written: otherwise it follows the phase length (`resolve`).
    pub settle_given: bool,
    /// Width of one timeline interval (one HdrHistogram per operation per interval).
    pub interval_ms: u64,
    /// OS threads driving the clients (like `pgbench -j`).
    pub threads: u32,
    /// Run the migration while the traffic runs, instead of the before/after phases.
    pub under_load: bool,
    /// Under load: traffic before the migration starts …
    pub steady_ms: u64,
    /// … and after it ends.
    pub tail_ms: u64,
    /// Period of the `pg_stat_activity` / `pg_locks` sampler during an under-load run.
    pub sample_ms: u64,
    /// Scenario-wide claims on the load run (`throughput >= 1000 tps`, `zero downtime`, …).
    pub claims: Vec<LocatedClaim>,
    /// Where the `[load]` table is in the scenario file (for errors).
    pub span: Range<usize>,
}

impl LoadSettings {
    /// The defaults, for a scenario without `[load]` run with load flags.
    pub fn new(span: Range<usize>) -> Self {
        LoadSettings {
            enabled: true,
            clients: 4,
            rate: None,
            arrival: Arrival::Uniform,
            warmup_ms: 5_000,
            duration_ms: 30_000,
            phases: 12,
            settle_ms: 1_000,
            settle_given: false,
            interval_ms: 1_000,
            threads: 2,
            under_load: false,
            steady_ms: 5_000,
            tail_ms: 5_000,
            sample_ms: 20,
            claims: vec![],
            span,
        }
    }

    /// Length of one phase of the comparison.
    pub fn phase_ms(&self) -> u64 {
        self.duration_ms / u64::from(self.phases.max(1))
    }

    /// Settles what depends on other settings (after overrides): an unwritten `settle` is a
    /// quarter of a phase, at most 1 s.
    pub fn resolve(&mut self) {
        if !self.settle_given {
            self.settle_ms = (self.phase_ms() / 4).min(1_000);
        }
    }

    /// Checks what only makes sense together (after overrides).
    pub fn validate(&self) -> Result<(), String> {
        if self.clients == 0 || self.clients > 10_000 {
            return Err(format!(
                "load clients must be between 1 and 10000, found {}",
                self.clients
            ));
        }
        if let Some(r) = self.rate {
            if !(r > 0.0 && r <= 10_000_000.0) {
                return Err(format!(
                    "load rate must be a positive number of executions per second, found {r}"
                ));
            }
        }
        if self.phases < 2 || self.phases % 2 != 0 {
            return Err(format!(
                "load phases must be an even number of at least 2 (A, B, B, A …), found {}",
                self.phases
            ));
        }
        if self.settle_ms * 2 > self.phase_ms() {
            return Err(format!(
                "a load phase lasts {} ms (duration / phases) but its first {} ms (settle) are discarded: \
                 lengthen the duration or shorten settle so that at least half of each phase is measured",
                self.phase_ms(),
                self.settle_ms
            ));
        }
        if self.interval_ms < 10 {
            return Err("load interval must be at least 10ms".into());
        }
        if self.sample_ms < 5 {
            return Err("load sample must be at least 5ms".into());
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLoad {
    enabled: Option<bool>,
    clients: Option<Spanned<i64>>,
    rate: Option<Spanned<toml::Value>>,
    arrival: Option<Spanned<String>>,
    duration: Option<Spanned<toml::Value>>,
    warmup: Option<Spanned<toml::Value>>,
    phases: Option<Spanned<i64>>,
    settle: Option<Spanned<toml::Value>>,
    interval: Option<Spanned<toml::Value>>,
    threads: Option<Spanned<i64>>,
    under_load: Option<bool>,
    steady: Option<Spanned<toml::Value>>,
    tail: Option<Spanned<toml::Value>>,
    sample: Option<Spanned<toml::Value>>,
    claim: Option<Spanned<toml::Value>>,
}

/// Why a claim belongs to one operation rather than to the whole load mix, if it does.
fn per_operation(c: &claim::Claim) -> Option<&'static str> {
    use claim::Claim::*;
    match c {
        AtRate { claim, .. } | AtScale { claim, .. } => per_operation(claim),
        Speedup { .. } | Latency { .. } => Some("compares or bounds one operation's latency"),
        UsesIndex { .. } | NoSeqScan { .. } | BuffersRatio { .. } | SameResult => {
            Some("is about one operation's plan or result")
        }
        Growth { .. } => Some("is about one operation over a sweep"),
        _ => None,
    }
}

/// A duration written `"20s"`, `"500ms"`, `"2m"`, or a number of seconds.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let t = text.trim().replace('_', "");
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = t.strip_suffix("min").or_else(|| t.strip_suffix('m')) {
        (n, 60_000.0)
    } else {
        (t.as_str(), 1000.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v >= 0.0 && v.is_finite() && v * scale < 1e12 => Ok((v * scale).round() as u64),
        _ => Err(format!(
            "`{text}` is not a duration: write e.g. \"20s\", \"500ms\" or \"2m\""
        )),
    }
}

/// Reads a string or a list of strings, each with its span.
pub(super) type StringsOf<'a> = dyn Fn(&Spanned<toml::Value>) -> Result<Vec<(String, Range<usize>)>, crate::error::Located>
    + 'a;

/// Locates an error in the scenario file: `err(span, message)`.
type Locate<'a> = dyn Fn(Range<usize>, String) -> crate::error::Located + 'a;

/// Turns a raw `[load]` table into settings; `err(span, message)` locates an error.
pub(super) fn load_settings(
    raw: RawLoad,
    span: Range<usize>,
    err: &Locate<'_>,
    strings: &StringsOf<'_>,
) -> Result<LoadSettings, crate::error::Located> {
    let mut s = LoadSettings::new(span.clone());
    if let Some(c) = int(&raw.clients, "clients", 1, 10_000, err)? {
        s.clients = c;
    }
    s.threads = s.clients.min(2);
    if let Some(t) = int(&raw.threads, "threads", 1, 256, err)? {
        s.threads = t;
    }
    if let Some(p) = int(&raw.phases, "phases", 2, 1000, err)? {
        s.phases = p;
    }
    if let Some(r) = &raw.rate {
        s.rate = Some(rate(r, err)?);
    }
    if let Some(a) = &raw.arrival {
        s.arrival = arrival(a, err)?;
    }
    for (v, key, slot) in [
        (&raw.duration, "duration", &mut s.duration_ms),
        (&raw.warmup, "warmup", &mut s.warmup_ms),
        (&raw.settle, "settle", &mut s.settle_ms),
        (&raw.interval, "interval", &mut s.interval_ms),
        (&raw.steady, "steady", &mut s.steady_ms),
        (&raw.tail, "tail", &mut s.tail_ms),
        (&raw.sample, "sample", &mut s.sample_ms),
    ] {
        if let Some(ms) = duration(v, key, err)? {
            *slot = ms;
        }
    }
    s.settle_given = raw.settle.is_some();
    if raw.interval.is_none() && raw.under_load == Some(true) {
        s.interval_ms = 100;
    }
    s.under_load = raw.under_load.unwrap_or(false);
    s.enabled = raw.enabled.unwrap_or(true);
    if let Some(c) = &raw.claim {
        s.claims.extend(mix_claims(c, err, strings)?);
    }
    s.resolve();
    s.validate().map_err(|m| err(span, m))?;
    Ok(s)
}

/// `load.<key>` as a duration in ms, if written.
fn duration(
    v: &Option<Spanned<toml::Value>>,
    key: &str,
    err: &Locate<'_>,
) -> Result<Option<u64>, crate::error::Located> {
    let Some(v) = v else { return Ok(None) };
    let text = match v.get_ref() {
        toml::Value::String(t) => t.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        other => {
            return Err(err(
                v.span(),
                format!(
                    "`load.{key}` must be a duration such as \"20s\", found {}",
                    other.type_str()
                ),
            ))
        }
    };
    parse_duration_ms(&text)
        .map(Some)
        .map_err(|e| err(v.span(), format!("`load.{key}`: {e}")))
}

/// `load.<key>` as a whole number between `lo` and `hi`, if written.
fn int(
    v: &Option<Spanned<i64>>,
    key: &str,
    lo: i64,
    hi: i64,
    err: &Locate<'_>,
) -> Result<Option<u32>, crate::error::Located> {
    match v {
        None => Ok(None),
        Some(x) if (lo..=hi).contains(x.get_ref()) => Ok(Some(*x.get_ref() as u32)),
        Some(x) => Err(err(
            x.span(),
            format!(
                "`load.{key}` must be between {lo} and {hi}, found {}",
                x.get_ref()
            ),
        )),
    }
}

/// `load.rate`: executions per second, an integer or a float.
fn rate(r: &Spanned<toml::Value>, err: &Locate<'_>) -> Result<f64, crate::error::Located> {
    match r.get_ref() {
        toml::Value::Integer(i) => Ok(*i as f64),
        toml::Value::Float(f) => Ok(*f),
        other => Err(err(
            r.span(),
            format!(
                "`load.rate` must be a number of executions per second, found {}",
                other.type_str()
            ),
        )),
    }
}

fn arrival(a: &Spanned<String>, err: &Locate<'_>) -> Result<Arrival, crate::error::Located> {
    match a.get_ref().as_str() {
        "uniform" => Ok(Arrival::Uniform),
        "poisson" => Ok(Arrival::Poisson),
        other => Err(err(
            a.span(),
            format!("`load.arrival` must be \"uniform\" or \"poisson\", found \"{other}\""),
        )),
    }
}

/// `load.claim`: claims about the whole mix, each located; a claim about one operation is
/// refused here.
fn mix_claims(
    c: &Spanned<toml::Value>,
    err: &Locate<'_>,
    strings: &StringsOf<'_>,
) -> Result<Vec<LocatedClaim>, crate::error::Located> {
    let mut out = Vec::new();
    for (text, at) in strings(c)? {
        let claim = claim::parse(&text).map_err(|e| err(at.clone(), e))?;
        if let Some(why) = per_operation(&claim) {
            return Err(err(
                at,
                format!("`{text}` {why}: write it in that operation's `claim`; `load.claim` takes claims about the whole mix (throughput, errors, the migration under load)"),
            ));
        }
        out.push(LocatedClaim {
            claim,
            text,
            span: at,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration_ms("20s").unwrap(), 20_000);
        assert_eq!(parse_duration_ms("250ms").unwrap(), 250);
        assert_eq!(parse_duration_ms("2m").unwrap(), 120_000);
        assert_eq!(parse_duration_ms("1.5").unwrap(), 1_500);
        assert!(parse_duration_ms("soon").is_err());
        assert!(parse_duration_ms("-1s").is_err());
    }

    #[test]
    fn phases_must_pair_and_leave_time_to_measure() {
        let mut s = LoadSettings::new(0..0);
        assert!(s.validate().is_ok());
        s.phases = 3;
        assert!(s.validate().unwrap_err().contains("even"));
        s.phases = 4;
        s.settle_ms = 4_000;
        assert!(s.validate().unwrap_err().contains("settle"));
        // Unwritten, settle follows the phase: 12 phases of 20 s give 417 ms.
        s.duration_ms = 20_000;
        s.phases = 12;
        s.resolve();
        assert_eq!(s.settle_ms, 416);
        assert!(s.validate().is_ok());
        s.settle_given = true;
        s.settle_ms = 900;
        s.resolve();
        assert_eq!(s.settle_ms, 900);
    }
}
