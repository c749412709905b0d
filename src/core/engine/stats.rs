//! Small statistics every analysis shares: the 95 % normal quantile, the Wilson interval of a
//! proportion and the sample quantile (docs/conventions.md#change-signals).

/// The two-sided 95 % normal quantile.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Wilson 95 % interval of the proportion `k / n`; None when `n` is 0 (no rate) or the counts
/// are not a proportion (negative, or k > n).
pub fn wilson(k: f64, n: f64) -> Option<(f64, f64)> {
    if !(n > 0.0 && k >= 0.0 && k <= n && n.is_finite()) {
        return None;
    }
    let p = k / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At k = 0 (k = n) the lower (upper) bound is exactly 0 (1); rounding would leave ~1e-18.
    let lo = if k == 0.0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let hi = if k == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    Some((lo, hi))
}
/// Sample quantile `q` (0…1) by linear interpolation between the closest ranks (the default of
/// numpy, pandas and DuckDB's `quantile_cont`): with the values sorted, h = q·(n − 1) and the
/// result is v[⌊h⌋] + (h − ⌊h⌋)·(v[⌊h⌋+1] − v[⌊h⌋]). None when there are no values.
///
/// The values need not be sorted: they are partially reordered in place (selection, O(n)),
/// which is why the slice is mutable. NaN sorts last.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    quantiles(values, [q])[0]
}

/// Several sample quantiles (as [`quantile`]) of the same values, `qs` in increasing order.
/// Each selection runs only over the values above the previous quantile's rank (the earlier
/// selection left them there), so a median and a 90th percentile cost little more than the
/// median alone. Exact: the same order statistics as selecting each from scratch.
pub fn quantiles<const N: usize>(values: &mut [f64], qs: [f64; N]) -> [Option<f64>; N] {
    let mut out = [None; N];
    if values.is_empty() {
        return out;
    }
    // Everything at or after `from` is ≥ every value before it (a previous selection's rank).
    let mut from = 0;
    for (slot, q) in out.iter_mut().zip(qs) {
        let h = (values.len() - 1) as f64 * q.clamp(0.0, 1.0);
        let lo = (h.floor() as usize).max(from);
        let (_, lo_v, rest) = values[from..].select_nth_unstable_by(lo - from, f64::total_cmp);
        let lo_v = *lo_v;
        let frac = h - lo as f64;
        *slot = Some(if frac <= 0.0 || rest.is_empty() {
            lo_v
        } else {
            let hi_v = rest
                .iter()
                .copied()
                .min_by(f64::total_cmp)
                .expect("non-empty");
            lo_v + frac * (hi_v - lo_v)
        });
        from = lo;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_ranks_like_numpy() {
        // numpy.quantile([1, 2, 3, 4], [0, .25, .5, .9, 1]) = [1, 1.75, 2.5, 3.7, 4]
        for (q, want) in [(0.0, 1.0), (0.25, 1.75), (0.5, 2.5), (0.9, 3.7), (1.0, 4.0)] {
            let mut v = vec![4.0, 1.0, 3.0, 2.0];
            let got = quantile(&mut v, q).unwrap();
            assert!((got - want).abs() < 1e-12, "q={q}: {got}");
        }
        assert_eq!(quantile(&mut [7.0], 0.5), Some(7.0));
        assert_eq!(quantile(&mut [], 0.5), None);
    }

    #[test]
    fn several_quantiles_equal_each_selected_alone() {
        // A fixed pseudo-random mix with many ties, every length from 1 to 60.
        let mut x = 12_345u64;
        for n in 1..=60usize {
            let v: Vec<f64> = (0..n)
                .map(|_| {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    ((x >> 33) % 17) as f64 - 4.0
                })
                .collect();
            let qs = [0.0, 0.1, 0.5, 0.5, 0.9, 1.0];
            let mut w = v.clone();
            let got = quantiles(&mut w, qs);
            for (q, g) in qs.iter().zip(got) {
                let mut alone = v.clone();
                assert_eq!(g, quantile(&mut alone, *q), "n={n} q={q}");
                let mut sorted = v.clone();
                sorted.sort_by(f64::total_cmp);
                let h = (n - 1) as f64 * q;
                let (i, f) = (h.floor() as usize, h - h.floor());
                let want = if f == 0.0 {
                    sorted[i]
                } else {
                    sorted[i] + f * (sorted[i + 1] - sorted[i])
                };
                assert_eq!(g, Some(want), "n={n} q={q}");
            }
        }
    }
}
