//! What a load run records, per OS thread (merged at the end): per operation, the latency of
//! every execution (from its intended start: coordinated omission corrected) and its service
//! time (actual start to end), by phase or by period of the migration timeline, a timeline of
//! one HdrHistogram per interval, and errors by SQLSTATE.
//!
//! Memory is bounded whatever the run's length: a fixed number of histograms per operation,
//! plus one compressed histogram (a few hundred bytes) per finished interval — a 10-minute run
//! at 100 ms intervals keeps 6 000 of them per operation and thread.

use std::collections::BTreeMap;

use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use crate::measure::new_histogram;

/// Per-phase histograms need less precision than the totals (2 significant figures).
fn phase_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 2).expect("valid histogram bounds")
}

/// Which part of the run an execution belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Warm-up, or a phase's settle time: counted in the timeline only.
    Unmeasured,
    /// A measured phase of the before/after comparison (side 0 before, 1 after).
    Phase { k: usize, side: usize },
    /// Under load, finished before the migration started.
    Steady,
    /// Under load, in flight at some time during the migration.
    Window,
    /// Under load, started after the migration ended.
    Tail,
}

/// Under load: the class of an execution intended at `intended_ns` that ended at `end_ns`,
/// given the migration window (`u64::MAX` while not started / not ended).
pub fn window_class(
    intended_ns: u64,
    end_ns: u64,
    warmup_ns: u64,
    start_ns: u64,
    stop_ns: u64,
) -> Class {
    if intended_ns < warmup_ns {
        Class::Unmeasured
    } else if intended_ns < stop_ns && end_ns > start_ns {
        Class::Window
    } else if end_ns <= start_ns {
        Class::Steady
    } else {
        Class::Tail
    }
}

/// Latency and service time of a set of executions.
#[derive(Debug, Clone)]
pub struct Pair {
    /// From the intended start (open loop) or the actual start (closed loop), ns.
    pub latency: Histogram<u64>,
    /// From the actual start, ns.
    pub service: Histogram<u64>,
    pub errors: BTreeMap<String, u64>,
}

impl Default for Pair {
    fn default() -> Self {
        Pair {
            latency: new_histogram(),
            service: new_histogram(),
            errors: BTreeMap::new(),
        }
    }
}

impl Pair {
    fn add(&mut self, o: &Pair) {
        self.latency.add(&o.latency).expect("same bounds");
        self.service.add(&o.service).expect("same bounds");
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// One measured phase of one operation.
#[derive(Debug, Clone)]
pub struct PhaseRec {
    pub latency: Histogram<u64>,
    pub errors: u64,
}

/// One finished timeline interval of one operation.
#[derive(Debug, Clone, Default)]
pub struct IntervalRec {
    /// V2 + DEFLATE latency histogram (empty when nothing completed).
    pub latency_v2z: Vec<u8>,
    pub errors: u64,
}

/// Everything recorded for one operation.
#[derive(Debug, Clone)]
pub struct OpRec {
    /// Phased: measured executions per side (before, after).
    pub sides: [Pair; 2],
    pub phases: Vec<PhaseRec>,
    /// Under load: before, during and after the migration window.
    pub steady: Pair,
    pub window: Pair,
    pub tail: Pair,
    pub timeline: Vec<IntervalRec>,
    current: Histogram<u64>,
    current_errors: u64,
}

impl OpRec {
    fn new(phases: usize) -> Self {
        OpRec {
            sides: [Pair::default(), Pair::default()],
            phases: (0..phases)
                .map(|_| PhaseRec {
                    latency: phase_histogram(),
                    errors: 0,
                })
                .collect(),
            steady: Pair::default(),
            window: Pair::default(),
            tail: Pair::default(),
            timeline: vec![],
            current: new_histogram(),
            current_errors: 0,
        }
    }

    /// Closes intervals up to (not including) `idx`.
    fn roll(&mut self, idx: usize) {
        while self.timeline.len() < idx {
            let mut rec = IntervalRec {
                latency_v2z: vec![],
                errors: self.current_errors,
            };
            if !self.current.is_empty() {
                V2DeflateSerializer::new()
                    .serialize(&self.current, &mut rec.latency_v2z)
                    .expect("serializing to memory");
            }
            self.timeline.push(rec);
            self.current.reset();
            self.current_errors = 0;
        }
    }
}

/// One OS thread's recordings.
#[derive(Debug, Clone)]
pub struct Recorder {
    pub interval_ns: u64,
    pub ops: Vec<OpRec>,
}

/// One execution's outcome.
pub struct Execution<'a> {
    pub op: usize,
    pub intended_ns: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub class: Class,
    /// SQLSTATE (or `connection`) of a failed execution.
    pub error: Option<&'a str>,
}

impl Recorder {
    pub fn new(ops: usize, phases: usize, interval_ns: u64) -> Self {
        Recorder {
            interval_ns: interval_ns.max(1),
            ops: (0..ops).map(|_| OpRec::new(phases)).collect(),
        }
    }

