//! The retention kernels (docs/conventions.md#retention): per user, their start events make
//! cohort memberships and their return events count in cells (cohort, period number), summed
//! over users into [`Cells`]. Three paths give the same counts: [`calendar_bits`] (calendar
//! periods without amounts, streamed into per-user bit sets), [`calendar_cells`] (the same
//! conventions from sorted per-user keys, when the bit sets would be too large) and
//! [`general_cells`] (any conventions, every kept event per user).

use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::events::EventLog;
use crate::core::input::time::{Freq, US_PER_DAY};
use crate::core::input::{f64_chunks, value_f64, Column};
use crate::core::kernels::activity::entities::{
    by_entity, collect_rows, fold_entities, scan_rows, time_bounds, Entities, Part, RowFlags,
};
use crate::core::kernels::revenue::conventions::MAX_AMOUNT;

use super::spec::{CohortKind, Mode, Period, RetentionSpec, Windows, US_PER_HOUR};

/// One kept event of the general path: wall-clock µs and flags (bit 0: a start event, bit 1:
/// a return event) packed as `t << 2 | flags`, so without a value an event is one integer
/// (8 bytes, sorted by time as is) rather than a padded struct.
trait Ev: Copy + Default + Send + Sync {
    fn key(&self) -> i64;
    fn value(&self) -> f64;
    fn t(&self) -> i64 {
        self.key() >> 2
    }
    fn flags(&self) -> u8 {
        (self.key() & 3) as u8
    }
}

impl Ev for i64 {
    fn key(&self) -> i64 {
        *self
    }
    fn value(&self) -> f64 {
        0.0
    }
}

/// An event with the value column's number.
#[derive(Clone, Copy, Default)]
struct Valued(i64, f64);

impl Ev for Valued {
    fn key(&self) -> i64 {
        self.0
    }
    fn value(&self) -> f64 {
        self.1
    }
}

fn pack(us: i64, flags: u8) -> i64 {
    // ±2^60 µs is ±36,000 years: only saturated out-of-range times are clamped.
    (us.clamp(-(1 << 60), (1 << 60) - 1) << 2) | i64::from(flags & 3)
}

/// Per-thread counts: (cohort ordinal, cell) → (users, value sum).
pub(super) type Cells = hashbrown::HashMap<(i64, i64), (i64, f64)>;

/// Any conventions: every kept event with its time, flags and value, per user.
pub(super) fn general_cells(
    log: &EventLog,
    ent: &Entities,
    flags: Option<&[u8]>,
    default_bits: u8,
    value: Option<&Column>,
    spec: &RetentionSpec,
) -> KpiResult<(Cells, i64, usize)> {
    let keep = |f: u8| (f | default_bits) != 0;
    match value {
        None => {
            let rows = collect_rows(log, ent, flags, keep, |us, f, _| pack(us, f | default_bits))?;
            general_fold(rows, ent, spec)
        }
        Some(c) => {
            // A missing value adds nothing; an infinite or huge one would make every sum it
            // joins infinite (or NaN), so it is an error naming the rows. The bound is that
            // of revenue amounts: sums of any number of such values stay finite.
            let mut values = Vec::with_capacity(c.len());
            let mut bad = BadRows::default();
            for a in f64_chunks(c)? {
                for i in 0..a.len() {
                    let v = value_f64(&a, i).unwrap_or(0.0);
                    if v.abs() > MAX_AMOUNT {
                        bad.push(values.len(), || format!("{v}"));
                    }
                    values.push(v);
                }
            }
            KpiError::check_rows(
                &c.name,
                "must be a finite number from -90071992547409 to 90071992547409 (or missing)",
                bad,
            )?;
            let rows = collect_rows(log, ent, flags, keep, |us, f, row| {
                Valued(pack(us, f | default_bits), values[row])
            })?;
            drop(values);
            general_fold(rows, ent, spec)
        }
    }
}

