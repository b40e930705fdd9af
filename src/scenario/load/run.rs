//! The `[run]` and `[gate]` sections (and an operation's `gate = {…}`).

use toml::Spanned;

use super::{Cx, RawGate, RawRun};
use crate::error::Located;
use crate::scenario::model::*;

impl Cx<'_> {
    pub(super) fn run_settings(&self, raw: Option<RawRun>) -> Result<RunSettings, Located> {
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

    /// Applies a `gate` table over `base`, checking every value's range.
    pub(super) fn thresholds(
        &self,
        raw: Option<&RawGate>,
        base: Thresholds,
    ) -> Result<Thresholds, Located> {
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
}