    pub fn record(&mut self, e: &Execution<'_>) {
        let rec = &mut self.ops[e.op];
        // Completion times only grow on one thread, so intervals close in order.
        rec.roll((e.end_ns / self.interval_ns) as usize);
        let latency = e.end_ns.saturating_sub(e.intended_ns).max(1);
        let service = e.end_ns.saturating_sub(e.start_ns).max(1);
        match e.error {
            Some(_) => rec.current_errors += 1,
            None => rec.current.saturating_record(latency),
        }
        let pair = match e.class {
            Class::Unmeasured => return,
            Class::Phase { k, side } => {
                if let Some(p) = rec.phases.get_mut(k) {
                    match e.error {
                        Some(_) => p.errors += 1,
                        None => p.latency.saturating_record(latency),
                    }
                }
                &mut rec.sides[side]
            }
            Class::Steady => &mut rec.steady,
            Class::Window => &mut rec.window,
            Class::Tail => &mut rec.tail,
        };
        match e.error {
            Some(code) => *pair.errors.entry(code.to_string()).or_default() += 1,
            None => {
                pair.latency.saturating_record(latency);
                pair.service.saturating_record(service);
            }
        }
    }

    /// Closes the current interval of every operation at `end_ns`.
    pub fn finish(&mut self, end_ns: u64) {
        let idx = (end_ns / self.interval_ns) as usize + 1;
        for op in &mut self.ops {
            op.roll(idx);
        }
    }