fn general_fold<E: Ev>(
    (parts, skipped): (Vec<Part<E>>, usize),
    ent: &Entities,
    spec: &RetentionSpec,
) -> KpiResult<(Cells, i64, usize)> {
    let mut end = i64::MIN;
    for p in &parts {
        for e in &p.vals {
            end = end.max(e.t());
        }
    }
    let (offsets, mut evs) = by_entity(parts, ent.count);
    let freq = spec.period;
    let rolling = spec.windows == Windows::Rolling24h;
    let len = spec.rolling_len();
    // Amplitude rounds daily rolling times down to the hour.
    let round = |t: i64| {
        if rolling && freq == Period::Calendar(Freq::Day) {
            t.div_euclid(US_PER_HOUR) * US_PER_HOUR
        } else {
            t
        }
    };
    let cells = fold_entities(
        &offsets,
        &mut evs,
        Cells::new,
        |acc, _, es| {
            es.sort_unstable_by_key(|e| e.key());
            // Anchors: the first start event (first_time) or the first in each cohort period.
            let mut anchors: Vec<(i64, i64)> = Vec::new(); // (time, cohort ordinal)
            for e in es.iter().filter(|e| e.flags() & 1 == 1) {
                let c = freq.ordinal_of_micros(e.t());
                if anchors.last().is_none_or(|a| a.1 != c) {
                    anchors.push((e.t(), c));
                    if spec.cohort == CohortKind::FirstTime {
                        break;
                    }
                }
            }
            let mut per_cell: Vec<(i64, f64)> = Vec::new(); // (cell, value) of the counted returns
            for &(s, c) in &anchors {
                per_cell.clear();
                let s_r = round(s);
                let from = es.partition_point(|e| e.t() < s);
                for e in es[from..].iter().filter(|e| e.flags() & 2 == 2) {
                    let k = if rolling {
                        (round(e.t()) - s_r).div_euclid(len)
                    } else {
                        freq.ordinal_of_micros(e.t()) - c
                    };
                    let Some(cell) = spec.return_cell(k) else {
                        continue;
                    };
                    per_cell.push((cell, e.value()));
                }
                if spec.keeps_anchors() {
                    // Anchor row: period number −1 − (start − cohort start) in µs.
                    let offset = s_r - freq.start_micros(c);
                    acc.entry((c, -1 - offset)).or_insert((0, 0.0)).0 += 1;
                }
                // Cell 0: every member of the cohort; its value is that of period-0 returns.
                let v0: f64 = per_cell.iter().filter(|x| x.0 == 0).map(|x| x.1).sum();
                let e0 = acc.entry((c, 0)).or_insert((0, 0.0));
                e0.0 += 1;
                e0.1 += v0;
                let mut later: Vec<(i64, f64)> =
                    per_cell.iter().filter(|x| x.0 > 0).copied().collect();
                later.sort_unstable_by_key(|x| x.0);
                if spec.min_returns > 1 {
                    later = frequent(&later, spec.min_returns as usize);
                }
                count_member(spec.mode, &later, |cell, n, v| {
                    let e = acc.entry((c, cell)).or_insert((0, 0.0));
                    e.0 += n;
                    e.1 += v;
                });
            }
        },
        |mut a, b| {
            for (k, (n, v)) in b {
                let e = a.entry(k).or_insert((0, 0.0));
                e.0 += n;
                e.1 += v;
            }
            a
        },
    );
    Ok((cells, end, skipped))
}

/// Bytes per input row the per-user bit sets of [`calendar_bits`] may take; wider period
/// ranges or sparser users go through [`calendar_cells`] (about 20 bytes per kept row).
const BITS_BUDGET_PER_ROW: usize = 8;

