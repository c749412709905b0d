//! Deal metrics (`deal_metrics`): deals created, closed, won, lost and open, win and close
//! rates, won revenue and deal size, sales cycle and pipeline velocity per period and segment
//! (docs/conventions.md#deals).
//!
//! The partial state counts deals per (period, segment) slot: `created` in the period of
//! creation, `closed_at` in the period of closing (for the open balance, whatever the cohort),
//! `closed`/`won`/`lost` and the lists of won amounts and cycles in the cohort's period. Deals
//! are read block by block (the biggest tables of the family) with a day → period table and a
//! (period, segment) → slot table, so a time costs two reads of small tables.

use std::ops::Range;

use arrow::array::{Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch};
use arrow::buffer::NullBuffer;

use crate::core::engine::groups::group_ids;
use crate::core::engine::state::Analysis;
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::time::{local_micros, Freq, Unit, Zone, US_PER_DAY};
use crate::core::input::{check_same_len, f64_chunks, Column};

use super::acc::{Acc, Layout, Rule, Rules};
use super::finish::{durations, f64_col, i64_col, lay_out, rates};
use super::merge::merge_states;
use super::partial::{key, partial_state, Common, Part};
use super::read::{bool_chunk, fmt_us, read_f64};

/// In which period a closed deal's outcome, amount and cycle count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cohort {
    /// The period it closed (the default).
    Closed,
    /// The period it was created.
    Created,
}

/// Which deals the sales cycle is measured over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleOf {
    /// Won deals (the default).
    Won,
    /// Every closed deal, won or lost.
    Closed,
}

impl Cohort {
    pub fn parse(s: &str) -> KpiResult<Cohort> {
        match s {
            "closed" => Ok(Cohort::Closed),
            "created" => Ok(Cohort::Created),
            _ => Err(KpiError::param(
                "cohort",
                format!("{s:?} is not one of \"closed\", \"created\""),
            )),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Cohort::Closed => "closed",
            Cohort::Created => "created",
        }
    }
}

impl CycleOf {
    pub fn parse(s: &str) -> KpiResult<CycleOf> {
        match s {
            "won" => Ok(CycleOf::Won),
            "closed" => Ok(CycleOf::Closed),
            _ => Err(KpiError::param(
                "cycle_of",
                format!("{s:?} is not one of \"won\", \"closed\""),
            )),
        }
    }

    fn label(self) -> &'static str {
        match self {
            CycleOf::Won => "won",
            CycleOf::Closed => "closed",
        }
    }
}

/// The columns and settings of [`DealMetrics`].
#[derive(Debug, Clone, Copy)]
pub struct Deals<'a> {
    pub created: &'a Column,
    pub closed: &'a Column,
    pub amount: &'a Column,
    pub won: &'a Column,
    /// Deal ids: when given, every row must have one and no id may repeat.
    pub deal: Option<&'a Column>,
    pub cohort: Cohort,
    pub cycle_of: CycleOf,
    pub unit: Unit,
    pub common: Common<'a>,
}

/// Deal metrics per (period, rep, segments…) group.
pub struct DealMetrics;

const LAYOUT: Layout = Layout {
    counts: &["created", "closed_at", "closed", "won", "lost"],
    sums: &[],
    lists: &["won_amounts", "cycle_micros"],
};

impl Analysis for DealMetrics {
    const NAME: &'static str = "deal_metrics";
    type Input<'a> = Deals<'a>;

