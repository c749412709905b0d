//! The event matcher: one user's sorted events against the steps, as attempts
//! (docs/conventions.md#funnels).

use std::collections::HashMap;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};

use super::rules::{Count, Order, MAX_STEPS};
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::Column;

/// One event of a user, as the matcher sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ev {
    pub t: i64,
    pub steps: u32,
    pub excl: u32,
    pub row: u32,
    /// Whether an attempt may start here (the event is inside the funnel's date range).
    pub entry: bool,
}

/// One attempt through the funnel from an entry event.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub reached: usize,
    pub times: [i64; MAX_STEPS],
    pub rows: [u32; MAX_STEPS],
    /// Named step filled at each position (differs from the position only in any order).
    pub filled: [u8; MAX_STEPS],
    pub excluded: bool,
    /// Index (in the user's events) where a following attempt may start.
    pub next: usize,
    /// Whether the window, not the end of the events, stopped the attempt.
    pub window_limited: bool,
}

pub(crate) struct Matcher {
    pub n: usize,
    pub order: Order,
    pub window: Option<i64>,
    /// Bit mask of exclusions open while `k` steps are filled.
    pub open: Vec<u32>,
}

impl Matcher {
    /// Steps an attempt may start at: step 1, or any step in an unordered funnel.
    fn entry(&self) -> u32 {
        match self.order {
            Order::Unordered => u32::MAX,
            _ => 1,
        }
    }

    fn attempt(&self, ev: &[Ev], start: usize) -> Attempt {
        let n = self.n;
        // The entry event fills its lowest step that can start (always step 1 unless unordered).
        let first = (ev[start].steps & self.entry()).trailing_zeros() as usize;
        let t0 = ev[start].t;
        let deadline = self.window.map_or(i64::MAX, |w| t0.saturating_add(w));
        let mut a = Attempt {
            reached: 1,
            times: [0; MAX_STEPS],
            rows: [0; MAX_STEPS],
            filled: [0; MAX_STEPS],
            excluded: false,
            next: ev.len(),
            window_limited: false,
        };
        a.times[0] = t0;
        a.rows[0] = ev[start].row;
        a.filled[0] = first as u8;
        let mut done_mask: u32 = 1 << first;
        let mut last_used = start;
        for (j, e) in ev.iter().enumerate().skip(start + 1) {
            if a.reached == n {
                break;
            }
            if e.t > deadline {
                a.window_limited = true;
                a.next = j;
                break;
            }
            let k = a.reached;
            let fill = match self.order {
                Order::Ordered | Order::Strict => (e.steps >> k) & 1 == 1,
                Order::AnyAfterFirst | Order::Unordered => e.steps & !done_mask != 0,
            };
            if fill {
                let step = match self.order {
                    Order::AnyAfterFirst | Order::Unordered => {
                        (e.steps & !done_mask).trailing_zeros() as usize
                    }
                    _ => k,
                };
                done_mask |= 1 << step;
                a.times[k] = e.t;
                a.rows[k] = e.row;
                a.filled[k] = step as u8;
                a.reached += 1;
                last_used = j;
                continue;
            }
            if e.excl & self.open[k] != 0 {
                a.excluded = true;
                a.next = j + 1;
                return a;
            }
            if self.order == Order::Strict {
                // Any other event of the user between two steps ends a strict attempt.
                a.next = j;
                return a;
            }
        }
        if a.reached == n {
            a.next = last_used + 1;
        }
        a
    }

    /// The journeys of one user (at most one with uniques).
    pub fn user(&self, ev: &[Ev], count: Count, out: &mut Vec<Attempt>) {
        let entry = self.entry();
        match count {
            Count::Uniques => {
                let mut best: Option<Attempt> = None;
                for i in 0..ev.len() {
                    if ev[i].steps & entry == 0 || !ev[i].entry {
                        continue;
                    }
                    let a = self.attempt(ev, i);
                    if a.excluded {
                        continue;
                    }
                    let stop =
                        a.reached == self.n || (self.order == Order::Ordered && !a.window_limited);
                    // The attempt that gets furthest; the earliest of equals.
                    if best.as_ref().is_none_or(|b| a.reached > b.reached) {
                        best = Some(a);
                    }
                    if stop {
                        break;
                    }
                }
                out.extend(best);
            }
            Count::Totals => {
                let mut pos = 0;
                while let Some(i) =
                    (pos..ev.len()).find(|&i| ev[i].steps & entry != 0 && ev[i].entry)
                {
                    let a = self.attempt(ev, i);
                    // A new attempt starts after this one ended: converted, timed out or
                    // excluded; without a window an unfinished attempt never ends.
                    let ended = a.reached == self.n
                        || a.excluded
                        || a.window_limited
                        || self.order == Order::Strict;
                    let next = if ended { a.next.max(i + 1) } else { ev.len() };
                    if !a.excluded {
                        out.push(a);
                    }
                    pos = next;
                }
            }
        }
    }
}

/// Step and exclusion masks for every row of the event column.
pub(crate) fn event_masks(
    col: &Column,
    lookup: &HashMap<String, (u32, u32)>,
) -> KpiResult<(Vec<u32>, Vec<u32>)> {
    let mut steps = Vec::with_capacity(col.len());
    let mut excl = Vec::with_capacity(col.len());
    for chunk in &col.chunks {
        match chunk.data_type() {
            DataType::Dictionary(_, _) => {
                let dict = chunk.as_any_dictionary();
                let values = cast(dict.values(), &DataType::Utf8)?;
                let values = values.as_string::<i32>();
                let masks: Vec<(u32, u32)> = (0..values.len())
                    .map(|i| {
                        if values.is_null(i) {
                            (0, 0)
                        } else {
                            lookup.get(values.value(i)).copied().unwrap_or((0, 0))
                        }
                    })
                    .collect();
                let keys = cast(dict.keys(), &DataType::Int64)?;
                let keys = keys.as_primitive::<Int64Type>();
                for i in 0..keys.len() {
                    // `get`: a key outside the dictionary (an invalid array) matches no step.
                    let m = if keys.is_valid(i) {
                        usize::try_from(keys.value(i))
                            .ok()
                            .and_then(|k| masks.get(k).copied())
                            .unwrap_or((0, 0))
                    } else {
                        (0, 0)
                    };
                    steps.push(m.0);
                    excl.push(m.1);
                }
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
                let a = cast(chunk, &DataType::Utf8)?;
                let a = a.as_string::<i32>();
                for i in 0..a.len() {
                    let m = if a.is_valid(i) {
                        lookup.get(a.value(i)).copied().unwrap_or((0, 0))
                    } else {
                        (0, 0)
                    };
                    steps.push(m.0);
                    excl.push(m.1);
                }
            }
            // An empty or all-missing column (e.g. an empty pandas object column) matches nothing.
            _ if chunk.null_count() == chunk.len() => {
                steps.extend(std::iter::repeat_n(0, chunk.len()));
                excl.extend(std::iter::repeat_n(0, chunk.len()));
            }
            other => {
                return Err(KpiError::wrong_type(
                    &col.name,
                    "strings (event names)",
                    other,
                ));
            }
        }
    }
    Ok((steps, excl))
}