/// Calendar periods without a value column, streamed: per user, one bit per period of the data
/// for "did a start event" and one for "did a return event", set while the rows are read range
/// by range (atomic OR, so ranges run in parallel), then folded per user. No per-event array
/// of the input is made. None when those bit sets would exceed [`BITS_BUDGET_PER_ROW`].
///
/// The bits lie period by period (a plane of one bit per user for each period and kind): rows
/// come in time order, so a range writes a plane or two that stay in cache whatever the number
/// of users, and threads on different periods write different cache lines. Laid out user by
/// user, every row hit a random place in a table that outgrew the cache at 10⁵–10⁶ users.
pub(super) fn calendar_bits(
    log: &EventLog,
    ent: &Entities,
    flags: RowFlags<'_>,
    default_bits: u8,
    spec: &RetentionSpec,
) -> KpiResult<Option<(Cells, i64, usize)>> {
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
    // Hours go through [`calendar_cells`]: the per-range day cache below reads days.
    let Period::Calendar(freq) = spec.period else {
        return Ok(None);
    };
    // Period range of the data (a bound: null users and filtered events are included).
    let Some((lo_us, hi_us)) = time_bounds(log)? else {
        return Ok(None);
    };
    let (lo, hi) = (freq.ordinal_of_micros(lo_us), freq.ordinal_of_micros(hi_us));
    let n_periods = (hi - lo + 1) as usize;
    let words = n_periods.div_ceil(64);
    let bytes = ent.count.saturating_mul(words * 16);
    if bytes
        > BITS_BUDGET_PER_ROW
            .saturating_mul(log.user.len())
            .max(1 << 20)
    {
        return Ok(None);
    }
    // Plane 2o holds the start bits of period lo + o, plane 2o + 1 its return bits; user e is
    // bit e % 64 of word e / 64 of a plane.
    let plane = ent.count.div_ceil(64);
    let bits: Vec<AtomicU64> = (0..plane * n_periods * 2)
        .map(|_| AtomicU64::new(0))
        .collect();
    let max_ord = AtomicI64::new(i64::MIN);
    let set = |i: usize, m: u64| {
        // Most events repeat a period the user already has: a plain load avoids the locked OR.
        if bits[i].load(Relaxed) & m == 0 {
            bits[i].fetch_or(m, Relaxed);
        }
    };
    // Per range: the last day seen and its period (events come mostly in time order, and a
    // month's ordinal takes a calendar conversion), and the latest period kept.
    let (_, skipped) = scan_rows(
        log,
        ent,
        flags,
        |f| (f | default_bits) != 0,
        |_| (i64::MIN, 0i64, i64::MIN),
        |acc, id, us, f, _| {
            let day = us.div_euclid(US_PER_DAY);
            if day != acc.0 {
                *acc = (day, freq.ordinal_of_day(day) - lo, acc.2);
            }
            let o = acc.1 as usize;
            if acc.1 > acc.2 {
                acc.2 = acc.1;
                max_ord.fetch_max(acc.1, Relaxed);
            }
            let f = f | default_bits;
            let base = 2 * o * plane + id as usize / 64;
            let m = 1u64 << (id % 64);
            if f & 1 != 0 {
                set(base, m);
            }
            if f & 2 != 0 {
                set(base + plane, m);
            }
        },
    )?;
    let max_ord = max_ord.into_inner();
    let end = if max_ord == i64::MIN {
        i64::MIN
    } else {
        freq.start_day(max_ord + lo) * US_PER_DAY
    };
    let bits: Vec<u64> = bits.into_iter().map(AtomicU64::into_inner).collect();
    // Counts per (cohort − lo, cell), dense when small.
    let n_cells = spec.brackets.as_ref().map_or(n_periods, |b| b.len() + 1);
    let dense = n_periods.saturating_mul(n_cells) <= 1 << 16;
    enum Acc {
        Dense(Vec<i64>),
        Map(Cells),
    }
    let add = |acc: &mut Acc, c: usize, cell: i64, n: i64| match acc {
        Acc::Dense(v) => v[c * n_cells + cell as usize] += n,
        Acc::Map(m) => m.entry((c as i64, cell)).or_insert((0, 0.0)).0 += n,
    };
    // A user's start and return bits gathered from the planes (`block`: the planes' words of
    // the user's block of 64) into `u` (start words, then return words).
    let per_user =
        |acc: &mut Acc, later: &mut Vec<(i64, f64)>, block: &[u64], u: &mut [u64], b: usize| {
            u.fill(0);
            for o in 0..n_periods {
                u[o / 64] |= ((block[2 * o] >> b) & 1) << (o % 64);
                u[words + o / 64] |= ((block[2 * o + 1] >> b) & 1) << (o % 64);
            }
            let (starts, returns) = u.split_at(words);
            for c in ones(starts, 0) {
                add(acc, c, 0, 1);
                later.clear();
                later.extend(
                    ones(returns, c + 1)
                        .map_while(|o| spec.return_cell((o - c) as i64))
                        .map(|cell| (cell, 0.0)),
                );
                count_member(spec.mode, later, |cell, n, _| {
                    if n > 0 {
                        add(acc, c, cell, n);
                    }
                });
                if spec.cohort == CohortKind::FirstTime {
                    break;
                }
            }
        };
    let new_acc = || {
        if dense {
            Acc::Dense(vec![0; n_periods * n_cells])
        } else {
            Acc::Map(Cells::new())
        }
    };
    let acc = crate::core::engine::parallel::install(|| {
        use rayon::prelude::*;
        (0..plane)
            .into_par_iter()
            .with_min_len(1 << 8)
            .fold(
                || {
                    (
                        new_acc(),
                        Vec::new(),
                        vec![0u64; 2 * n_periods],
                        vec![0u64; 2 * words],
                    )
                },
                |(mut acc, mut later, mut block, mut u), k| {
                    for (j, w) in block.iter_mut().enumerate() {
                        *w = bits[j * plane + k];
                    }
                    // Users of the block with any bit (ids past the last user have none).
                    let mut present = block.iter().fold(0u64, |a, w| a | w);
                    while present != 0 {
                        let b = present.trailing_zeros() as usize;
                        present &= present - 1;
                        per_user(&mut acc, &mut later, &block, &mut u, b);
                    }
                    (acc, later, block, u)
                },
            )
            .map(|x| x.0)
            .reduce(&new_acc, |a, b| match (a, b) {
                (Acc::Dense(mut x), Acc::Dense(y)) => {
                    x.iter_mut().zip(y).for_each(|(a, b)| *a += b);
                    Acc::Dense(x)
                }
                (Acc::Map(x), Acc::Map(y)) => Acc::Map(merge_cells(x, y)),
                _ => unreachable!("all accumulators are of one kind"),
            })
    });
    let mut cells = Cells::new();
    match acc {
        Acc::Dense(v) => {
            for (i, &n) in v.iter().enumerate().filter(|x| *x.1 > 0) {
                let (c, cell) = (i / n_cells, i % n_cells);
                cells.insert((c as i64 + lo, cell as i64), (n, 0.0));
            }
        }
        Acc::Map(m) => {
            for ((c, cell), x) in m {
                cells.insert((c + lo, cell), x);
            }
        }
    }
    Ok(Some((cells, end, skipped)))
}