    fn partial(d: &Deals<'_>) -> KpiResult<RecordBatch> {
        let n = d.created.len();
        check_same_len(
            d.created,
            [d.closed, d.amount, d.won].into_iter().chain(d.deal),
        )?;
        let duplicate = d.deal.map(duplicate_deals).transpose()?;
        let settings = vec![
            (key(Self::NAME, "cohort"), d.cohort.label().to_string()),
            (key(Self::NAME, "cycle_of"), d.cycle_of.label().to_string()),
            (key(Self::NAME, "unit"), d.unit.label().to_string()),
        ];
        partial_state(
            Self::NAME,
            &LAYOUT,
            &d.common,
            n,
            settings,
            |r, seg, n_seg| {
                deals_part(
                    d,
                    r.clone(),
                    seg,
                    n_seg,
                    duplicate.as_deref().map(|x| &x[r]),
                )
            },
        )
    }

    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        merge_states(states, Self::NAME)
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        let laid = lay_out(state, Self::NAME, &LAYOUT)?;
        let unit = Unit::parse(&laid.setting("unit")?)?;
        let created = laid.counts("created")?;
        let closed_at = laid.counts("closed_at")?;
        let closed = laid.counts("closed")?;
        let won = laid.counts("won")?;
        let lost = laid.counts("lost")?;
        let delta: Vec<i64> = created.iter().zip(&closed_at).map(|(a, b)| a - b).collect();
        let open = laid.running(&delta);
        let amounts = laid.summary("won_amounts")?;
        let cycles = laid.summary("cycle_micros")?;
        let win_rate = rates(&won, &closed);
        let close_rate = rates(&won, &created);
        let avg: Vec<Option<f64>> = amounts.iter().map(|s| s.mean()).collect();
        // Velocity is per day whatever `unit` the cycle columns are in.
        let velocity: Vec<Option<f64>> = (0..open.len())
            .map(|i| match (avg[i], win_rate[i], cycles[i].mean()) {
                (Some(a), Some(w), Some(c)) if c > 0.0 => {
                    Some(open[i] as f64 * a * w / (c / US_PER_DAY as f64))
                }
                _ => None,
            })
            .collect();
        let mut out: Vec<(String, ArrayRef)> = vec![
            ("deals_created".into(), i64_col(created)),
            ("deals_closed".into(), i64_col(closed)),
            ("deals_won".into(), i64_col(won)),
            ("deals_lost".into(), i64_col(lost)),
            ("deals_open".into(), i64_col(open)),
            ("win_rate".into(), f64_col(win_rate)),
            ("close_rate".into(), f64_col(close_rate)),
            (
                "won_revenue".into(),
                std::sync::Arc::new(Float64Array::from_iter_values(
                    amounts.iter().map(|s| s.sum),
                )),
            ),
            ("avg_deal_size".into(), f64_col(avg)),
            (
                "median_deal_size".into(),
                f64_col(amounts.iter().map(|s| s.median).collect()),
            ),
        ];
        out.extend(durations("sales_cycle", &cycles, unit));
        out.push(("pipeline_velocity".into(), f64_col(velocity)));
        laid.batch(out)
    }
}

