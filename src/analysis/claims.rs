//! Claim verdicts: pure functions of the measured evidence.

use crate::explain::StatementPlan;
use crate::measured::Catalog;
use crate::report::text::describe_interval;
use crate::report::{ClaimVerdict, Interval};
use crate::scenario::claim::Basis;
use crate::scenario::{Bound, Claim, Quantile, Side};

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
    /// Paired rounds measured (0 when the run stopped before measuring).
    pub rounds: usize,
    /// The relation names of the before and after databases, once they were prepared.
    pub catalogs: Option<&'a [Catalog; 2]>,
}

/// The verdict of `claim` on `ev`, and why. A claim without its evidence (no plan for a plan
/// claim, no rounds for a latency claim) is not evaluated: it is never refuted for lack of data.
pub fn evaluate(claim: &Claim, ev: &Evidence<'_>) -> (ClaimVerdict, String) {
    if let Some(missing) = missing_evidence(claim, ev) {
        return (ClaimVerdict::NotEvaluated, missing);
    }
    judge(claim, ev)
}

/// Why `claim` cannot be judged on `ev`, if it cannot.
fn missing_evidence(claim: &Claim, ev: &Evidence<'_>) -> Option<String> {
    let no_plan = |side: Side| {
        side_plans(ev, side)
            .is_empty()
            .then(|| format!("no {side} plan: the run stopped before the EXPLAIN pass"))
    };
    let no_load = || {
        ev.load.is_none().then(|| {
            "no load run: add a [load] section, or run with --load, --clients or --rate \
             (--under-load for claims about the migration)"
                .to_string()
        })
    };
    let no_migration = || {
        no_load().or_else(|| {
            ev.load
                .as_ref()
                .filter(|l| l.report.migration.is_none())
                .map(|_| {
                    "no migration ran under load: run with --under-load (or `under_load = true` in [load])"
                        .to_string()
                })
        })
    };
    match claim {
        Claim::Speedup { .. } | Claim::Latency { .. } => {
            (ev.rounds == 0).then(|| match ev.load.as_ref().map(|l| l.report.mode.as_str()) {
                Some("under-load") => "a migration under load runs no before/after comparison: \
                     speedups and latency bounds are judged on a phased load run (--load) or \
                     single-client rounds"
                    .to_string(),
                _ => "no rounds were measured: the run stopped before measuring".to_string(),
            })
        }
        Claim::UsesIndex { side, .. } | Claim::NoSeqScan { side, .. } => no_plan(*side),
        Claim::BuffersRatio { .. } | Claim::SameResult => {
            no_plan(Side::Before).or_else(|| no_plan(Side::After))
        }
        // A growth claim is judged over a sweep; a scale-conditioned claim by its inner claim.
        Claim::Growth { .. } | Claim::AtScale { .. } => None,
        Claim::Throughput { .. }
        | Claim::NoErrors {
            during_migration: false,
        } => no_load(),
        Claim::MigrationLatency { .. }
        | Claim::NoErrors {
            during_migration: true,
        }
        | Claim::NoBlocking
        | Claim::ZeroDowntime => no_migration(),
        Claim::AtRate { claim, tps } => match no_load() {
            Some(_) => Some(format!(
                "the claim is about {tps:.0} executions/s and there was no load run: add [load] \
                 with rate = {tps:.0} (or run with --rate {tps:.0})"
            )),
            None => missing_evidence(claim, ev),
        },
    }
}

