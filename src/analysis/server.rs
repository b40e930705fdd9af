//! Server time beside client latency: per-side server time, the server-time speedup, the
//! round trip measured by the calibration statement, and the round-trip warning. Pure.

use crate::measure::{OpSamples, SideSamples};
use crate::report::{Interval, Latency, ServerTime, Warning};

/// A round trip above this share of the after side's latency earns a `round-trip-bound` warning.
pub const ROUND_TRIP_BOUND_SHARE: f64 = 2.0 / 3.0;

/// Server time of one side, when every completed round has it.
pub fn side_server(s: &SideSamples, latency: &Latency) -> Option<ServerTime> {
    let rounds = s.round_count.len();
    if rounds == 0 || s.round_server_ns.len() != rounds {
        return None;
    }
    let executions: u64 = s.round_count.iter().sum();
    if executions == 0 {
        return None;
    }
    let total_ns: f64 = s
        .round_server_ns
        .iter()
        .zip(&s.round_count)
        .map(|(ns, n)| ns * *n as f64)
        .sum();
    let mean_us = total_ns / executions as f64 / 1000.0;
    Some(ServerTime {
        mean_us,
        round_us: complete_rounds_us(&s.round_server_ns, s),
        statements_per_execution: s.server_calls as f64 / executions as f64,
        round_trip_share: round_trip_share(mean_us, latency.mean_us),
        cpu_round_us: complete_rounds_us(&s.round_cpu_ns, s),
    })
}

/// Per-round ns as µs when every completed round of `s` has a value; empty otherwise.
pub fn complete_rounds_us(ns: &[f64], s: &SideSamples) -> Vec<f64> {
    if ns.len() == s.round_count.len() {
        ns.iter().map(|ns| ns / 1000.0).collect()
    } else {
        vec![]
    }
}

/// 1 − server / client, within [0, 1].
pub fn round_trip_share(server_us: f64, client_us: f64) -> f64 {
    if client_us <= 0.0 {
        return 0.0;
    }
    (1.0 - server_us / client_us).clamp(0.0, 1.0)
}

/// The speedup of server time per execution, when both sides have it for every round.
pub fn server_speedup(
    samples: &OpSamples,
    interval: impl Fn(&[f64], &[f64]) -> Option<Interval>,
) -> Option<Interval> {
    let (b, a) = (&samples.before, &samples.after);
    let complete = |s: &SideSamples| {
        !s.round_count.is_empty() && s.round_server_ns.len() == s.round_count.len()
    };
    if !complete(b) || !complete(a) {
        return None;
    }
    interval(&b.round_server_ns, &a.round_server_ns)
}

/// Per round, the geometric mean of the calibration's two connections' server time (µs).
pub fn calibration_server_rounds(c: &OpSamples) -> Vec<f64> {
    if c.before.round_server_ns.len() != c.before.round_count.len()
        || c.after.round_server_ns.len() != c.after.round_count.len()
    {
        return vec![];
    }
    let us = |v: &Vec<f64>| v.iter().map(|x| x.max(0.0) / 1000.0).collect::<Vec<f64>>();
    pair_rounds(
        &us(&c.before.round_server_ns),
        &us(&c.after.round_server_ns),
    )
}

/// Per round, the geometric mean of the two connections' values, or the values of the one
/// connection measured (a run of one side).
pub fn pair_rounds(before: &[f64], after: &[f64]) -> Vec<f64> {
    match (before.is_empty(), after.is_empty()) {
        (true, _) => after.to_vec(),
        (_, true) => before.to_vec(),
        _ => before
            .iter()
            .zip(after)
            .map(|(a, b)| (a * b).sqrt())
            .collect(),
    }
}

/// The round trip: median over rounds of the calibration's client latency minus its server time.
pub fn round_trip_us(client_rounds_us: &[f64], server_rounds_us: &[f64]) -> Option<f64> {
    if server_rounds_us.is_empty() || server_rounds_us.len() != client_rounds_us.len() {
        return None;
    }
    let mut d: Vec<f64> = client_rounds_us
        .iter()
        .zip(server_rounds_us)
        .map(|(c, s)| c - s)
        .collect();
    d.sort_by(f64::total_cmp);
    let m = d.len();
    Some(if m % 2 == 1 {
        d[m / 2]
    } else {
        (d[m / 2 - 1] + d[m / 2]) / 2.0
    })
}

