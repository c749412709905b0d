//! One customer's MRR over time: the points where its level (or segment) changes, and the
//! subscriptions that began and ended inside one period.

use super::input::*;
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::time::Freq;

/// From `period` on (until the next point), the customer's MRR is `level` in segment `seg`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Point {
    pub(super) period: i64,
    pub(super) level: i64,
    pub(super) seg: u32,
}

/// Subscriptions that started and ended inside one period while the customer had no MRR at
/// either end: the peak MRR reached, and its segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Flash {
    pub(super) period: i64,
    pub(super) peak: i64,
    pub(super) seg: u32,
}

/// Points and flashes, each in period order (one entry per period at most).
#[derive(Debug, Default)]
pub(super) struct Series {
    pub(super) points: Vec<Point>,
    pub(super) flashes: Vec<Flash>,
}

impl Series {
    /// Emptied for the next customer, keeping the allocations (one per thread, not per customer).
    pub(super) fn clear(&mut self) {
        self.points.clear();
        self.flashes.clear();
    }

    /// The first period at or after positions (`pi`, `fi`), if any.
    #[inline]
    pub(super) fn next_period(&self, pi: usize, fi: usize) -> Option<i64> {
        match (self.points.get(pi), self.flashes.get(fi)) {
            (Some(p), Some(f)) => Some(p.period.min(f.period)),
            (Some(p), None) => Some(p.period),
            (None, Some(f)) => Some(f.period),
            (None, None) => None,
        }
    }
}

/// Segment conflicts found in one customer: (row, other row, period).
pub(super) type Conflict = (usize, usize, i64, Clash);

/// What two rows of one customer disagree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Clash {
    /// Two segment values in one period.
    Segment,
    /// Two snapshot rows of one customer in one period (without `duplicates="sum"`).
    Duplicate,
}

pub(super) fn add(a: i64, b: i64) -> KpiResult<i64> {
    a.checked_add(b).ok_or_else(|| KpiError::Overflow {
        what: "MRR sum".into(),
    })
}

/// Segment of row `r`: `segs` is empty when the call has no segments (all rows segment 0).
#[inline]
pub(super) fn seg_at(segs: &[u32], r: usize) -> u32 {
    if segs.is_empty() {
        0
    } else {
        segs[r]
    }
}

/// The one segment of the rows that carry MRR, or the first conflicting pair.
pub(super) fn one_segment(
    rows: impl Iterator<Item = usize>,
    segs: &[u32],
) -> Result<u32, (usize, usize)> {
    let mut seen: Option<(u32, usize)> = None;
    for r in rows {
        match seen {
            None => seen = Some((seg_at(segs, r), r)),
            Some((s, first)) if s != seg_at(segs, r) => return Err((first, r)),
            _ => {}
        }
    }
    Ok(seen.map(|s| s.0).unwrap_or(NO_SEG))
}

/// The customer's series from its snapshot `rows` (reordered by period here) into `out`.
#[allow(clippy::too_many_arguments)]
pub(super) fn snapshot_series(
    rows: &mut Vec<usize>,
    period: &[i64],
    cents: &[i64],
    kept: Option<&[bool]>,
    sum_duplicates: bool,
    segs: &[u32],
    out: &mut Series,
) -> KpiResult<Result<(), Conflict>> {
    // Only the snapshot at each period's end counts: after this, a period's rows share one
    // snapshot month.
    if let Some(kept) = kept {
        rows.retain(|&r| kept[r]);
    }
    rows.sort_by_key(|&r| (period[r], r));
    out.clear();
    let mut i = 0;
    while i < rows.len() {
        let p = period[rows[i]];
        let mut j = i;
        let mut level = 0i64;
        while j < rows.len() && period[rows[j]] == p {
            level = add(level, cents[rows[j]])?;
            j += 1;
        }
        if j - i > 1 && !sum_duplicates {
            return Ok(Err((rows[i], rows[i + 1], p, Clash::Duplicate)));
        }
        // Every row of the period must agree on the segment, MRR or not.
        let seg = match one_segment(rows[i..j].iter().copied(), segs) {
            Ok(s) => s,
            Err((a, b)) => return Ok(Err((a, b, p, Clash::Segment))),
        };
        out.points.push(Point {
            period: p,
            level,
            seg: if level > 0 { seg } else { NO_SEG },
        });
        let next = rows.get(j).map(|&r| period[r]);
        if next != Some(p + 1) {
            out.points.push(Point {
                period: p + 1,
                level: 0,
                seg: NO_SEG,
            });
        }
        i = j;
    }
    Ok(Ok(()))
}

