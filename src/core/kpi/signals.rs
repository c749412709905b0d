//! Honest changes: confidence intervals for rates, significance of a change between periods,
//! and a robust flag for sudden spikes or drops in a series.
//!
//! Formulas (z = 1.959964, the two-sided 95 % normal quantile):
//! - Wilson score interval for k successes of n (Wilson 1927; Newcombe 1998, method 3):
//!   centre = (p + z²/2n) / (1 + z²/n), half = z / (1 + z²/n) · √(p(1−p)/n + z²/4n²).
//! - Two-proportion z-test with the pooled rate p = (k₁+k₂)/(n₁+n₂):
//!   z = (p₂ − p₁) / √(p(1−p)(1/n₁ + 1/n₂)); significant at 5 % when |z| > 1.959964.
//! - Robust anomaly score (Iglewicz & Hoaglin's modified z-score, with the MAD scaled to a
//!   normal σ): |x − median(prev)| / (1.4826 · MAD(prev)) > 3.5.

#[cfg(test)]
use crate::core::engine::stats::wilson;
use crate::core::engine::stats::{quantile, Z95};

/// Scale that makes the median absolute deviation estimate a normal standard deviation.
pub const MAD_SCALE: f64 = 1.4826;

/// z statistic of the change from `k1 / n1` (before) to `k2 / n2` (after), pooled standard
/// error. None when either denominator is 0; 0 when the pooled rate is 0 or 1 (both periods
/// had the same all-or-nothing rate, so there is no change to test).
pub fn two_proportion_z(k1: f64, n1: f64, k2: f64, n2: f64) -> Option<f64> {
    if !(n1 > 0.0 && n2 > 0.0) {
        return None;
    }
    let pooled = (k1 + k2) / (n1 + n2);
    let var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
    if var <= 0.0 {
        return Some(0.0);
    }
    Some((k2 / n2 - k1 / n1) / var.sqrt())
}

/// Whether the change from `k1 / n1` to `k2 / n2` is significant at 5 % (two-sided).
pub fn significant_change(k1: f64, n1: f64, k2: f64, n2: f64) -> Option<bool> {
    two_proportion_z(k1, n1, k2, n2).map(|z| z.abs() > Z95)
}

/// Modified z-score of `x` against `window`: |x − median| / (1.4826 · MAD); None when the MAD
/// is 0 (no spread to scale by).
pub fn robust_score(x: f64, window: &[f64]) -> Option<f64> {
    if window.is_empty() {
        return None;
    }
    let mut w = window.to_vec();
    let m = quantile(&mut w, 0.5)?;
    let mut dev: Vec<f64> = w.iter().map(|v| (v - m).abs()).collect();
    let mad = quantile(&mut dev, 0.5)?;
    (mad > 0.0).then(|| (x - m).abs() / (MAD_SCALE * mad))
}