fn judge(claim: &Claim, ev: &Evidence<'_>) -> (ClaimVerdict, String) {
    use ClaimVerdict::*;
    if let Some(refuted) = absent_name(claim, ev) {
        return (Refuted, refuted);
    }
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
        Claim::Latency {
            side,
            quantile,
            bound,
            bound_us,
        } => latency_bound(ev, *side, *quantile, *bound, *bound_us),
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

/// An absolute latency bound, judged on the Hodges–Lehmann interval of one side's per-round
/// quantile, like a speedup: it holds when the whole interval satisfies the bound, is refuted
/// when none of it does.
fn latency_bound(
    ev: &Evidence<'_>,
    side: Side,
    quantile: Quantile,
    bound: Bound,
    bound_us: f64,
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
        "{side} per-round {quantile} {:.0} µs (95% CI {:.0}–{:.0} µs)",
        e.estimate, e.low, e.high
    );
    let (near, far) = if bound.is_upper() {
        (e.low, e.high)
    } else {
        (e.high, e.low)
    };
    let claimed = format!("{bound} {bound_us:.0} µs");
    if bound.admits(far, bound_us) {
        (
            Holds,
            format!("{measured}: the whole interval is {claimed}"),
        )
    } else if !bound.admits(near, bound_us) {
        (
            Refuted,
            format!("{measured}: no part of the interval is {claimed}"),
        )
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

/// A claim naming an index or table that the side's database does not have is refuted: the
/// name is wrong, or the migration dropped what the claim relies on.
fn absent_name(claim: &Claim, ev: &Evidence<'_>) -> Option<String> {
    let catalogs = ev.catalogs?;
    let (side, kind, name, names) = match claim {
        Claim::UsesIndex { side, index } => {
            (*side, "index", index, &catalogs[*side as usize].indexes)
        }
        Claim::NoSeqScan { side, table } => {
            (*side, "table", table, &catalogs[*side as usize].tables)
        }
        _ => return None,
    };
    // Claims are read in lower case; a quoted mixed-case name must not look absent.
    if names.iter().any(|n| n.to_lowercase() == *name) {
        return None;
    }
    let hint = match closest(name, names) {
        Some(n) => format!(" (did you mean `{n}`?)"),
        None if names.is_empty() => format!(" (it has no {kind})"),
        None => String::new(),
    };
    Some(format!(
        "{kind} `{name}` does not exist in the {side} database{hint}"
    ))
}

/// The name nearest to `name` by edit distance, if it is near enough to be a likely typo or
/// rename (at most a third of the longer name differs).
fn closest<'a>(name: &str, names: &'a [String]) -> Option<&'a str> {
    names
        .iter()
        .map(|n| (edit_distance(name, n), n))
        .filter(|(d, n)| *d * 3 <= name.chars().count().max(n.chars().count()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.as_str())
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
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
            rounds: 10,
            catalogs: None,
        }
    }

    fn plan(index: &str) -> StatementPlan {
        let mut facts = crate::explain::PlanFacts::default();
        facts.indexes.push(index.into());
        StatementPlan {
            sql: String::new(),
            plan: serde_json::Value::Null,
            facts,
            rows_returned: 0,
            rows_affected: 0,
            checksum: 0,
            returned: None,
        }
    }

    #[test]
    fn a_claim_on_an_absent_index_is_refuted_with_a_did_you_mean() {
        let plans = [plan("orders_pkey")];
        let catalogs = [
            Catalog {
                indexes: vec!["orders_pkey".into(), "orders_customer_idx".into()],
                tables: vec!["orders".into()],
            },
            Catalog {
                indexes: vec!["orders_pkey".into()],
                tables: vec!["orders".into()],
            },
        ];
        let mut e = ev(iv(1.0, 1.0, 1.0));
        e.before_plans = &plans;
        e.after_plans = &plans;
        e.catalogs = Some(&catalogs);
        let c = crate::scenario::claim::parse("uses index orders_customer_idx").unwrap();
        let (v, why) = evaluate(&c, &e);
        assert_eq!(v, ClaimVerdict::Refuted);
        assert_eq!(
            why,
            "index `orders_customer_idx` does not exist in the after database"
        );
        let c = crate::scenario::claim::parse("before uses index order_customer_idx").unwrap();
        let (v, why) = evaluate(&c, &e);
        assert_eq!(v, ClaimVerdict::Refuted);
        assert!(
            why.ends_with("(did you mean `orders_customer_idx`?)"),
            "{why}"
        );
        let c = crate::scenario::claim::parse("no seq scan on order").unwrap();
        assert!(evaluate(&c, &e).1.ends_with("(did you mean `orders`?)"));
    }

    #[test]
    fn claims_without_evidence_are_not_evaluated() {
        let mut e = ev(iv(3.0, 2.5, 3.5));
        e.rounds = 0;
        e.same_result = None;
        for text in [
            "uses index orders_pkey",
            "no seq scan on orders",
            "speedup >= 10",
            "after p95 <= 1 ms",
            "buffers ratio >= 2",
            "same result",
        ] {
            let c = crate::scenario::claim::parse(text).unwrap();
            assert_eq!(evaluate(&c, &e).0, ClaimVerdict::NotEvaluated, "{text}");
        }
    }

    #[test]
    fn latency_bounds_hold_on_the_whole_interval_in_either_direction() {
        // Ten rounds of after p95 near 100 µs: the interval is roughly 95–105 µs.
        let rounds: Vec<f64> = (0..10).map(|i| 95.0 + i as f64).collect();
        let mut e = ev(iv(1.0, 1.0, 1.0));
        e.after_rounds_us = [&[], &rounds, &[]];
        let judge = |text: &str, e: &Evidence<'_>| {
            let c = crate::scenario::claim::parse(text).unwrap();
            evaluate(&c, e)
        };
        let verdict = |text: &str| judge(text, &e);
        assert_eq!(verdict("p95 < 1ms").0, ClaimVerdict::Holds);
        assert_eq!(verdict("p95 <= 200us").0, ClaimVerdict::Holds);
        assert_eq!(verdict("p95 < 50us").0, ClaimVerdict::Refuted);
        assert_eq!(verdict("p95 < 100us").0, ClaimVerdict::Inconclusive);
        assert_eq!(verdict("p95 > 50us").0, ClaimVerdict::Holds);
        assert_eq!(verdict("p95 >= 1ms").0, ClaimVerdict::Refuted);
        let (_, why) = verdict("p95 > 1ms");
        assert!(
            why.starts_with("after per-round p95")
                && why.ends_with("no part of the interval is > 1000 µs"),
            "{why}"
        );
        // Strictness at the edge: an interval whose high end equals the bound is not `<` it.
        let flat = [100.0; 10];
        let mut e = ev(iv(1.0, 1.0, 1.0));
        e.after_rounds_us = [&[], &flat, &[]];
        assert_eq!(judge("p95 <= 100us", &e).0, ClaimVerdict::Holds);
        assert_eq!(judge("p95 < 100us", &e).0, ClaimVerdict::Refuted);
    }

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("idx", "idx"), 0);
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
        let plans = [plan("i")];
        let mut e = ev(iv(1.0, 1.0, 1.0));
        e.before_plans = &plans;
        e.after_plans = &plans;
        assert_eq!(evaluate(&same, &e).0, ClaimVerdict::Refuted);
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
