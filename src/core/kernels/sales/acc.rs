//! The accumulator of one part of a table: counts, sums and value lists per (period,
//! segment) slot, and the rule violations met on the way (docs/conventions.md#sales-marketing-and-support).

use hashbrown::HashMap;

use crate::core::engine::state::Invalid;
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::Column;

use super::read::{Times, NONE};

/// The state's value columns of one analysis: counts (Int64, added on merge), sums (Float64,
/// added on merge) and value lists (List<Float64>, concatenated on merge).
pub(crate) struct Layout {
    pub counts: &'static [&'static str],
    pub sums: &'static [&'static str],
    pub lists: &'static [&'static str],
}

/// Values of one part gathered per (period ordinal, segment group) slot.
pub(crate) struct Acc {
    pub n_counts: usize,
    pub n_sums: usize,
    index: HashMap<(i64, u32), u32>,
    /// Slot per (period − lo) × segments + segment when the part's periods span a short range.
    dense: Option<(i64, usize, Vec<u32>)>,
    pub keys: Vec<(i64, u32)>,
    pub counts: Vec<i64>,
    pub sums: Vec<f64>,
    /// Per list column: the (slot, value) pairs in the order met, as two flat vectors (no
    /// vector per slot to grow; the state groups them by slot once, in `partial`).
    pub lists: Vec<ListValues>,
}

/// The values of one list column of a part and the slot of each.
#[derive(Default)]
pub(crate) struct ListValues {
    pub slots: Vec<u32>,
    pub values: Vec<f64>,
    /// The values of parts absorbed later (their slots renumbered to this part's), kept as
    /// they are rather than copied onto the end: the state groups them by slot in one go.
    pub more: Vec<ListValues>,
}

impl ListValues {
    /// This part's (slots, values) and those of the parts absorbed into it, in order.
    pub(crate) fn pieces(&self) -> impl Iterator<Item = (&[u32], &[f64])> {
        std::iter::once((&self.slots[..], &self.values[..]))
            .chain(self.more.iter().map(|m| (&m.slots[..], &m.values[..])))
    }
}

impl Acc {
    pub(crate) fn new(layout: &Layout) -> Acc {
        Acc {
            n_counts: layout.counts.len(),
            n_sums: layout.sums.len(),
            index: HashMap::new(),
            dense: None,
            keys: Vec::new(),
            counts: Vec::new(),
            sums: Vec::new(),
            lists: std::iter::repeat_with(ListValues::default)
                .take(layout.lists.len())
                .collect(),
        }
    }

    /// Look slots up in a table instead of hashing when periods span `lo..=hi` with few segments.
    pub(crate) fn prepare(&mut self, times: &[&Times], n_segments: usize) {
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for t in times {
            for &o in &t.ord {
                if o != NONE {
                    lo = lo.min(o);
                    hi = hi.max(o);
                }
            }
        }
        if lo <= hi && (hi - lo + 1).saturating_mul(n_segments as i64) <= 1 << 22 {
            let size = (hi - lo + 1) as usize * n_segments;
            self.dense = Some((lo, n_segments, vec![u32::MAX; size]));
        }
    }

    /// A dense slot table that grows to the periods it meets (for parts read block by block,
    /// whose period range is not known up front).
    pub(crate) fn grow_dense(&mut self, n_segments: usize) {
        self.dense = Some((0, n_segments.max(1), Vec::new()));
    }

    /// Widen the dense table to cover `ord`, or give it up for the hash index when too wide.
    fn widen(&mut self, ord: i64) {
        let Some((lo, width, table)) = self.dense.take() else {
            return;
        };
        let periods = (table.len() / width) as i64;
        let (new_lo, new_hi) = if periods == 0 {
            (ord, ord)
        } else {
            // Room for a few more periods each way, so periods met in random order rarely
            // rebuild the table.
            (ord.min(lo) - 4, ord.max(lo + periods - 1) + 4)
        };
        if (new_hi - new_lo + 1).saturating_mul(width as i64) > 1 << 22 {
            for (s, k) in self.keys.iter().enumerate() {
                self.index.insert(*k, s as u32);
            }
            return;
        }
        let mut grown = vec![u32::MAX; (new_hi - new_lo + 1) as usize * width];
        for (s, &(o, g)) in self.keys.iter().enumerate() {
            grown[(o - new_lo) as usize * width + g as usize] = s as u32;
        }
        self.dense = Some((new_lo, width, grown));
    }

    /// The slot of (period, segment): a table read for a key seen before, else [`Acc::new_slot`].
    #[inline]
    pub(crate) fn slot(&mut self, ord: i64, seg: u32) -> usize {
        if let Some((lo, width, table)) = &self.dense {
            // seg < width, so the cell is inside the table exactly when the period is.
            let rel = ord.wrapping_sub(*lo);
            if rel >= 0 && (rel as usize) < table.len() {
                let i = rel as usize * *width + seg as usize;
                if i < table.len() && table[i] != u32::MAX {
                    return table[i] as usize;
                }
            }
        }
        self.new_slot(ord, seg)
    }