/// Accumulate the deals of rows `r` (`seg`: their segment ids, out of `n_segments`).
fn deals_part(
    d: &Deals,
    r: Range<usize>,
    seg: &[u32],
    n_segments: usize,
    duplicate: Option<&[bool]>,
) -> KpiResult<(Acc, usize)> {
    let rules: [Rule; 7] = [
        (
            Some(d.created),
            "created",
            "created times must not be missing",
        ),
        (
            Some(d.closed),
            "closed",
            "a deal cannot close before it was created",
        ),
        (
            Some(d.won),
            "won",
            "an open deal (closed missing) cannot be won",
        ),
        (Some(d.won), "won", "a closed deal needs won true or false"),
        (Some(d.amount), "amount", "amounts must not be negative"),
        (Some(d.amount), "amount", "a won deal needs an amount"),
        (
            d.deal,
            "deal",
            "deal ids must be present and unique (this row repeats an earlier deal)",
        ),
    ];
    let offset = r.start;
    let mut p = Part::new(&LAYOUT, &d.common, r.clone(), &rules);
    let n = p.n;
    // The slot table grows to the periods met, block by block.
    p.acc.grow_dense(n_segments);
    let zone = d.common.zone;
    let mut slots = DayPeriods::default();
    // Room for a listed value per row, so the lists never move as they grow (room a part
    // does not fill is never written, so never paged in).
    for l in &mut p.acc.lists {
        l.slots.reserve(n);
        l.values.reserve(n);
    }
    let cols = [d.created, d.closed, d.amount, d.won].map(|c| c.slice(r.start, n));
    let cols = [&cols[0], &cols[1], &cols[2], &cols[3]];
    // Blocks end where any column's chunk ends, so a block reads one array per column, and
    // are small enough that what is read stays in cache.
    let mut cuts: Vec<usize> = cols.iter().flat_map(|c| c.offsets()).collect();
    cuts.push(n);
    cuts.sort_unstable();
    cuts.dedup();
    let mut start = 0;
    for cut in cuts {
        while start < cut {
            let len = DEAL_BLOCK.min(cut - start);
            let at = |e: KpiError| e.at_offset(offset + start);
            let one = |c: &Column| c.slice(start, len);
            let times = |c: &Column| -> KpiResult<(Int64Array, Int64Array)> {
                let utc = local_micros(&one(c), Zone::Utc).map_err(at)?.remove(0);
                // Zone-aware instants compare in UTC; periods are the zone's wall-clock days.
                let local = if zone == Zone::Utc {
                    utc.clone()
                } else {
                    local_micros(&one(c), zone).map_err(at)?.remove(0)
                };
                Ok((utc, local))
            };
            let (created, created_local) = times(cols[0])?;
            let (closed, closed_local) = times(cols[1])?;
            let amount = f64_chunks(&one(cols[2]))?.remove(0);
            if amount.values().iter().any(|v| v.is_infinite()) {
                // Same check and message as every other measure (read_f64).
                read_f64(&one(cols[2])).map_err(at)?;
            }
            let won = bool_chunk(&cols[3].name, &one(cols[3]).chunks[0]).map_err(at)?;
            let block = DealBlock {
                created: &created,
                closed: &closed,
                created_local: &created_local,
                closed_local: &closed_local,
                amount: &amount,
                won: &won,
            };
            deals_block(
                d,
                duplicate,
                &seg[start..start + len],
                &mut p.acc,
                &mut p.rules,
                start,
                &block,
                &mut slots,
            );
            start += len;
        }
    }
    p.done()
}

/// One block of deals as Arrow arrays (one each; times in microseconds, UTC and local).
struct DealBlock<'a> {
    created: &'a Int64Array,
    closed: &'a Int64Array,
    created_local: &'a Int64Array,
    closed_local: &'a Int64Array,
    amount: &'a Float64Array,
    won: &'a BooleanArray,
}

const DEAL_BLOCK: usize = 1 << 13;

/// The period of every local day met so far in a part, so that a time costs a table read for
/// its period and one for the (period, segment) slot ([`Acc::slot`]) instead of calendar
/// arithmetic. The table holds 8 bytes a day (years of days stay in cache, whatever the
/// number of reps); days spanning more than [`DayPeriods::MAX_DAYS`] are not kept (each such
/// time is computed in full).
#[derive(Default)]
struct DayPeriods {
    lo: i64,
    /// Period of day `lo + k`, `i64::MIN` until met.
    ords: Vec<i64>,
}

impl DayPeriods {
    const MAX_DAYS: usize = 1 << 22;

    #[inline]
    fn slot(&mut self, acc: &mut Acc, freq: Option<Freq>, local_us: i64, seg: u32) -> usize {
        let day = local_us.div_euclid(US_PER_DAY);
        let k = day.wrapping_sub(self.lo) as usize;
        if k < self.ords.len() {
            let ord = self.ords[k];
            if ord != i64::MIN {
                return acc.slot(ord, seg);
            }
        }
        let ord = self.period(freq, day);
        acc.slot(ord, seg)
    }