/// Per position: is the value a sudden spike or drop? Scored against the `lookback` most recent
/// earlier values (missing periods skipped): flagged when the modified z-score exceeds 3.5.
/// None for a missing value, when fewer than `lookback` earlier values exist, or when their MAD
/// is 0: a flat run has no spread to judge a departure by, and flagging every departure from it
/// would flag each step of a small integer count.
pub fn anomalies(values: &[Option<f64>], lookback: usize) -> Vec<Option<bool>> {
    let mut seen: Vec<f64> = Vec::with_capacity(values.len());
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        let v = v.filter(|x| x.is_finite());
        out.push(match v {
            Some(x) if lookback > 0 && seen.len() >= lookback => {
                robust_score(x, &seen[seen.len() - lookback..]).map(|s| s > 3.5)
            }
            _ => None,
        });
        if let Some(x) = v {
            seen.push(x);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_bounds_by_hand() {
        // 10 of 100: p = 0.1, z² = 3.841459, z²/n = 0.0384146;
        // centre = (0.1 + 0.0192073) / 1.0384146 = 0.114798;
        // half = 1.959964 / 1.0384146 · √(0.0009 + 0.00009604) = 0.0595682;
        // → [0.114798 − 0.059568, 0.114798 + 0.059568] = [0.0552, 0.1744].
        let (lo, hi) = wilson(10.0, 100.0).unwrap();
        assert!((lo - 0.0552).abs() < 5e-5, "{lo}");
        assert!((hi - 0.1744).abs() < 5e-5, "{hi}");
        // 0 of 10: p = 0, so centre = half = (z²/2n) / (1 + z²/n): low 0, high = (z²/n) / (1 + z²/n)
        // = 0.384146 / 1.384146 = 0.2775.
        let (lo, hi) = wilson(0.0, 10.0).unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - 0.2775).abs() < 5e-5, "{hi}");
        assert_eq!(wilson(1.0, 0.0), None);
        assert_eq!(wilson(5.0, 4.0), None);
    }

    #[test]
    fn two_proportion_test_by_hand() {
        // 50/500 = 0.10 → 80/500 = 0.16: pooled p = 130/1000 = 0.13,
        // se = √(0.13 · 0.87 · (2/500)) = √0.0004524 = 0.0212697, z = 0.06 / 0.0212697 = 2.8209.
        let z = two_proportion_z(50.0, 500.0, 80.0, 500.0).unwrap();
        assert!((z - 2.8209).abs() < 1e-4, "{z}");
        assert_eq!(significant_change(50.0, 500.0, 80.0, 500.0), Some(true));
        // 10/100 → 14/100: pooled 0.12, se = √(0.12 · 0.88 · 0.02) = 0.045956, z = 0.8704: noise.
        let z = two_proportion_z(10.0, 100.0, 14.0, 100.0).unwrap();
        assert!((z - 0.8704).abs() < 1e-4, "{z}");
        assert_eq!(significant_change(10.0, 100.0, 14.0, 100.0), Some(false));
        assert_eq!(two_proportion_z(0.0, 10.0, 0.0, 20.0), Some(0.0));
        assert_eq!(significant_change(1.0, 0.0, 1.0, 2.0), None);
    }

    #[test]
    fn mad_flags_on_a_hand_made_series() {
        // Window 10, 12, 11, 13, 12, 11 → sorted 10 11 11 12 12 13, median 11.5;
        // |dev| = 1.5 .5 .5 .5 .5 1.5 → MAD 0.5, scaled σ = 0.7413.
        // 20: |20 − 11.5| / 0.7413 = 11.47 > 3.5 → flagged. Then the window is 12 11 13 12 11 20
        // → median 12, |dev| 0 1 1 0 1 8 → MAD 1, σ 1.4826; 13: 1 / 1.4826 = 0.67 → not flagged.
        let v: Vec<Option<f64>> = [10.0, 12.0, 11.0, 13.0, 12.0, 11.0, 20.0, 13.0]
            .iter()
            .map(|x| Some(*x))
            .collect();
        let a = anomalies(&v, 6);
        assert_eq!(
            a,
            [None, None, None, None, None, None, Some(true), Some(false)]
        );
        let s = robust_score(20.0, &[10.0, 12.0, 11.0, 13.0, 12.0, 11.0]).unwrap();
        assert!((s - 8.5 / 0.7413).abs() < 1e-9, "{s}");
        // A drop is flagged too: 3 → |3 − 11.5| / 0.7413 = 11.47.
        let mut d = v[..6].to_vec();
        d.push(Some(3.0));
        assert_eq!(anomalies(&d, 6)[6], Some(true));
        // A flat window has MAD 0: null, whatever follows.
        let flat = [Some(5.0); 6]
            .iter()
            .copied()
            .chain([Some(50.0)])
            .collect::<Vec<_>>();
        assert_eq!(anomalies(&flat, 6)[6], None);
        // Missing periods are skipped, not counted.
        let mut gap = v[..6].to_vec();
        gap.insert(3, None);
        gap.push(Some(20.0));
        assert_eq!(anomalies(&gap, 6)[3], None);
        assert_eq!(anomalies(&gap, 6)[7], Some(true));
    }
}
