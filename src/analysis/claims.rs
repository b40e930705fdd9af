//! Claim verdicts: pure functions of the measured evidence.

use crate::explain::StatementPlan;
use crate::report::text::describe_interval;
use crate::report::{ClaimVerdict, Interval};
use crate::scenario::claim::Basis;
use crate::scenario::{Claim, Quantile, Side};

/// The evidence a claim is checked against.
pub struct Evidence<'a> {
    pub speedup_p50: Option<Interval>,
    pub speedup_p95: Option<Interval>,
    /// The speedup of server time per execution (pg_stat_statements), when measured.
    pub server_speedup: Option<Interval>,
    /// Per-round quantiles per side in µs, for absolute latency claims: (p50, p95, p99).
    pub before_rounds_us: [&'a [f64]; 3],
    pub after_rounds_us: [&'a [f64]; 3],
    pub before_plans: &'a [StatementPlan],
    pub after_plans: &'a [StatementPlan],
    pub same_result: Option<bool>,
    /// The load run, for claims about throughput, rates and the migration under load.
    pub load: Option<super::load::LoadEvidence<'a>>,
}

pub fn evaluate(claim: &Claim, ev: &Evidence<'_>) -> (ClaimVerdict, String) {
    use ClaimVerdict::*;
    if let Some(why) = ev
        .load
        .as_ref()
        .and_then(|l| super::load::saturated_timing(claim, l.report))
    {
        return (Inconclusive, why);
    }
    match claim {
        Claim::Speedup {
            basis,
            quantile,
            min,
            max,
            strict,
        } => speedup(ev, *basis, *quantile, *min, *max, *strict),
        Claim::LatencyAtMost {
            side,
            quantile,
            bound_us,
        } => latency_bound(ev, *side, *quantile, *bound_us, true),
        Claim::LatencyAtLeast {
            side,
            quantile,
            bound_us,
        } => latency_bound(ev, *side, *quantile, *bound_us, false),
        Claim::UsesIndex { side, index } => uses_index(ev, *side, index),
        Claim::NoSeqScan { side, table } => {
            let plans = side_plans(ev, *side);
            let seq = plans
                .iter()
                .flat_map(|p| &p.facts.scans)
                .any(|(r, how)| r == table && how == "Seq Scan");
            if seq {
                (
                    Refuted,
                    format!("the {side} plan has a Seq Scan on {table}"),
                )
            } else {
                (Holds, format!("no Seq Scan on {table} in the {side} plan"))
            }
        }
        Claim::BuffersRatio { min } => {
            let blocks = |ps: &[StatementPlan]| {
                ps.iter()
                    .map(|p| p.facts.shared_hit_blocks + p.facts.shared_read_blocks)
                    .sum::<u64>()
            };
            let (b, a) = (blocks(ev.before_plans), blocks(ev.after_plans));
            let ratio = b as f64 / (a.max(1)) as f64;
            let measured = format!("shared blocks {b} → {a} ({ratio:.2}×)");
            if ratio >= *min {
                (Holds, measured)
            } else {
                (Refuted, measured)
            }
        }
        Claim::Growth { .. } => (
            Inconclusive,
            "a growth claim is judged over a sweep of scales (--scale A,B,C)".into(),
        ),
        Claim::AtScale { claim, .. } => evaluate(claim, ev),
        Claim::SameResult => match ev.same_result {
            Some(true) => (Holds, "both sides returned the same rows".into()),
            Some(false) => (
                Refuted,
                "the sides returned different rows (see result checksums)".into(),
            ),
            None => (Inconclusive, "results were not compared".into()),
        },
        Claim::AtRate { claim, tps } => {
            let report = ev.load.as_ref().map(|l| l.report);
            if let Err(why) = super::load::at_rate(*tps, report) {
                return (Inconclusive, why);
            }
            let achieved = report.map_or(0.0, |r| r.achieved_tps);
            let (verdict, reason) = evaluate(claim, ev);
            if verdict == Refuted && achieved > 1.05 * tps {
                (
                    Inconclusive,
                    format!("{reason}; but measured at {achieved:.0} executions/s, above the claimed {tps:.0}/s, which says nothing about {tps:.0}/s: run with --rate {tps:.0}"),
                )
            } else {
                (verdict, format!("{reason} (at {achieved:.0} executions/s)"))
            }
        }
        other => super::load::evaluate(other, ev.load.as_ref())
            .unwrap_or((Inconclusive, "not a claim querygate can judge here".into())),
    }
}

/// A speedup claim holds when the whole interval is inside the claimed range, is refuted when
/// the whole interval is outside it.
fn speedup(
    ev: &Evidence<'_>,
    basis: Basis,
    quantile: Quantile,
    min: f64,
    max: f64,
    strict: bool,
) -> (ClaimVerdict, String) {
    use ClaimVerdict::*;
    let interval = match (basis, quantile) {
        (Basis::Server, _) => ev.server_speedup,
        (_, Quantile::P50) => ev.speedup_p50,
        (_, Quantile::P95) => ev.speedup_p95,
        (_, Quantile::P99) => None,
    };
    let Some(i) = interval else {
        let why = match basis {
            Basis::Server => {
                "no server time was measured (pg_stat_statements unavailable: see the warnings)"
                    .to_string()
            }
            Basis::EndToEnd => {
                format!("no {quantile} speedup was measured (p50 and p95 are supported)")
            }
        };
        return (Inconclusive, why);
    };
    let what = match basis {
        Basis::Server => "server ",
        Basis::EndToEnd => "",
    };
    let above = |v: f64| if strict { v > min } else { v >= min };
    let note = if i.confidence + 1e-9 < 0.95 {
        format!(
            "; only {:.0}% coverage with {} rounds, add rounds",
            i.confidence * 100.0,
            i.rounds
        )
    } else {
        String::new()
    };
    let measured = format!("{what}{}", describe_interval(&i));
    if above(i.low) && i.high <= max {
        (
            Holds,
            format!("measured {measured}: the whole interval satisfies the claim{note}"),
        )
    } else if !above(i.high) {
        (
            Refuted,
            format!(
                "measured {measured}: the whole interval is below the claimed {}×{note}",
                trim(min)
            ),
        )
    } else if i.low > max {
        (Refuted, format!("measured {measured}: the whole interval is above the claimed range (faster than claimed, so the claim misdescribes the change){note}"))
    } else {
        (
            Inconclusive,
            format!("measured {measured}: the interval straddles the claimed bound{note}"),
        )
    }
}

/// A side's latency quantile against a bound: judged on the Hodges–Lehmann interval of its
/// per-round values, like a speedup.
fn latency_bound(
    ev: &Evidence<'_>,
    side: Side,
    quantile: Quantile,
    bound_us: f64,
    at_most: bool,
) -> (ClaimVerdict, String) {
    use ClaimVerdict::*;
    let idx = match quantile {
        Quantile::P50 => 0,
        Quantile::P95 => 1,
        Quantile::P99 => 2,
    };
    let rounds = match side {
        Side::Before => ev.before_rounds_us[idx],
        Side::After => ev.after_rounds_us[idx],
    };
    let Some(e) = crate::analysis::stats::hodges_lehmann(rounds, 0.95) else {
        return (Inconclusive, "too few rounds to judge".into());
    };
    let measured = format!(
        "{side} {quantile} {:.0} µs (95% CI {:.0}–{:.0} µs)",
        e.estimate, e.low, e.high
    );
    let (inside, outside) = if at_most {
        (e.high <= bound_us, e.low > bound_us)
    } else {
        (e.low >= bound_us, e.high < bound_us)
    };
    if inside {
        let word = if at_most { "within" } else { "at least" };
        (Holds, format!("{measured} is {word} {bound_us:.0} µs"))
    } else if outside {
        let word = if at_most { "exceeds" } else { "is below" };
        (Refuted, format!("{measured} {word} {bound_us:.0} µs"))
    } else {
        (
            Inconclusive,
            format!("{measured} straddles {bound_us:.0} µs"),
        )
    }
}

/// The plan of `side` reads `index` (in any of its statements).
fn uses_index(ev: &Evidence<'_>, side: Side, index: &str) -> (ClaimVerdict, String) {
    use ClaimVerdict::*;
    let plans = side_plans(ev, side);
    if plans
        .iter()
        .any(|p| p.facts.indexes.iter().any(|i| i == index))
    {
        (Holds, format!("the {side} plan reads index {index}"))
    } else {
        let used: Vec<&str> = plans
            .iter()
            .flat_map(|p| p.facts.indexes.iter().map(String::as_str))
            .collect();
        let used = if used.is_empty() {
            "no index".to_string()
        } else {
            used.join(", ")
        };
        (
            Refuted,
            format!("the {side} plan does not read {index} (it reads {used})"),
        )
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn side_plans<'a>(ev: &Evidence<'a>, side: Side) -> &'a [StatementPlan] {
    match side {
        Side::Before => ev.before_plans,
        Side::After => ev.after_plans,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(estimate: f64, low: f64, high: f64) -> Interval {
        Interval {
            estimate,
            geomean: estimate,
            low,
            high,
            confidence: 0.951,
            rounds: 10,
        }
    }

    fn ev(i: Interval) -> Evidence<'static> {
        Evidence {
            speedup_p50: Some(i),
            speedup_p95: None,
            server_speedup: None,
            before_rounds_us: [&[]; 3],
            after_rounds_us: [&[]; 3],
            before_plans: &[],
            after_plans: &[],
            same_result: Some(false),
            load: None,
        }
    }

    #[test]
    fn speedup_claims_are_judged_on_the_whole_interval() {
        let c = crate::scenario::claim::parse("speedup >= 10").unwrap();
        assert_eq!(
            evaluate(&c, &ev(iv(12.0, 10.5, 13.0))).0,
            ClaimVerdict::Holds
        );
        assert_eq!(
            evaluate(&c, &ev(iv(11.0, 9.0, 13.0))).0,
            ClaimVerdict::Inconclusive
        );
        assert_eq!(
            evaluate(&c, &ev(iv(3.0, 2.5, 3.5))).0,
            ClaimVerdict::Refuted
        );
        let r = crate::scenario::claim::parse("speedup in 10..50").unwrap();
        assert_eq!(
            evaluate(&r, &ev(iv(60.0, 55.0, 70.0))).0,
            ClaimVerdict::Refuted
        );
        assert_eq!(
            evaluate(&r, &ev(iv(20.0, 15.0, 30.0))).0,
            ClaimVerdict::Holds
        );
        assert_eq!(
            evaluate(&r, &ev(iv(45.0, 40.0, 55.0))).0,
            ClaimVerdict::Inconclusive
        );
        let same = crate::scenario::Claim::SameResult;
        assert_eq!(
            evaluate(&same, &ev(iv(1.0, 1.0, 1.0))).0,
            ClaimVerdict::Refuted
        );
    }

    #[test]
    fn server_speedup_claims_read_the_server_interval() {
        let c = crate::scenario::claim::parse("server speedup >= 10").unwrap();
        // End to end 3× (round trip bound), server 20×: the server claim holds on its own interval.
        let mut e = ev(iv(3.0, 2.8, 3.2));
        e.server_speedup = Some(iv(20.0, 18.0, 22.0));
        let (v, why) = evaluate(&c, &e);
        assert_eq!(v, ClaimVerdict::Holds);
        assert!(why.starts_with("measured server 20.0×"), "{why}");
        let plain = crate::scenario::claim::parse("speedup >= 10").unwrap();
        assert_eq!(evaluate(&plain, &e).0, ClaimVerdict::Refuted);
        e.server_speedup = Some(iv(5.0, 4.0, 6.0));
        assert_eq!(evaluate(&c, &e).0, ClaimVerdict::Refuted);
        e.server_speedup = None;
        let (v, why) = evaluate(&c, &e);
        assert_eq!(v, ClaimVerdict::Inconclusive);
        assert!(why.contains("no server time"), "{why}");
    }

    #[test]
    fn intervals_read_like_papers() {
        assert_eq!(
            describe_interval(&iv(5.7, 5.4, 6.0)),
            "5.70× (95% CI 5.40–6.00×)"
        );
    }
}