    #[cold]
    #[inline(never)]
    fn new_slot(&mut self, ord: i64, seg: u32) -> usize {
        let s = self.keys.len();
        if let Some((lo, width, table)) = &mut self.dense {
            let rel = ord.wrapping_sub(*lo);
            if rel < 0 || rel as usize >= table.len() / *width {
                self.widen(ord);
                return self.new_slot(ord, seg);
            }
            let cell = &mut table[rel as usize * *width + seg as usize];
            if *cell != u32::MAX {
                return *cell as usize;
            }
            *cell = s as u32;
        } else {
            if let Some(&found) = self.index.get(&(ord, seg)) {
                return found as usize;
            }
            self.index.insert((ord, seg), s as u32);
        }
        self.keys.push((ord, seg));
        self.counts.extend(std::iter::repeat_n(0, self.n_counts));
        self.sums.extend(std::iter::repeat_n(0.0, self.n_sums));
        s
    }

    /// Renumber the segments (a part's own ids to global ones); slots are looked up by
    /// hashing afterwards.
    pub(crate) fn rekey(&mut self, map: &[u32]) {
        for k in &mut self.keys {
            k.1 = map[k.1 as usize];
        }
        self.dense = None;
        self.index = self
            .keys
            .iter()
            .enumerate()
            .map(|(s, k)| (*k, s as u32))
            .collect();
    }

    /// Add another part's slots to this one (lists appended after this part's values).
    pub(crate) fn absorb(&mut self, other: Acc) {
        let mut to = Vec::with_capacity(other.keys.len());
        for (s, &(ord, seg)) in other.keys.iter().enumerate() {
            let t = self.slot(ord, seg);
            to.push(t as u32);
            for j in 0..self.n_counts {
                self.counts[t * self.n_counts + j] += other.counts[s * self.n_counts + j];
            }
            for j in 0..self.n_sums {
                self.sums[t * self.n_sums + j] += other.sums[s * self.n_sums + j];
            }
        }
        for (mine, mut theirs) in self.lists.iter_mut().zip(other.lists) {
            let mut pieces = std::mem::take(&mut theirs.more);
            pieces.insert(0, theirs);
            for mut piece in pieces {
                for s in &mut piece.slots {
                    *s = to[*s as usize];
                }
                mine.more.push(piece);
            }
        }
    }

    #[inline]
    pub(crate) fn push_at(&mut self, slot: usize, j: usize, v: f64) {
        let l = &mut self.lists[j];
        l.slots.push(slot as u32);
        l.values.push(v);
    }

    #[inline]
    pub(crate) fn count(&mut self, ord: i64, seg: u32, j: usize) {
        let s = self.slot(ord, seg);
        self.counts[s * self.n_counts + j] += 1;
    }

    #[inline]
    pub(crate) fn sum(&mut self, ord: i64, seg: u32, j: usize, v: f64) {
        let s = self.slot(ord, seg);
        self.sums[s * self.n_sums + j] += v;
    }

    #[inline]
    pub(crate) fn push(&mut self, ord: i64, seg: u32, j: usize, v: f64) {
        let s = self.slot(ord, seg);
        self.push_at(s, j, v);
    }
}

/// Rule violations of one part, in the order the analysis checks its rules.
pub(crate) struct Rules {
    rules: Vec<(String, String, BadRows)>,
    offset: usize,
    skipped: usize,
}

/// One rule of an analysis: the column it is about (named by its role when the column was not
/// given), and what it requires.
pub(crate) type Rule<'c> = (Option<&'c Column>, &'c str, &'c str);

impl Rules {
    /// The rules of one part starting at row `offset`, in the order the analysis checks them.
    pub(crate) fn new(rules: &[Rule<'_>], offset: usize) -> Rules {
        Rules {
            rules: rules
                .iter()
                .map(|(c, role, rule)| {
                    let column = c.map_or_else(|| role.to_string(), |c| c.name.clone());
                    (column, rule.to_string(), BadRows::default())
                })
                .collect(),
            offset,
            skipped: 0,
        }
    }

    /// Record that local row `i` breaks rule `k` (the row is then left out).
    pub(crate) fn bad(&mut self, k: usize, i: usize, value: impl FnOnce() -> String) {
        self.rules[k].2.push(self.offset + i, value);
        self.skipped += 1;
    }

    pub(crate) fn check(self, invalid: Invalid) -> KpiResult<usize> {
        if invalid == Invalid::Raise {
            for (column, rule, rows) in self.rules {
                KpiError::check_rows(
                    &column,
                    &format!("{rule} (invalid=\"skip\" leaves such rows out and counts them)"),
                    rows,
                )?;
            }
        }
        Ok(self.skipped)
    }
}
