//! A small deterministic PRNG: SplitMix64 seeds xoshiro256** (Blackman & Vigna).
//!
//! Every entity (a visitor, a customer, a spend cell…) gets its own stream whose seed is derived
//! from `(seed, table, entity id)`, so the draws of one entity never depend on how many others
//! were generated before it or on which thread generated them.

/// Which table (or stage) a stream belongs to; part of the stream's seed.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub enum Stream {
    Leads = 1,
    Accounts = 2,
    Responses = 3,
    Tickets = 4,
    Events = 5,
    Spend = 6,
    Quotas = 7,
    Campaigns = 8,
}

/// The SplitMix64 output function: a bijective mix of 64 bits.
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// xoshiro256**: fast, 256 bits of state, good statistical quality for simulation.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// The stream of one entity. Mixing after each component keeps nearby ids (and seeds)
    /// from producing correlated states.
    pub fn stream(seed: u64, table: Stream, id: u64) -> Rng {
        let key = mix64(mix64(mix64(seed.wrapping_add(GOLDEN)) ^ (table as u64)) ^ id);
        Rng::from_splitmix(key)
    }

    /// Fill the state with four SplitMix64 outputs, as the xoshiro authors recommend; this can
    /// never yield the all-zero state for more than one key in 2^64.
    fn from_splitmix(mut x: u64) -> Rng {
        let mut s = [0u64; 4];
        for v in &mut s {
            x = x.wrapping_add(GOLDEN);
            *v = mix64(x);
        }
        if s == [0; 4] {
            s[0] = GOLDEN;
        }
        Rng { s }
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    #[inline]
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n) by multiply-shift (the bias is below 2^-32 for the small n
    /// used here, far under any statistic the demo data is read for). `n = 0` gives 0.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform integer in [lo, hi).
    #[inline]
    pub fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64) as i64
    }

    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Exponential with the given mean.
    #[inline]
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.f64()).ln()
    }

    /// Standard normal (Box–Muller; the second value is dropped to keep streams simple).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64(); // (0, 1], so ln is finite
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with the given median and log-scale spread.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Poisson count. Knuth's product method for small means (all the demo uses), a rounded
    /// normal approximation above 30.
    pub fn poisson(&mut self, mean: f64) -> u32 {
        if mean <= 0.0 {
            return 0;
        }
        if mean > 30.0 {
            return (mean + mean.sqrt() * self.normal()).round().max(0.0) as u32;
        }
        let limit = (-mean).exp();
        let mut k = 0u32;
        let mut p = self.f64();
        while p > limit {
            k += 1;
            p *= self.f64();
        }
        k
    }

    /// Binomial count of successes in `n` trials of probability `p`: waiting times between
    /// successes (geometric gaps, O(n·p) draws) while the mean is small, a rounded normal
    /// approximation above; `p > 0.5` counts the failures instead.
    pub fn binomial(&mut self, n: u64, p: f64) -> u64 {
        if n == 0 || p <= 0.0 {
            return 0;
        }
        if p >= 1.0 {
            return n;
        }
        if p > 0.5 {
            return n - self.binomial(n, 1.0 - p);
        }
        let mean = n as f64 * p;
        if mean > 30.0 {
            let sd = (mean * (1.0 - p)).sqrt();
            return (mean + sd * self.normal()).round().clamp(0.0, n as f64) as u64;
        }
        let log_q = (1.0 - p).ln();
        let (mut k, mut pos) = (0u64, 0u64);
        loop {
            // Trials up to and including the next success.
            let gap = ((1.0 - self.f64()).ln() / log_q).floor() as u64 + 1;
            pos = pos.saturating_add(gap);
            if pos > n {
                return k;
            }
            k += 1;
        }
    }

    /// Index drawn with probability proportional to `weights` (all ≥ 0, not all zero).
    pub fn pick(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = {
            let mut r = Rng::stream(7, Stream::Leads, 3);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let mut r = Rng::stream(7, Stream::Leads, 3);
        assert_eq!(a, (0..4).map(|_| r.next_u64()).collect::<Vec<_>>());
        let mut other_id = Rng::stream(7, Stream::Leads, 4);
        let mut other_table = Rng::stream(7, Stream::Events, 3);
        let mut other_seed = Rng::stream(8, Stream::Leads, 3);
        assert_ne!(a[0], other_id.next_u64());
        assert_ne!(a[0], other_table.next_u64());
        assert_ne!(a[0], other_seed.next_u64());
    }

    #[test]
    fn distributions_have_the_right_means() {
        let mut r = Rng::stream(1, Stream::Spend, 0);
        let n = 200_000;
        let mean = |f: &mut dyn FnMut() -> f64| (0..n).map(|_| f()).sum::<f64>() / n as f64;
        assert!((mean(&mut || r.f64()) - 0.5).abs() < 0.01);
        let mut r = Rng::stream(1, Stream::Spend, 1);
        assert!((mean(&mut || r.exp(3.0)) - 3.0).abs() < 0.05);
        let mut r = Rng::stream(1, Stream::Spend, 2);
        assert!(mean(&mut || r.normal()).abs() < 0.01);
        let mut r = Rng::stream(1, Stream::Spend, 3);
        assert!((mean(&mut || r.poisson(2.5) as f64) - 2.5).abs() < 0.03);
        let mut r = Rng::stream(1, Stream::Spend, 4);
        let picks = (0..n).filter(|_| r.pick(&[1.0, 3.0]) == 1).count();
        assert!((picks as f64 / n as f64 - 0.75).abs() < 0.01);
        let mut r = Rng::stream(1, Stream::Campaigns, 6);
        // Both branches: geometric gaps (mean 2.5) and the normal approximation (mean 700).
        for (trials, p) in [(50u64, 0.05), (1_000, 0.7)] {
            let m = mean(&mut || r.binomial(trials, p) as f64);
            assert!(
                (m / (trials as f64 * p) - 1.0).abs() < 0.01,
                "{trials} {p}: {m}"
            );
        }
        assert!((0..1000).all(|_| r.binomial(20, 0.3) <= 20));
        let mut r = Rng::stream(1, Stream::Spend, 5);
        assert!((0..1000).all(|_| r.below(7) < 7 && r.range_i64(-3, 2) < 2));
    }
}