/// Positions of the set bits of `words` from `from` on, ascending.
pub(crate) fn ones(words: &[u64], from: usize) -> impl Iterator<Item = usize> + '_ {
    words
        .iter()
        .enumerate()
        .skip(from / 64)
        .flat_map(move |(i, &w)| {
            let w = if i == from / 64 {
                w & (u64::MAX << (from % 64))
            } else {
                w
            };
            BitIter(w).map(move |b| i * 64 + b)
        })
}

struct BitIter(u64);

impl Iterator for BitIter {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if self.0 == 0 {
            return None;
        }
        let b = self.0.trailing_zeros() as usize;
        self.0 &= self.0 - 1;
        Some(b)
    }
}

/// Calendar periods without a value column: only a user's distinct (period, flags) pairs
/// matter, so each event is one u32 `(period − base) << 2 | flags` and a user's events sort
/// and deduplicate as plain integers, six times less memory than the general path.
pub(super) fn calendar_cells(
    log: &EventLog,
    ent: &Entities,
    flags: Option<&[u8]>,
    default_bits: u8,
    spec: &RetentionSpec,
) -> KpiResult<(Cells, i64, usize)> {
    const BASE: i64 = 1 << 29;
    let freq = spec.period;
    let (parts, skipped) = collect_rows(
        log,
        ent,
        flags,
        |f| (f | default_bits) != 0,
        |us, f, _| {
            let o = (freq.ordinal_of_micros(us) + BASE).clamp(0, (1 << 30) - 1) as u32;
            (o << 2) | u32::from(f | default_bits)
        },
    )?;
    let mut max_key = 0u32;
    let mut any = false;
    for p in &parts {
        if let Some(m) = p.vals.iter().max() {
            max_key = max_key.max(*m);
            any = true;
        }
    }
    let end = if any {
        freq.start_micros((max_key >> 2) as i64 - BASE)
    } else {
        i64::MIN
    };
    let (offsets, mut keys) = by_entity(parts, ent.count);
    let cells = fold_entities(
        &offsets,
        &mut keys,
        Cells::new,
        |acc, _, ks| {
            ks.sort_unstable();
            // Distinct periods with their combined flags.
            let mut periods: Vec<(i64, u8)> = Vec::new();
            for &k in ks.iter() {
                let (o, f) = ((k >> 2) as i64 - BASE, (k & 3) as u8);
                match periods.last_mut() {
                    Some(last) if last.0 == o => last.1 |= f,
                    _ => periods.push((o, f)),
                }
            }
            let mut later: Vec<(i64, f64)> = Vec::new();
            for (i, &(c, f)) in periods.iter().enumerate() {
                if f & 1 == 0 {
                    continue;
                }
                acc.entry((c, 0)).or_insert((0, 0.0)).0 += 1;
                later.clear();
                later.extend(
                    periods[i + 1..]
                        .iter()
                        .filter(|p| p.1 & 2 == 2)
                        .map_while(|p| spec.return_cell(p.0 - c))
                        .map(|cell| (cell, 0.0)),
                );
                count_member(spec.mode, &later, |cell, n, _| {
                    acc.entry((c, cell)).or_insert((0, 0.0)).0 += n;
                });
                if spec.cohort == CohortKind::FirstTime {
                    break;
                }
            }
        },
        merge_cells,
    );
    Ok((cells, end, skipped))
}