    #[cold]
    #[inline(never)]
    fn period(&mut self, freq: Option<Freq>, day: i64) -> i64 {
        let ord = freq.map_or(0, |f| f.ordinal_of_day(day));
        let k = day.wrapping_sub(self.lo) as usize;
        if k >= self.ords.len() {
            // Room for a few more weeks each way, so days met in random order rarely
            // rebuild the table.
            let (lo, hi) = if self.ords.is_empty() {
                (day - 32, day + 32)
            } else {
                (
                    day.min(self.lo) - 32,
                    day.max(self.lo + self.ords.len() as i64 - 1) + 32,
                )
            };
            let days = (hi - lo + 1) as usize;
            if days > Self::MAX_DAYS {
                return ord;
            }
            let mut ords = vec![i64::MIN; days];
            if !self.ords.is_empty() {
                let at = (self.lo - lo) as usize;
                ords[at..at + self.ords.len()].copy_from_slice(&self.ords);
            }
            *self = DayPeriods { lo, ords };
        }
        self.ords[(day - self.lo) as usize] = ord;
        ord
    }
}

/// Count one block of deals (`start` = the block's first row within the part). Rows are
/// checked with one test for "any rule broken" and counted without branching on open, won
/// or lost (those branches follow the data and mispredict): counters of rows that do not
/// apply are added 0, and every row's values are written to the lists, kept only when listed.
#[allow(clippy::too_many_arguments)]
fn deals_block(
    d: &Deals,
    duplicate: Option<&[bool]>,
    seg: &[u32],
    acc: &mut Acc,
    rules: &mut Rules,
    start: usize,
    rows: &DealBlock,
    slots: &mut DayPeriods,
) {
    let freq = d.common.freq;
    let by_created = d.cohort == Cohort::Created;
    let cycle_of_closed = d.cycle_of == CycleOf::Closed;
    let (c_nulls, x_nulls) = (rows.created.nulls(), rows.closed.nulls());
    let (w_nulls, a_nulls) = (rows.won.nulls(), rows.amount.nulls());
    let valid = |n: Option<&NullBuffer>, j: usize| n.is_none_or(|n| n.is_valid(j));
    let (created, closed) = (rows.created.values(), rows.closed.values());
    let (created_local, closed_local) = (rows.created_local.values(), rows.closed_local.values());
    let amounts = rows.amount.values();
    let won_bits = rows.won.values();
    let nc = acc.n_counts;
    // Values are written straight into the part's lists (room for every row of the block,
    // cut back to the rows listed afterwards), not gathered in a buffer and copied there.
    let mut lists = std::mem::take(&mut acc.lists);
    let [amount_list, cycle_list] = &mut lists[..] else {
        unreachable!("the deals layout has two lists")
    };
    let (mut n_won, mut n_cycles) = (amount_list.values.len(), cycle_list.values.len());
    amount_list.slots.resize(n_won + seg.len(), 0);
    amount_list.values.resize(n_won + seg.len(), 0.0);
    cycle_list.slots.resize(n_cycles + seg.len(), 0);
    cycle_list.values.resize(n_cycles + seg.len(), 0.0);
    for (j, &g) in seg.iter().enumerate() {
        let c_ok = valid(c_nulls, j);
        let x_ok = valid(x_nulls, j);
        let w_ok = valid(w_nulls, j);
        let w = w_ok && won_bits.value(j);
        let a = amounts[j];
        let a_ok = valid(a_nulls, j) && !a.is_nan();
        let (c, x) = (created[j], closed[j]);
        let broken = !c_ok
            | (x_ok & (x < c))
            | (!x_ok & w)
            | (x_ok & !w_ok)
            | (a_ok & (a < 0.0))
            | (w & !a_ok);
        if broken || duplicate.is_some_and(|d| d[start + j]) {
            deal_rule(rules, start + j, (c_ok, c), (x_ok, x), (w_ok, w), (a_ok, a));
            continue;
        }
        let at_created = slots.slot(acc, freq, created_local[j], g);
        // An open deal's "closed" slot is its created one; its counts there add 0.
        let closed_us = if x_ok {
            closed_local[j]
        } else {
            created_local[j]
        };
        let at_closed = slots.slot(acc, freq, closed_us, g);
        let at = if by_created { at_created } else { at_closed };
        let (closed_n, won_n) = (i64::from(x_ok), i64::from(w));
        let counts = &mut acc.counts;
        counts[at_created * nc] += 1;
        counts[at_closed * nc + 1] += closed_n;
        counts[at * nc + 2] += closed_n;
        counts[at * nc + 3] += won_n;
        counts[at * nc + 4] += closed_n - won_n;
        // Cycles are listed in microseconds (whole numbers: their sums are exact); an open
        // deal's `closed` value is whatever the null slot holds, written but not listed.
        amount_list.slots[n_won] = at as u32;
        amount_list.values[n_won] = a;
        n_won += usize::from(w);
        cycle_list.slots[n_cycles] = at as u32;
        cycle_list.values[n_cycles] = x.wrapping_sub(c) as f64;
        n_cycles += usize::from(w | (cycle_of_closed & x_ok));
    }
    amount_list.slots.truncate(n_won);
    amount_list.values.truncate(n_won);
    cycle_list.slots.truncate(n_cycles);
    cycle_list.values.truncate(n_cycles);
    acc.lists = lists;
}