    /// Adds another thread's recordings into this one.
    pub fn merge(&mut self, other: Recorder) {
        for (a, b) in self.ops.iter_mut().zip(other.ops) {
            for (x, y) in a.sides.iter_mut().zip(&b.sides) {
                x.add(y);
            }
            for (x, y) in a.phases.iter_mut().zip(&b.phases) {
                x.latency.add(&y.latency).expect("same bounds");
                x.errors += y.errors;
            }
            a.steady.add(&b.steady);
            a.window.add(&b.window);
            a.tail.add(&b.tail);
            if a.timeline.len() < b.timeline.len() {
                a.timeline
                    .resize_with(b.timeline.len(), IntervalRec::default);
            }
            for (x, y) in a.timeline.iter_mut().zip(b.timeline) {
                x.errors += y.errors;
                x.latency_v2z = match (x.latency_v2z.is_empty(), y.latency_v2z.is_empty()) {
                    (_, true) => std::mem::take(&mut x.latency_v2z),
                    (true, false) => y.latency_v2z,
                    (false, false) => {
                        let mut h = decode(&x.latency_v2z);
                        h.add(decode(&y.latency_v2z)).expect("same bounds");
                        let mut out = Vec::new();
                        V2DeflateSerializer::new()
                            .serialize(&h, &mut out)
                            .expect("serializing to memory");
                        out
                    }
                };
            }
        }
    }
}

/// A histogram from its V2 + DEFLATE bytes (an empty one for no bytes).
pub fn decode(bytes: &[u8]) -> Histogram<u64> {
    if bytes.is_empty() {
        return new_histogram();
    }
    let mut h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut &bytes[..])
        .expect("bytes this module serialized");
    h.auto(true);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(
        op: usize,
        intended: u64,
        end: u64,
        class: Class,
        error: Option<&str>,
    ) -> Execution<'_> {
        Execution {
            op,
            intended_ns: intended,
            start_ns: intended,
            end_ns: end,
            class,
            error,
        }
    }

    #[test]
    fn intervals_add_up_to_the_total_across_threads() {
        let mut a = Recorder::new(1, 0, 1_000);
        let mut b = Recorder::new(1, 0, 1_000);
        for i in 0..50u64 {
            a.record(&exec(0, i * 100, i * 100 + 50, Class::Steady, None));
            b.record(&exec(0, i * 70, i * 70 + 20, Class::Steady, None));
        }
        b.record(&exec(0, 3_600, 3_700, Class::Steady, Some("40001")));
        a.finish(5_000);
        b.finish(3_700);
        a.merge(b);
        let op = &a.ops[0];
        let timeline: u64 = op
            .timeline
            .iter()
            .map(|i| decode(&i.latency_v2z).len())
            .sum();
        assert_eq!(timeline, 100);
        assert_eq!(op.steady.latency.len(), 100);
        assert_eq!(op.steady.errors["40001"], 1);
        assert_eq!(op.timeline.iter().map(|i| i.errors).sum::<u64>(), 1);
    }

    #[test]
    fn the_window_holds_whatever_was_in_flight_during_the_migration() {
        // warm-up until 10, migration from 100 to 200.
        assert_eq!(window_class(5, 50, 10, 100, 200), Class::Unmeasured);
        assert_eq!(window_class(20, 90, 10, 100, 200), Class::Steady);
        assert_eq!(window_class(90, 150, 10, 100, 200), Class::Window);
        assert_eq!(window_class(150, 400, 10, 100, 200), Class::Window);
        assert_eq!(window_class(210, 230, 10, 100, 200), Class::Tail);
        // Not started yet: everything finished is steady.
        assert_eq!(window_class(20, 90, 10, u64::MAX, u64::MAX), Class::Steady);
    }

    /// Memory is bounded by the number of intervals, not the number of executions: ten
    /// simulated minutes at 10 000 executions/s and 100 ms intervals (latencies spread over
    /// three decades) keep under 2 KB per interval (docs/load.md quotes the figure).
    #[test]
    fn the_timeline_stays_small_at_ten_thousand_per_second() {
        let interval_ns = 100_000_000;
        let mut r = Recorder::new(1, 0, interval_ns);
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let per_s = 10_000u64;
        let seconds = 600u64;
        for i in 0..per_s * seconds {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // 50 µs … 50 ms, log-uniform.
            let latency = (50_000.0 * 1000f64.powf((x % 10_000) as f64 / 10_000.0)) as u64;
            let intended = i * 1_000_000_000 / per_s;
            r.record(&exec(0, intended, intended + latency, Class::Steady, None));
        }
        r.finish(seconds * 1_000_000_000);
        let op = &r.ops[0];
        let bytes: usize = op.timeline.iter().map(|i| i.latency_v2z.len()).sum();
        let intervals = op.timeline.len();
        eprintln!("{intervals} intervals: {bytes} bytes of compressed histograms");
        assert!((6000..=6002).contains(&intervals), "{intervals}");
        assert!(
            bytes < intervals * 2048,
            "{bytes} bytes for {intervals} intervals"
        );
        assert_eq!(op.steady.latency.len(), per_s * seconds);
    }

    #[test]
    fn latency_counts_from_the_intended_start() {
        let mut r = Recorder::new(1, 1, 1_000_000);
        r.record(&Execution {
            op: 0,
            intended_ns: 0,
            start_ns: 2_000_000,
            end_ns: 2_100_000,
            class: Class::Phase { k: 0, side: 1 },
            error: None,
        });
        let s = &r.ops[0].sides[1];
        assert!(s.latency.max() >= 2_099_000);
        assert!(s.service.max() <= 100_100);
        assert_eq!(r.ops[0].phases[0].latency.len(), 1);
    }
}
