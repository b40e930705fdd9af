//! Pure statistics for paired before/after samples.
//!
//! Method (MEASUREMENT.md; Hollander & Wolfe, "Nonparametric Statistical Methods", ch. 3):
//! each round gives one paired log ratio d_i = ln(before_i / after_i). The location of d is
//! estimated by Hodges–Lehmann (the median of the Walsh averages (d_i + d_j) / 2, i ≤ j), and
//! its confidence interval is read off the sorted Walsh averages at the critical value of the
//! Wilcoxon signed-rank statistic (exact distribution up to n = 300, normal beyond). For
//! n = 10 at 95 % that is the 9th to the 47th of the 55 averages. exp() maps back to ratios.

/// A point estimate with a confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// The coverage actually achieved; below the requested level when n is too small for it.
    pub confidence: f64,
}

/// Hodges–Lehmann location estimate with its Wilcoxon signed-rank confidence interval.
/// `None` for fewer than two finite samples.
pub fn hodges_lehmann(d: &[f64], confidence: f64) -> Option<Estimate> {
    let d: Vec<f64> = d.iter().copied().filter(|x| x.is_finite()).collect();
    let n = d.len();
    if n < 2 {
        return None;
    }
    let mut walsh = Vec::with_capacity(n * (n + 1) / 2);
    for i in 0..n {
        for j in i..n {
            walsh.push((d[i] + d[j]) / 2.0);
        }
    }
    walsh.sort_by(f64::total_cmp);
    let m = walsh.len();
    let estimate = if m % 2 == 1 {
        walsh[m / 2]
    } else {
        (walsh[m / 2 - 1] + walsh[m / 2]) / 2.0
    };
    let alpha = 1.0 - confidence;
    let (k, achieved) = match signed_rank_critical(n, alpha / 2.0) {
        // With t the critical value, the interval runs from the (t+1)-th smallest to the
        // (t+1)-th largest Walsh average: 0-based indices t and m-1-t.
        Some((t, p)) => (t, 1.0 - 2.0 * p),
        None => (0, 1.0 - 2.0 * 0.5f64.powi(n as i32)),
    };
    let k = k.min((m - 1) / 2);
    Some(Estimate {
        estimate,
        low: walsh[k],
        high: walsh[m - 1 - k],
        confidence: achieved,
    })
}

/// The largest t with P(T ≤ t) ≤ `tail` for the signed-rank statistic T of n samples,
/// and that probability. `None` when even P(T = 0) exceeds `tail`.
fn signed_rank_critical(n: usize, tail: f64) -> Option<(usize, f64)> {
    if n > 300 {
        let nf = n as f64;
        let mean = nf * (nf + 1.0) / 4.0;
        let sd = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt();
        let t = (mean + normal_quantile(tail) * sd - 0.5).floor();
        return (t >= 0.0).then_some((t as usize, tail));
    }
    // counts[s] = number of subsets of {1..n} whose sum is s, as probabilities.
    let max = n * (n + 1) / 2;
    let mut p = vec![0.0f64; max + 1];
    p[0] = 1.0;
    for r in 1..=n {
        for s in (r..=max).rev() {
            p[s] += p[s - r];
        }
    }
    let total = 2f64.powi(n as i32);
    let mut cum = 0.0;
    let mut best = None;
    for (t, c) in p.iter().enumerate() {
        cum += c / total;
        if cum <= tail + 1e-12 {
            best = Some((t, cum));
        } else {
            break;
        }
    }
    best
}

