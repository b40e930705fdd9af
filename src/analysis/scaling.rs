//! The cross-scale view of a sweep (`--scale A,B,C`): per operation, latency and speedup at
//! each scale, how latency grows with the scale, where a plan flips, and the claims made over
//! the sweep. Pure: a function of the per-scale scenario reports.
//!
//! Growth: latency ∝ scale^k, so k is the slope of ln(latency) over ln(scale). Every round's
//! p50 at every scale is one point; k is the Theil–Sen estimate (the median of the slopes of
//! all pairs of points at different scales), robust to a noisy round, and its interval is
//! Sen's (1968), read off the sorted slopes at the normal approximation of Kendall's S with
//! ties (the rounds of one scale share their x). The scale stands in for the rows read.

use crate::report::text::group_digits;
use crate::report::{
    ClaimReport, ClaimVerdict, Growth, OperationReport, OperationSweep, PlanFlip, ScenarioReport,
    SideReport, SweepPoint, SweepReport,
};
use crate::scenario::claim::{self, Claim, Side};

use super::{stats, CONFIDENCE};

/// One sweep per scenario that ran at several scales or carries claims over a sweep, in
/// order of first appearance.
pub fn sweeps(scenarios: &[ScenarioReport]) -> Vec<SweepReport> {
    let mut names: Vec<&str> = Vec::new();
    for s in scenarios {
        if !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    names
        .into_iter()
        .filter_map(|name| {
            let mut runs: Vec<&ScenarioReport> =
                scenarios.iter().filter(|s| s.name == name).collect();
            runs.sort_by_key(|s| s.scale);
            runs.dedup_by_key(|s| s.scale);
            let claimed = runs
                .iter()
                .any(|s| s.operations.iter().any(|o| !o.sweep_claims.is_empty()));
            (runs.len() > 1 || claimed).then(|| sweep(name, &runs))
        })
        .collect()
}

fn sweep(name: &str, runs: &[&ScenarioReport]) -> SweepReport {
    let scales: Vec<i64> = runs.iter().map(|s| s.scale).collect();
    let mut op_names: Vec<&str> = Vec::new();
    for s in runs {
        for o in &s.operations {
            if !op_names.contains(&o.name.as_str()) {
                op_names.push(&o.name);
            }
        }
    }
    let operations = op_names
        .into_iter()
        .map(|op| {
            let at: Vec<(i64, &OperationReport)> = runs
                .iter()
                .filter_map(|s| {
                    s.operations
                        .iter()
                        .find(|o| o.name == op)
                        .map(|o| (s.scale, o))
                })
                .collect();
            operation_sweep(op, &at)
        })
        .collect();
    SweepReport {
        scenario: name.to_string(),
        scales,
        operations,
    }
}

fn operation_sweep(name: &str, at: &[(i64, &OperationReport)]) -> OperationSweep {
    let p50 = |s: &SideReport| (s.latency.count > 0).then_some(s.latency.p50_us);
    let points = at
        .iter()
        .map(|(scale, o)| SweepPoint {
            scale: *scale,
            before_p50_us: p50(&o.before),
            after_p50_us: p50(&o.after),
            speedup: o.speedup,
        })
        .collect();
    let side_points = |f: fn(&OperationReport) -> &SideReport| -> Vec<(f64, f64)> {
        at.iter()
            .flat_map(|(scale, o)| f(o).round_p50_us.iter().map(move |us| (*scale as f64, *us)))
            .collect()
    };
    let before_growth = growth(&side_points(|o| &o.before));
    let after_growth = growth(&side_points(|o| &o.after));
    let mut plan_flips = flips("before", at, |o| &o.before);
    plan_flips.extend(flips("after", at, |o| &o.after));
    let scales: Vec<i64> = at.iter().map(|(s, _)| *s).collect();
    let written: Vec<&String> =
        at.iter()
            .flat_map(|(_, o)| &o.sweep_claims)
            .fold(Vec::new(), |mut v, c| {
                if !v.contains(&c) {
                    v.push(c);
                }
                v
            });
    let claims = written
        .into_iter()
        .filter_map(|text| {
            let parsed = claim::parse(text).ok()?;
            let (verdict, reason) = sweep_claim(&parsed, &scales, before_growth, after_growth)?;
            Some(ClaimReport {
                claim: text.clone(),
                parsed: parsed.to_string(),
                verdict,
                reason,
            })
        })
        .collect();
    OperationSweep {
        name: name.to_string(),
        points,
        before_growth,
        after_growth,
        plan_flips,
        claims,
    }
}

/// The verdict of a claim over the sweep; `None` for a claim judged at its scales instead
/// (an `at scale` claim that some measured scale satisfies).
fn sweep_claim(
    c: &Claim,
    scales: &[i64],
    before: Option<Growth>,
    after: Option<Growth>,
) -> Option<(ClaimVerdict, String)> {
    use ClaimVerdict::*;
    let measured = scales
        .iter()
        .map(|s| group_digits(*s))
        .collect::<Vec<_>>()
        .join(", ");
    match c {
        Claim::Growth { side, max } => {
            let g = match side {
                Side::Before => before,
                Side::After => after,
            };
            let Some(g) = g else {
                return Some((
                    Inconclusive,
                    format!("a growth exponent needs at least two scales with rounds (measured: {measured}); sweep with --scale A,B,C"),
                ));
            };
            let text = format!(
                "{side} latency grows as scale^{:.2} (95% CI {:.2}–{:.2}) over scales {measured}",
                g.exponent, g.low, g.high
            );
            Some(if g.high <= *max {
                (
                    Holds,
                    format!("{text}: the whole interval is at most {max}"),
                )
            } else if g.low > *max {
                (
                    Refuted,
                    format!("{text}: the whole interval is above {max}"),
                )
            } else {
                (
                    Inconclusive,
                    format!("{text}: the interval straddles {max}"),
                )
            })
        }
        Claim::AtScale { .. } if scales.iter().any(|s| c.applies_at(*s)) => None,
        Claim::AtScale { .. } => Some((
            Inconclusive,
            format!("not judged: no measured scale satisfies the condition (measured: {measured})"),
        )),
        _ => None,
    }
}

/// Theil–Sen slope of ln(y) over ln(x) with Sen's interval; `None` without two distinct x.
pub fn growth(points: &[(f64, f64)]) -> Option<Growth> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0 && x.is_finite() && y.is_finite())
        .map(|(x, y)| (x.ln(), y.ln()))
        .collect();
    let mut slopes = Vec::new();
    for (i, a) in pts.iter().enumerate() {
        for b in &pts[i + 1..] {
            if (b.0 - a.0).abs() > 1e-12 {
                slopes.push((b.1 - a.1) / (b.0 - a.0));
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    slopes.sort_by(f64::total_cmp);
    let m = slopes.len();
    let exponent = if m % 2 == 1 {
        slopes[m / 2]
    } else {
        (slopes[m / 2 - 1] + slopes[m / 2]) / 2.0
    };
    // Var(S) of Kendall's S with ties in x (groups of equal x: the rounds of one scale).
    let n = pts.len() as f64;
    let mut ties = 0.0;
    let mut xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
    xs.sort_by(f64::total_cmp);
    let mut k = 0;
    while k < xs.len() {
        let mut j = k;
        while j < xs.len() && (xs[j] - xs[k]).abs() <= 1e-12 {
            j += 1;
        }
        let t = (j - k) as f64;
        ties += t * (t - 1.0) * (2.0 * t + 5.0);
        k = j;
    }
    let var = ((n * (n - 1.0) * (2.0 * n + 5.0) - ties) / 18.0).max(0.0);
    let c = stats::normal_quantile(1.0 - (1.0 - CONFIDENCE) / 2.0) * var.sqrt();
    let mf = m as f64;
    let lo = (((mf - c) / 2.0).floor() as i64 - 1).clamp(0, m as i64 - 1) as usize;
    let hi = (((mf + c) / 2.0).ceil() as i64).clamp(0, m as i64 - 1) as usize;
    Some(Growth {
        exponent,
        low: slopes[lo].min(exponent),
        high: slopes[hi].max(exponent),
        confidence: CONFIDENCE,
    })
}

/// Plan changes of one side between consecutive scales.
fn flips(
    side: &str,
    at: &[(i64, &OperationReport)],
    f: fn(&OperationReport) -> &SideReport,
) -> Vec<PlanFlip> {
    let sig = |o: &OperationReport| -> Option<Vec<String>> {
        let e = &f(o).explain;
        (!e.is_empty()).then(|| e.iter().map(|s| s.signature.clone()).collect())
    };
    let mut out = Vec::new();
    for w in at.windows(2) {
        let ((s0, o0), (s1, o1)) = (w[0], w[1]);
        let (Some(a), Some(b)) = (sig(o0), sig(o1)) else {
            continue;
        };
        if a == b {
            continue;
        }
        let (from, to) = node_difference(&a.join("; "), &b.join("; "));
        out.push(PlanFlip {
            side: side.to_string(),
            from_scale: s0,
            to_scale: s1,
            from,
            to,
        });
    }
    out
}

/// The plan nodes found on one side of a signature change only (`Hash Join` → `Nested
/// Loop`), or the two shapes when the same nodes were rearranged.
fn node_difference(a: &str, b: &str) -> (String, String) {
    let nodes = |s: &str| -> Vec<String> {
        s.split([';', '[', ']'])
            .flat_map(|p| p.split(" -> "))
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect()
    };
    let (na, nb) = (nodes(a), nodes(b));
    let only = |x: &[String], y: &[String]| -> Vec<String> {
        let mut rest = y.to_vec();
        let mut out = Vec::new();
        for n in x {
            match rest.iter().position(|m| m == n) {
                Some(i) => {
                    rest.remove(i);
                }
                None => out.push(n.clone()),
            }
        }
        out
    };
    let (ra, rb) = (only(&na, &nb), only(&nb, &na));
    if ra.is_empty() && rb.is_empty() {
        return (a.to_string(), b.to_string());
    }
    let join = |v: Vec<String>| {
        if v.is_empty() {
            "(nothing)".to_string()
        } else {
            v.join(" + ")
        }
    };
    (join(ra), join(rb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_of_a_power_law_is_its_exponent() {
        // latency = 3 · scale^0.8 with ±2% round noise.
        let mut pts = Vec::new();
        for (i, scale) in [1e3, 1e4, 1e5].into_iter().enumerate() {
            for r in 0..10 {
                let noise = 1.0 + 0.02 * (((r * 7 + i * 3) % 5) as f64 - 2.0) / 2.0;
                pts.push((scale, 3.0 * f64::powf(scale, 0.8) * noise));
            }
        }
        let g = growth(&pts).unwrap();
        assert!((g.exponent - 0.8).abs() < 0.01, "{g:?}");
        assert!(
            g.low <= 0.8 && 0.8 <= g.high && g.high - g.low < 0.05,
            "{g:?}"
        );
        assert!(growth(&pts[..10]).is_none(), "one scale has no slope");
    }

    #[test]
    fn flips_name_the_nodes_that_changed() {
        assert_eq!(
            node_difference(
                "Limit -> Hash Join [Seq Scan on a; Hash -> Seq Scan on b]",
                "Limit -> Nested Loop [Seq Scan on a; Index Scan using b_pkey on b]"
            ),
            (
                "Hash Join + Hash + Seq Scan on b".to_string(),
                "Nested Loop + Index Scan using b_pkey on b".to_string()
            )
        );
    }
}