/// What one cohort member adds to the cells of its cohort, from its returns after period 0:
/// `later` = (cell ≥ 1, value) ascending by cell, a cell repeated per return. `add(cell, users,
/// value)`. Each mode counts the member once per cell it is retained in:
/// - on: every cell with a return;
/// - on_or_after: cells 1..=last return, value of cell j = returns in cells ≥ j;
/// - on_or_before: only the first cell with a return, and each cell's own value — the finish
///   takes running sums over the cells ([`cells_of`]), because the cells a member counts in run
///   to the end of the data, which a partition does not know;
/// - streak: cells 1, 2, … while each has a return.
fn count_member(mode: Mode, later: &[(i64, f64)], mut add: impl FnMut(i64, i64, f64)) {
    let mut distinct: Vec<(i64, f64)> = Vec::with_capacity(later.len());
    for &(cell, v) in later {
        match distinct.last_mut() {
            Some(last) if last.0 == cell => last.1 += v,
            _ => distinct.push((cell, v)),
        }
    }
    match mode {
        Mode::On => distinct.iter().for_each(|&(cell, v)| add(cell, 1, v)),
        Mode::OnOrAfter => {
            if let Some(&(max_cell, _)) = distinct.last() {
                let mut suffix = 0.0;
                let mut i = distinct.len();
                for cell in (1..=max_cell).rev() {
                    while i > 0 && distinct[i - 1].0 >= cell {
                        suffix += distinct[i - 1].1;
                        i -= 1;
                    }
                    add(cell, 1, suffix);
                }
            }
        }
        Mode::OnOrBefore => {
            for (i, &(cell, v)) in distinct.iter().enumerate() {
                add(cell, i64::from(i == 0), v);
            }
        }
        Mode::Streak => {
            for (&(cell, v), want) in distinct.iter().zip(1..) {
                if cell != want {
                    break;
                }
                add(cell, 1, v);
            }
        }
    }
}