/// The customer's series from its subscription `rows` into `out`.
#[allow(clippy::too_many_arguments)]
pub(super) fn subscription_series(
    rows: &[usize],
    start: &[i64],
    end: &[Option<i64>],
    cents: &[i64],
    segs: &[u32],
    segmented: bool,
    snapshot: Snapshot,
    freq: Freq,
    out: &mut Series,
) -> KpiResult<Result<(), Conflict>> {
    // Step changes of whole monthly values (+ at the first period counted in full, − at the
    // first period no longer counted), and partial values of single periods (averages only).
    let mut steps: Vec<(i64, i64, usize, i32)> = Vec::new(); // period, cents, row, ±1
    let mut partial: Vec<(i64, f64, usize)> = Vec::new(); // period, cents, row
    let mut flash_rows: Vec<(i64, usize)> = Vec::new();
    for &r in rows {
        let c = cents[r];
        let s = start[r];
        let a = freq.ordinal_of_micros(s);
        match snapshot {
            Snapshot::End => match end[r] {
                None => steps.push((a, c, r, 1)),
                Some(e) => {
                    let b = freq.ordinal_of_micros(e);
                    if b > a {
                        steps.push((a, c, r, 1));
                        steps.push((b, -c, r, -1));
                    } else if e > s && c > 0 {
                        flash_rows.push((a, r));
                    }
                }
            },
            Snapshot::Average => {
                let len = |p: i64| (period_start_us(freq, p + 1) - period_start_us(freq, p)) as f64;
                let covered = |p: i64, lo: i64, hi: i64| {
                    let (ps, pe) = (period_start_us(freq, p), period_start_us(freq, p + 1));
                    (hi.min(pe) - lo.max(ps)).max(0) as f64 / len(p)
                };
                match end[r] {
                    Some(e) if e <= s => {}
                    Some(e) if freq.ordinal_of_micros(e) == a => {
                        partial.push((a, c as f64 * covered(a, s, e), r));
                    }
                    _ => {
                        partial.push((a, c as f64 * covered(a, s, i64::MAX), r));
                        steps.push((a + 1, c, r, 1));
                        if let Some(e) = end[r] {
                            let b = freq.ordinal_of_micros(e);
                            steps.push((b, -c, r, -1));
                            let f = covered(b, s, e);
                            if f > 0.0 {
                                partial.push((b, c as f64 * f, r));
                            }
                        }
                    }
                }
            }
        }
    }
    // Additions first, so a subscription added and removed in one period ends up inactive.
    steps.sort_by_key(|x| (x.0, -x.3, x.2));
    partial.sort_by(|x, y| x.0.cmp(&y.0).then(x.2.cmp(&y.2)));
    // Periods where the level may change: every step, and each partial period and the next.
    let mut marks: Vec<i64> = steps.iter().map(|x| x.0).collect();
    for p in &partial {
        marks.push(p.0);
        marks.push(p.0 + 1);
    }
    marks.sort_unstable();
    marks.dedup();

    out.clear();
    let mut level = 0i64;
    // Subscriptions counted in full right now (with positive value: they carry the segment).
    let mut active: Vec<usize> = Vec::new();
    let (mut si, mut pi) = (0, 0);
    for &p in &marks {
        while si < steps.len() && steps[si].0 == p {
            let (_, c, r, d) = steps[si];
            level = add(level, c)?;
            if segmented && cents[r] > 0 {
                if d > 0 {
                    active.push(r);
                } else if let Some(k) = active.iter().position(|&x| x == r) {
                    active.swap_remove(k);
                }
            }
            si += 1;
        }
        let mut part = 0.0;
        // Only segmented calls need to know which subscriptions carry the MRR.
        let mut carriers: Vec<usize> = if segmented {
            active.clone()
        } else {
            Vec::new()
        };
        while pi < partial.len() && partial[pi].0 < p {
            pi += 1;
        }
        let mut k = pi;
        while k < partial.len() && partial[k].0 == p {
            part += partial[k].1;
            if segmented && partial[k].1 > 0.0 {
                carriers.push(partial[k].2);
            }
            k += 1;
        }
        let total = add(level, part.round() as i64)?;
        let seg = if total > 0 && !segmented {
            0
        } else if total > 0 {
            match one_segment(carriers.iter().copied(), segs) {
                Ok(s) => s,
                Err((a, b)) => return Ok(Err((a, b, p, Clash::Segment))),
            }
        } else {
            NO_SEG
        };
        let pt = Point {
            period: p,
            level: total,
            seg,
        };
        if out.points.last().map(|l| (l.level, l.seg)) != Some((pt.level, pt.seg)) {
            out.points.push(pt);
        }
    }

    // Flashes: subscriptions wholly inside one period (period-end MRR only).
    flash_rows.sort_unstable();
    let mut i = 0;
    while i < flash_rows.len() {
        let p = flash_rows[i].0;
        let mut j = i;
        while j < flash_rows.len() && flash_rows[j].0 == p {
            j += 1;
        }
        let group: Vec<usize> = flash_rows[i..j].iter().map(|x| x.1).collect();
        // Peak of the overlapping intervals: the sum of those covering each start. The flash
        // takes the segment of the subscription starting the peak: it never reaches a period
        // end, so the one-segment-per-period rule does not apply to it.
        let (mut peak, mut peak_row) = (0i64, group[0]);
        for &r in &group {
            let mut sum = 0i64;
            for &q in &group {
                if start[q] <= start[r] && end[q].is_some_and(|e| e > start[r]) {
                    sum = add(sum, cents[q])?;
                }
            }
            if sum > peak {
                peak = sum;
                peak_row = r;
            }
        }
        let seg = seg_at(segs, peak_row);
        out.flashes.push(Flash {
            period: p,
            peak,
            seg,
        });
        i = j;
    }
    Ok(Ok(()))
}
