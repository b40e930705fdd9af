//! Pure planning of a load run: when each client means to send (the open-loop schedule), which
//! operation it sends (the weighted mix), and which side a phase runs (A, B, B, A …).

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::scenario::{Arrival, Side};

/// One client's open-loop schedule: intended start times in ns since the run's origin.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// ns between two of this client's executions (clients / rate).
    period_ns: f64,
    arrival: Arrival,
    next_ns: f64,
}

impl Schedule {
    /// Client `client` of `clients` sharing `rate` executions per second, starting at `start_ns`.
    /// Uniform clients are staggered evenly so that together they send at a steady `rate`.
    pub fn new(rate: f64, clients: u32, client: u32, arrival: Arrival, start_ns: u64) -> Self {
        let period_ns = 1e9 * f64::from(clients) / rate;
        let offset = period_ns * f64::from(client) / f64::from(clients);
        Schedule {
            period_ns,
            arrival,
            next_ns: start_ns as f64 + offset,
        }
    }

    /// The intended start of the next execution, without advancing.
    pub fn peek(&self) -> u64 {
        self.next_ns as u64
    }

    /// The intended start of the next execution; advances the schedule.
    pub fn next(&mut self, rng: &mut ChaCha8Rng) -> u64 {
        let at = self.next_ns;
        let gap = match self.arrival {
            Arrival::Uniform => self.period_ns,
            // Exponential gaps: -ln(U) × mean, U in (0, 1].
            Arrival::Poisson => -(1.0 - rng.random::<f64>()).ln() * self.period_ns,
        };
        self.next_ns += gap;
        at as u64
    }
}

/// Picks operations in proportion to their weights.
#[derive(Debug, Clone)]
pub struct Mix {
    /// Cumulative weights; operation `i` is chosen for draws in [cum[i-1], cum[i]).
    cumulative: Vec<u64>,
}

impl Mix {
    /// `None` when every weight is 0.
    pub fn new(weights: &[u32]) -> Option<Self> {
        let mut total = 0u64;
        let cumulative: Vec<u64> = weights
            .iter()
            .map(|w| {
                total += u64::from(*w);
                total
            })
            .collect();
        (total > 0).then_some(Mix { cumulative })
    }

    pub fn pick(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = *self.cumulative.last().expect("a mix has operations");
        let x = rng.random_range(0..total);
        self.cumulative.partition_point(|c| *c <= x)
    }
}

/// The side of phase `k`: A B B A A B B A … (ABBA balances a linear drift exactly).
pub fn phase_side(k: u64) -> Side {
    if matches!(k % 4, 0 | 3) {
        Side::Before
    } else {
        Side::After
    }
}

/// Where an instant falls in a phased run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseSlot {
    /// Warm-up: not recorded; the side alternates per execution so both sides warm up.
    Warmup,
    /// Phase `k`; `measured` is false in its first `settle` ms.
    Phase { k: u64, measured: bool },
    /// Past the last phase.
    Done,
}

/// The phase plan of a before/after comparison under load, in ns since the origin.
#[derive(Debug, Clone, Copy)]
pub struct PhasePlan {
    pub warmup_ns: u64,
    pub phase_ns: u64,
    pub settle_ns: u64,
    pub phases: u64,
}

impl PhasePlan {
    pub fn slot(&self, t_ns: u64) -> PhaseSlot {
        if t_ns < self.warmup_ns {
            return PhaseSlot::Warmup;
        }
        let since = t_ns - self.warmup_ns;
        let k = since / self.phase_ns.max(1);
        if k >= self.phases {
            return PhaseSlot::Done;
        }
        PhaseSlot::Phase {
            k,
            measured: since - k * self.phase_ns >= self.settle_ns,
        }
    }

    pub fn end_ns(&self) -> u64 {
        self.warmup_ns + self.phase_ns * self.phases
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn uniform_clients_together_send_at_the_rate() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut starts: Vec<u64> = (0..4)
            .flat_map(|c| {
                let mut s = Schedule::new(1000.0, 4, c, Arrival::Uniform, 0);
                (0..250).map(|_| s.next(&mut rng)).collect::<Vec<_>>()
            })
            .collect();
        starts.sort();
        // 1000 executions at 1000/s: one every ms, the last at 999 ms.
        assert_eq!(starts.len(), 1000);
        assert_eq!(starts[1] - starts[0], 1_000_000);
        assert_eq!(*starts.last().unwrap(), 999_000_000);
    }

    #[test]
    fn poisson_keeps_the_mean_rate() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut s = Schedule::new(100.0, 1, 0, Arrival::Poisson, 0);
        let mut last = 0;
        for _ in 0..10_000 {
            last = s.next(&mut rng);
        }
        let seconds = last as f64 / 1e9;
        assert!((95.0..105.0).contains(&seconds), "{seconds}");
    }

    #[test]
    fn mix_follows_weights() {
        let mix = Mix::new(&[1, 0, 3]).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut n = [0u32; 3];
        for _ in 0..40_000 {
            n[mix.pick(&mut rng)] += 1;
        }
        assert_eq!(n[1], 0);
        assert!((9_000..11_000).contains(&n[0]), "{n:?}");
        assert!(Mix::new(&[0, 0]).is_none());
    }

    #[test]
    fn phases_alternate_abba_and_settle() {
        let sides: Vec<Side> = (0..4).map(phase_side).collect();
        assert_eq!(
            sides,
            vec![Side::Before, Side::After, Side::After, Side::Before]
        );
        let p = PhasePlan {
            warmup_ns: 10,
            phase_ns: 100,
            settle_ns: 20,
            phases: 2,
        };
        assert_eq!(p.slot(5), PhaseSlot::Warmup);
        assert_eq!(
            p.slot(15),
            PhaseSlot::Phase {
                k: 0,
                measured: false
            }
        );
        assert_eq!(
            p.slot(135),
            PhaseSlot::Phase {
                k: 1,
                measured: true
            }
        );
        assert_eq!(p.slot(210), PhaseSlot::Done);
    }
}
