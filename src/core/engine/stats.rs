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
    if values.is_empty() {
        return None;
    }
    let h = (values.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let (_, lo_v, rest) = values.select_nth_unstable_by(lo, f64::total_cmp);
    let lo_v = *lo_v;
    let frac = h - lo as f64;
    if frac == 0.0 || rest.is_empty() {
        return Some(lo_v);
    }
    let hi_v = rest
        .iter()
        .copied()
        .min_by(f64::total_cmp)
        .expect("non-empty");
    Some(lo_v + frac * (hi_v - lo_v))
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
}