/// The after side's server time and client latency, and where the server time came from.
pub struct RoundTripEvidence<'a> {
    pub operation: &'a str,
    pub server_us: f64,
    pub client_us: f64,
    /// `pg_stat_statements` (mean per execution) or `EXPLAIN ANALYZE` (one execution).
    pub source: &'a str,
    pub speedup: Option<Interval>,
    pub server_speedup: Option<Interval>,
    /// The scenario measures one side: there is no speedup to compress, but an absolute
    /// target on the operation measures mostly the transport.
    pub single_side: bool,
}

/// When the fixed round trip is most of an operation's latency, the end-to-end speedup is
/// compressed towards 1 whatever the change does on the server: say how much, with numbers.
pub fn round_trip_warning(e: &RoundTripEvidence<'_>) -> Option<Warning> {
    let share = round_trip_share(e.server_us, e.client_us);
    if e.client_us <= 0.0 || share <= ROUND_TRIP_BOUND_SHARE {
        return None;
    }
    if e.single_side {
        return Some(Warning {
            id: "round-trip-bound".into(),
            operation: Some(e.operation.to_string()),
            message: format!(
                "`{}`: the round trip is {:.0}% of the latency (client {:.0} µs, server {:.1} µs by {}): \
                 an absolute latency target on it measures mostly the transport and CPU placement \
                 (environment.transport, environment.placement), not the query",
                e.operation,
                share * 100.0,
                e.client_us,
                e.server_us,
                e.source
            ),
        });
    }
    let effect = match (e.speedup, e.server_speedup) {
        (Some(s), Some(v)) => format!(
            "; end-to-end speedup {:.2}× against a server-time speedup of {:.2}×",
            s.estimate, v.estimate
        ),
        _ => format!(
            "; a change that made the server infinitely fast would show at most {:.2}× end to end",
            1.0 / share
        ),
    };
    Some(Warning {
        id: "round-trip-bound".into(),
        operation: Some(e.operation.to_string()),
        message: format!(
            "`{}` after: the round trip is {:.0}% of the latency (client {:.0} µs, server {:.1} µs by {}){effect}; \
             the end-to-end speedup depends on the transport and CPU placement (environment.transport, \
             environment.placement): compare `server_speedup`, or claim `server speedup`",
            e.operation,
            share * 100.0,
            e.client_us,
            e.server_us,
            e.source
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::SideSamples;

    fn side(server_ns: &[f64], counts: &[u64]) -> SideSamples {
        SideSamples {
            round_server_ns: server_ns.to_vec(),
            round_count: counts.to_vec(),
            server_calls: counts.iter().sum::<u64>() as i64 * 3,
            ..SideSamples::default()
        }
    }

    #[test]
    fn server_time_is_weighted_by_executions_and_needs_every_round() {
        let lat = Latency {
            mean_us: 100.0,
            ..Latency::default()
        };
        let s = side_server(&side(&[10_000.0, 40_000.0], &[30, 10]), &lat).unwrap();
        assert!((s.mean_us - 17.5).abs() < 1e-9, "{}", s.mean_us);
        assert_eq!(s.round_us, vec![10.0, 40.0]);
        assert_eq!(s.statements_per_execution, 3.0);
        assert!((s.round_trip_share - 0.825).abs() < 1e-9);
        assert!(side_server(&side(&[10_000.0], &[30, 10]), &lat).is_none());
    }

    #[test]
    fn round_trip_is_the_median_gap_of_the_calibration() {
        assert_eq!(
            round_trip_us(&[30.0, 32.0, 50.0], &[2.0, 2.0, 3.0]),
            Some(30.0)
        );
        assert_eq!(round_trip_us(&[30.0], &[]), None);
    }

    #[test]
    fn round_trip_warning_quantifies_the_compression() {
        let iv = |e: f64| Interval {
            estimate: e,
            geomean: e,
            low: e,
            high: e,
            confidence: 0.95,
            rounds: 10,
        };
        let mut e = RoundTripEvidence {
            operation: "get",
            server_us: 5.0,
            client_us: 40.0,
            source: "pg_stat_statements",
            speedup: Some(iv(2.1)),
            server_speedup: Some(iv(30.0)),
            single_side: false,
        };
        let w = round_trip_warning(&e).unwrap();
        assert!(w.message.contains("88% of the latency"), "{}", w.message);
        assert!(w
            .message
            .contains("2.10× against a server-time speedup of 30.00×"));
        e.server_us = 30.0;
        assert!(round_trip_warning(&e).is_none());
    }
}