/// Acklam's rational approximation of the standard normal quantile (|error| < 1.2e-9).
// The coefficients are written as Acklam published them.
#[allow(clippy::excessive_precision)]
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.383577518672690e+02,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    let p_low = 0.02425;
    if p < p_low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - p_low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// Mean of `xs` (NaN when empty).
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The ratio summary of paired per-round values: speedup = before / after.
pub fn speedup(before: &[f64], after: &[f64], confidence: f64) -> Option<(Estimate, f64)> {
    let d: Vec<f64> = before
        .iter()
        .zip(after)
        .filter(|(b, a)| **b > 0.0 && **a > 0.0)
        .map(|(b, a)| (b / a).ln())
        .collect();
    let e = hodges_lehmann(&d, confidence)?;
    let geomean = mean(&d).exp();
    Some((
        Estimate {
            estimate: e.estimate.exp(),
            low: e.low.exp(),
            high: e.high.exp(),
            confidence: e.confidence,
        },
        geomean,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_values_match_published_tables() {
        // Two-sided 0.05 critical values of the signed-rank statistic (Wilcoxon tables).
        for (n, t) in [(6, 0), (8, 3), (10, 8), (15, 25), (20, 52), (30, 137)] {
            assert_eq!(
                signed_rank_critical(n, 0.025).map(|x| x.0),
                Some(t),
                "n = {n}"
            );
        }
        assert_eq!(signed_rank_critical(5, 0.025), None);
    }

    #[test]
    fn n10_interval_is_9th_to_47th_walsh_average() {
        let d: Vec<f64> = (1..=10).map(|i| i as f64).collect();
        let mut walsh: Vec<f64> = vec![];
        for i in 0..10 {
            for j in i..10 {
                walsh.push((d[i] + d[j]) / 2.0);
            }
        }
        walsh.sort_by(f64::total_cmp);
        let e = hodges_lehmann(&d, 0.95).unwrap();
        assert_eq!((e.low, e.high), (walsh[8], walsh[46]));
        assert_eq!(e.estimate, 5.5);
        assert!(
            e.confidence >= 0.95 && e.confidence < 0.96,
            "{}",
            e.confidence
        );
    }

    #[test]
    fn speedup_of_constant_ratio_is_exact() {
        let before = [10.0, 12.0, 9.0, 11.0, 10.5, 10.0, 9.5, 11.0, 10.0, 12.0];
        let after: Vec<f64> = before.iter().map(|b| b / 4.0).collect();
        let (e, g) = speedup(&before, &after, 0.95).unwrap();
        assert!(
            (e.estimate - 4.0).abs() < 1e-9
                && (e.low - 4.0).abs() < 1e-9
                && (e.high - 4.0).abs() < 1e-9
        );
        assert!((g - 4.0).abs() < 1e-9);
    }

    #[test]
    fn small_samples_report_lower_coverage() {
        let e = hodges_lehmann(&[0.1, 0.2, 0.3], 0.95).unwrap();
        assert!(e.confidence < 0.95);
        assert_eq!((e.low, e.high), (0.1, 0.3));
    }

    #[test]
    fn normal_quantile_is_accurate() {
        assert!((normal_quantile(0.975) - 1.959964).abs() < 1e-5);
        assert!((normal_quantile(0.025) + 1.959964).abs() < 1e-5);
        // Normal approximation: 40100 - 1.96 * 2313.7 - 0.5 = 35565.
        assert!((signed_rank_critical(400, 0.025).unwrap().0 as f64 - 35_565.0).abs() < 5.0);
    }
}

/// Two-sample Hodges–Lehmann shift (y − x) with its Mann–Whitney confidence interval:
/// the median and the k-th smallest/largest of all n·m differences (Hollander & Wolfe §4.3;
/// k from the normal approximation of U, which matches exact tables from n = m = 8 on).
/// Used by the gate to compare a run's per-round values with a baseline's (unpaired samples).
pub fn shift(x: &[f64], y: &[f64], confidence: f64) -> Option<Estimate> {
    let x: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    let y: Vec<f64> = y.iter().copied().filter(|v| v.is_finite()).collect();
    let (n, m) = (x.len(), y.len());
    // A confidence outside (0, 1) (a hand-edited results file) has no interval.
    if n < 2 || m < 2 || !(confidence > 0.0 && confidence < 1.0) {
        return None;
    }
    let mut d: Vec<f64> = Vec::with_capacity(n * m);
    for a in &x {
        for b in &y {
            d.push(b - a);
        }
    }
    d.sort_by(f64::total_cmp);
    let nm = d.len();
    let estimate = if nm % 2 == 1 {
        d[nm / 2]
    } else {
        (d[nm / 2 - 1] + d[nm / 2]) / 2.0
    };
    let (nf, mf) = (n as f64, m as f64);
    let sd = (nf * mf * (nf + mf + 1.0) / 12.0).sqrt();
    let z = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
    let k = (nf * mf / 2.0 - z * sd).floor();
    let (k, achieved) = if k < 1.0 {
        (1usize, 1.0 - 2.0 / binomial(n + m, n))
    } else {
        (k as usize, confidence)
    };
    let k = k.min(nm / 2);
    Some(Estimate {
        estimate,
        low: d[k - 1],
        high: d[nm - k],
        confidence: achieved,
    })
}

fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

#[cfg(test)]
mod shift_tests {
    use super::*;

    #[test]
    fn shift_matches_the_mann_whitney_table() {
        // n = m = 10 at 95%: U critical value 23, so the interval is the 24th to 77th difference.
        let x: Vec<f64> = (0..10).map(|i| i as f64).collect();
        let y: Vec<f64> = (0..10).map(|i| i as f64 * 1.1 + 100.0).collect();
        let mut d: Vec<f64> = x
            .iter()
            .flat_map(|a| y.iter().map(move |b| b - a))
            .collect();
        d.sort_by(f64::total_cmp);
        let e = shift(&x, &y, 0.95).unwrap();
        assert_eq!((e.low, e.high), (d[23], d[76]));
        assert!(e.low > 90.0);
    }

    #[test]
    fn nonsense_confidence_gives_no_interval() {
        let x = [1.0, 2.0, 3.0];
        assert!(shift(&x, &x, 2.0).is_none());
        assert!(shift(&x, &x, f64::NAN).is_none());
    }

    #[test]
    fn identical_samples_have_zero_shift() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let e = shift(&x, &x, 0.95).unwrap();
        assert_eq!(e.estimate, 0.0);
        assert!(e.low < 0.0 && e.high > 0.0);
    }
}