/// The rule a deal breaks (rules in the order [`deals_part`] lists them), recorded.
fn deal_rule(
    rules: &mut Rules,
    i: usize,
    (c_ok, c): (bool, i64),
    (x_ok, x): (bool, i64),
    (w_ok, w): (bool, bool),
    (a_ok, a): (bool, f64),
) {
    if !c_ok {
        rules.bad(0, i, || "missing".into());
    } else if x_ok && x < c {
        rules.bad(1, i, || format!("{} < created {}", fmt_us(x), fmt_us(c)));
    } else if !x_ok && w {
        rules.bad(2, i, || "true".into());
    } else if x_ok && !w_ok {
        rules.bad(3, i, || "missing".into());
    } else if a_ok && a < 0.0 {
        rules.bad(4, i, || format!("{a}"));
    } else if w && !a_ok {
        rules.bad(5, i, || "missing".into());
    } else {
        rules.bad(6, i, || "repeated".into());
    }
}

/// Rows (global positions) that repeat an earlier deal id or have none.
fn duplicate_deals(col: &Column) -> KpiResult<Vec<bool>> {
    let g = group_ids(std::slice::from_ref(col))?;
    let mut seen = vec![false; g.len()];
    let mut nulls = vec![false; col.len()];
    let mut at = 0;
    for c in &col.chunks {
        if c.null_count() > 0 {
            for i in 0..c.len() {
                nulls[at + i] = c.is_null(i);
            }
        }
        at += c.len();
    }
    Ok(g.ids
        .iter()
        .zip(nulls)
        .map(|(&id, null)| {
            let dup = seen[id as usize];
            seen[id as usize] = true;
            dup || null
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::engine::analyses;
    use crate::core::engine::state::{meta, Invalid};
    use crate::core::input::Table;
    use arrow::array::{AsArray, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType, Field, Float64Type, Schema};
    use std::sync::Arc;

    const DAY: i64 = US_PER_DAY;

    fn deals_table(rows: &[(i64, Option<i64>, f64, Option<bool>)], owners: &[&str]) -> Table {
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "created",
                DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
                true,
            ),
            Field::new(
                "closed",
                DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
                true,
            ),
            Field::new("amount", DataType::Float64, true),
            Field::new("won", DataType::Boolean, true),
            Field::new("owner", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(TimestampMicrosecondArray::from(
                    rows.iter().map(|r| r.0 * DAY).collect::<Vec<_>>(),
                )),
                Arc::new(TimestampMicrosecondArray::from(
                    rows.iter()
                        .map(|r| r.1.map(|d| d * DAY))
                        .collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(
                    rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                )),
                Arc::new(BooleanArray::from(
                    rows.iter().map(|r| r.3).collect::<Vec<_>>(),
                )),
                Arc::new(arrow::array::StringArray::from(owners.to_vec())),
            ],
        )
        .unwrap();
        Table::from_batches(vec![batch], &schema)
    }

    /// The partial state of `t` (columns created, closed, amount, won; `segments` of it).
    fn state(
        t: &Table,
        freq: Option<Freq>,
        segments: &[&str],
        invalid: Invalid,
    ) -> KpiResult<RecordBatch> {
        let cols: Vec<Column> = ["created", "closed", "amount", "won"]
            .iter()
            .map(|c| t.column(c).unwrap())
            .collect();
        let segs: Vec<Column> = segments.iter().map(|c| t.column(c).unwrap()).collect();
        DealMetrics::partial(&Deals {
            created: &cols[0],
            closed: &cols[1],
            amount: &cols[2],
            won: &cols[3],
            deal: None,
            cohort: Cohort::Closed,
            cycle_of: CycleOf::Won,
            unit: Unit::Days,
            common: Common {
                segments: &segs,
                freq,
                zone: Zone::Utc,
                invalid,
            },
        })
    }

    fn f64s(b: &RecordBatch, name: &str) -> Vec<Option<f64>> {
        b.column_by_name(name)
            .unwrap()
            .as_primitive::<Float64Type>()
            .iter()
            .collect()
    }

    #[test]
    fn published_velocity_example() {
        // 40 open × 25,000 average won deal × 25 % win rate / 90-day cycle = 2,777.78 per day.
        let mut rows = vec![(0, None, 1.0, None); 40];
        rows.push((0, Some(90), 25_000.0, Some(true)));
        rows.extend(vec![(0, Some(10), 1.0, Some(false)); 3]);
        let owners = vec!["a"; rows.len()];
        let st = state(&deals_table(&rows, &owners), None, &[], Invalid::Raise).unwrap();
        let out = DealMetrics::finish(&st).unwrap();
        let v = f64s(&out, "pipeline_velocity")[0].unwrap();
        assert!((v - 2_777.777_777_8).abs() < 1e-6, "{v}");
        assert_eq!(f64s(&out, "win_rate"), vec![Some(0.25)]);
    }

    #[test]
    fn merged_partitions_equal_one_pass_exactly() {
        let rows: Vec<(i64, Option<i64>, f64, Option<bool>)> = (0..500)
            .map(|i: i64| {
                let closed = (i % 4 != 0).then_some(i + (i * 37) % 150);
                let won = closed.map(|_| i % 3 == 0);
                (i, closed, 0.1 * (i * 7 % 113) as f64, won)
            })
            .collect();
        let owners: Vec<&str> = (0..500).map(|i| ["x", "y", "z"][i % 3]).collect();
        let sp = |t: &Table| state(t, Some(Freq::Quarter), &["owner"], Invalid::Raise).unwrap();
        let whole = DealMetrics::finish(&sp(&deals_table(&rows, &owners))).unwrap();
        let parts: Vec<RecordBatch> = [(0, 120), (120, 120), (120, 240), (240, 500)]
            .iter()
            .map(|&(a, b)| sp(&deals_table(&rows[a..b], &owners[a..b])))
            .rev()
            .collect();
        let merged = DealMetrics::finish(&DealMetrics::merge(&parts).unwrap()).unwrap();
        // The same through the registry, which dispatches on the state's analysis name.
        let by_name = analyses::finish(&analyses::merge(&parts).unwrap()).unwrap();
        for (i, f) in whole.schema().fields().iter().enumerate() {
            assert_eq!(whole.column(i), merged.column(i), "{}", f.name());
            assert_eq!(whole.column(i), by_name.column(i), "{}", f.name());
        }
    }

    #[test]
    fn row_ranges_with_segments_first_met_late_equal_merged_partitions() {
        // Over 2 row ranges of deals; owner "late" first appears in the last range and "rare"
        // only on every 50,000th row, so ranges meet segments in different orders. Amounts
        // are quarters, so every sum is exact in any order.
        let n = 300_000i64;
        let rows: Vec<(i64, Option<i64>, f64, Option<bool>)> = (0..n)
            .map(|i| {
                let created = (i * 7919) % 700;
                let closed = (i % 5 != 0).then_some(created + (i * 31) % 200);
                (
                    created,
                    closed,
                    0.25 * ((i * 13) % 4000) as f64,
                    closed.map(|_| i % 3 == 0),
                )
            })
            .collect();
        let owners: Vec<&str> = (0..n)
            .map(|i| match i {
                _ if i % 50_000 == 7 => "rare",
                _ if i > 280_000 && i % 2 == 0 => "late",
                _ => ["x", "y", "z"][(i % 3) as usize],
            })
            .collect();
        let sp = |t: &Table| state(t, Some(Freq::Month), &["owner"], Invalid::Raise).unwrap();
        let whole = sp(&deals_table(&rows, &owners));
        let parts: Vec<RecordBatch> = [(0, 100_000), (100_000, 300_000)]
            .iter()
            .map(|&(a, b)| sp(&deals_table(&rows[a..b], &owners[a..b])))
            .collect();
        let (whole, merged) = (
            DealMetrics::finish(&whole).unwrap(),
            DealMetrics::finish(&DealMetrics::merge(&parts).unwrap()).unwrap(),
        );
        assert_eq!(whole.num_rows(), merged.num_rows());
        for (i, f) in whole.schema().fields().iter().enumerate() {
            assert_eq!(whole.column(i), merged.column(i), "{}", f.name());
        }
        let owner = whole.column_by_name("owner").unwrap().as_string::<i32>();
        let late = (0..whole.num_rows())
            .filter(|&r| owner.value(r) == "late")
            .count();
        assert!(late > 0);
    }

    #[test]
    fn rules_name_column_and_rows() {
        let rows = vec![(5, Some(4), 1.0, Some(true)), (1, None, 1.0, Some(true))];
        let t = deals_table(&rows, &["a", "a"]);
        let err = state(&t, None, &[], Invalid::Raise)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("column \"closed\": a deal cannot close before it was created"),
            "{err}"
        );
        let st = state(&t, None, &[], Invalid::Skip).unwrap();
        assert_eq!(st.schema().metadata()[meta::SKIPPED_ROWS], "2");
    }

    #[test]
    fn day_periods_grow_both_ways_and_keep_what_they_met() {
        let mut acc = Acc::new(&LAYOUT);
        acc.grow_dense(1);
        let mut days = DayPeriods::default();
        let q = Some(Freq::Quarter);
        // Days met in no order, far apart (table rebuilt each way) and again.
        let order = [400i64, 10, 3_000, -800, 401, 10, 3_000, -800, 0];
        let slots: Vec<usize> = order
            .iter()
            .map(|&d| days.slot(&mut acc, q, d * DAY + 5, 0))
            .collect();
        for (i, &d) in order.iter().enumerate() {
            let want = Freq::Quarter.ordinal_of_day(d);
            assert_eq!(acc.keys[slots[i]], (want, 0), "day {d}");
        }
        assert_eq!(slots[1], slots[5]);
        assert_eq!(slots[0], slots[4]); // days 400 and 401: one quarter
    }

    #[test]
    fn another_analysis_refuses_a_deals_state() {
        let rows = vec![(0, Some(3), 1.0, Some(true))];
        let st = state(&deals_table(&rows, &["a"]), None, &[], Invalid::Raise).unwrap();
        let e = super::super::leads::LeadMetrics::finish(&st)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a lead_metrics state"), "{e}");
    }

    #[test]
    fn won_outside_zero_and_one_is_refused() {
        let c = Column::from_array(
            "won",
            Arc::new(arrow::array::Int64Array::from(vec![
                Some(1),
                None,
                Some(0),
                Some(2),
            ])),
        );
        let e = bool_chunk("won", &c.chunks[0]).unwrap_err().to_string();
        assert!(
            e.contains("\"won\"") && e.contains("0/1") && e.contains("2"),
            "{e}"
        );
        let c = Column::from_array(
            "won",
            Arc::new(Float64Array::from(vec![1.0, f64::NAN, 0.0])),
        );
        let b = bool_chunk("won", &c.chunks[0]).unwrap();
        assert_eq!(
            b.iter().collect::<Vec<_>>(),
            vec![Some(true), None, Some(false)]
        );
    }
}