/// The returns of `later` (sorted by cell) in cells with at least `n` of them: a period with
/// fewer return events than `min_returns` is not a return (docs/conventions.md#retention).
fn frequent(later: &[(i64, f64)], n: usize) -> Vec<(i64, f64)> {
    later
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|cell| cell.len() >= n)
        .flatten()
        .copied()
        .collect()
}

fn merge_cells(mut a: Cells, b: Cells) -> Cells {
    for (k, (n, v)) in b {
        let e = a.entry(k).or_insert((0, 0.0));
        e.0 += n;
        e.1 += v;
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::kernels::activity::entities::{entities, event_flags};
    use crate::core::kernels::retention::spec::Settings;
    use crate::core::kernels::retention::testing::log;

    fn counts(c: &Cells) -> Vec<((i64, i64), i64)> {
        let mut v: Vec<_> = c
            .iter()
            .filter(|x| x.1 .0 != 0)
            .map(|(k, x)| (*k, x.0))
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn streamed_bits_sorted_keys_and_general_path_agree() {
        // A pseudo-random log over 91 days (two words of bits per user for daily periods).
        let mut x: u64 = 7;
        let mut next = |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        let (mut users, mut days, mut events) = (vec![], vec![], vec![]);
        for _ in 0..400 {
            users.push(next(30) as i64);
            days.push(next(91) as i64);
            events.push(["s", "r", "x"][next(3) as usize]);
        }
        let l = log(users, days, events);
        let ent = entities(&l).unwrap();
        let lists_owned = [
            vec!["s".to_string()],
            vec!["r".to_string(), "s".to_string()],
        ];
        let lists: Vec<&[String]> = lists_owned.iter().map(|v| v.as_slice()).collect();
        let flags = event_flags(l.event.as_ref().unwrap(), &lists).unwrap();
        let row_flags = RowFlags::Lists(l.event.as_ref().unwrap(), &lists);
        for period in [Freq::Day, Freq::Week { week_start: 0 }, Freq::Month] {
            for cohort in ["first_time", "recurring"] {
                for mode in ["on", "on_or_after", "on_or_before", "streak"] {
                    for brackets in [None, Some(vec![1, 2]), Some(vec![3])] {
                        let settings = Settings {
                            cohort: Some(cohort),
                            mode: Some(mode),
                            ..Settings::default()
                        };
                        let spec = RetentionSpec::new(period, brackets, &settings).unwrap();
                        let bits = calendar_bits(&l, &ent, row_flags, 0, &spec)
                            .unwrap()
                            .unwrap();
                        let keys = calendar_cells(&l, &ent, Some(&flags), 0, &spec).unwrap();
                        let general =
                            general_cells(&l, &ent, Some(&flags), 0, None, &spec).unwrap();
                        let what = format!("{period:?} {cohort} {mode} {:?}", spec.brackets);
                        assert_eq!(counts(&bits.0), counts(&keys.0), "{what}");
                        assert_eq!(counts(&bits.0), counts(&general.0), "{what}");
                        assert_eq!(bits.1, keys.1, "{what}");
                    }
                }
            }
        }
    }
}
