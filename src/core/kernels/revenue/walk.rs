//! The ledger walk: a customer's series read at period ends and classified into movements
//! (docs/conventions.md#revenue), and the per-period sums of those movements.

use hashbrown::HashMap;

use super::conventions::*;
use super::input::*;
use super::series::*;
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::time::Freq;

/// Flow columns of the partial state, in order; all Int64 (MRR in cents).
pub const FLOWS: [&str; 19] = [
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
    "moved_in_mrr",
    "moved_out_mrr",
    "mrr_change",
    "new_customers",
    "expanded_customers",
    "contracted_customers",
    "churned_customers",
    "reactivated_customers",
    "moved_in_customers",
    "moved_out_customers",
    "customer_change",
    "new_and_churned_customers",
    "new_and_churned_mrr",
    "reactivated_and_churned_mrr",
];
pub(super) const NEW: usize = 0;
pub(super) const EXP: usize = 1;
pub(super) const CONTR: usize = 2;
pub(super) const CHURN: usize = 3;
pub(super) const REACT: usize = 4;
pub(super) const MIN: usize = 5;
pub(super) const MOUT: usize = 6;
pub(super) const DMRR: usize = 7;
pub(super) const NEW_C: usize = 8;
pub(super) const EXP_C: usize = 9;
pub(super) const CONTR_C: usize = 10;
pub(super) const CHURN_C: usize = 11;
pub(super) const REACT_C: usize = 12;
pub(super) const MIN_C: usize = 13;
pub(super) const MOUT_C: usize = 14;
pub(super) const DCUST: usize = 15;
pub(super) const FLASH_C: usize = 16;
/// Peak MRR of customers who joined and churned within the period, whatever the convention:
/// retention rates take it back out of churn, since those customers were not there at the start.
pub(super) const FLASH_M: usize = 17;
/// The part of `FLASH_M` of returning customers (reactivated and churned within the period): the
/// starting-MRR rates take it back out of reactivation as they take `FLASH_M` out of churn.
pub(super) const FLASH_RM: usize = 18;
pub(super) const NF: usize = FLOWS.len();

pub(super) type Flows = [i64; NF];

/// One ledger row: a customer's movements in one period within one segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    pub period: i64,
    pub seg: u32,
    pub starting: i64,
    pub ending: i64,
    pub flows: Flows,
    pub label: &'static str,
}

/// Flows summed per (period, segment): a dense table over the periods of the data when it is
/// small (the common case: a few dozen months × a few segments), hashing otherwise.
pub(super) struct FlowSums {
    pub(super) first: i64,
    pub(super) n_periods: usize,
    pub(super) n_segs: usize,
    pub(super) dense: Vec<Flows>,
    pub(super) sparse: HashMap<(i64, u32), Flows>,
    /// A sum left the i64 range: reported by `into_map` (the walk callbacks cannot fail).
    pub(super) overflowed: bool,
}

/// `x += y`, flagging instead of saturating: a clamped sum would be a silently wrong number.
#[inline]
pub(super) fn add_flows(x: &mut Flows, y: &Flows, overflowed: &mut bool) {
    for (a, b) in x.iter_mut().zip(y) {
        match a.checked_add(*b) {
            Some(v) => *a = v,
            None => *overflowed = true,
        }
    }
}

impl FlowSums {
    const DENSE_LIMIT: usize = 4096;

    pub(super) fn new(first: Option<i64>, horizon: i64, n_segs: usize) -> Self {
        let (first, n_periods) = match first {
            Some(f) if horizon >= f => (f, (horizon - f + 1) as usize),
            _ => (0, 0),
        };
        let dense = if n_periods.saturating_mul(n_segs) <= Self::DENSE_LIMIT {
            vec![[0; NF]; n_periods * n_segs]
        } else {
            Vec::new()
        };
        FlowSums {
            first,
            n_periods,
            n_segs,
            dense,
            sparse: HashMap::new(),
            overflowed: false,
        }
    }

    #[inline]
    pub(super) fn slot(&mut self, period: i64, seg: u32) -> &mut Flows {
        let p = period.wrapping_sub(self.first);
        if !self.dense.is_empty()
            && p >= 0
            && (p as usize) < self.n_periods
            && (seg as usize) < self.n_segs
        {
            &mut self.dense[p as usize * self.n_segs + seg as usize]
        } else {
            self.sparse.entry((period, seg)).or_insert([0; NF])
        }
    }

    #[inline]
    pub(super) fn add(&mut self, e: Entry) {
        let mut overflowed = self.overflowed;
        add_flows(self.slot(e.period, e.seg), &e.flows, &mut overflowed);
        self.overflowed = overflowed;
    }

    pub(super) fn absorb(&mut self, other: FlowSums) {
        let mut overflowed = self.overflowed || other.overflowed;
        for (a, b) in self.dense.iter_mut().zip(&other.dense) {
            add_flows(a, b, &mut overflowed);
        }
        for ((p, s), v) in other.sparse {
            add_flows(self.slot(p, s), &v, &mut overflowed);
        }
        self.overflowed = overflowed;
    }

    /// Every (period, segment) that saw an entry; untouched dense cells are left out.
    pub(super) fn into_map(self) -> KpiResult<HashMap<(i64, u32), Flows>> {
        let mut overflowed = self.overflowed;
        let mut out = self.sparse;
        for (i, v) in self.dense.into_iter().enumerate() {
            if v.iter().any(|&x| x != 0) {
                let key = (
                    self.first + (i / self.n_segs) as i64,
                    (i % self.n_segs) as u32,
                );
                add_flows(out.entry(key).or_insert([0; NF]), &v, &mut overflowed);
            }
        }
        if overflowed {
            return Err(KpiError::Overflow {
                what: "MRR movement sum (cents, 64-bit)".into(),
            });
        }
        Ok(out)
    }
}

/// Walks one customer's series period by period and emits ledger entries. `horizon` cuts the
/// walk; `fill` also emits periods without change (for the detailed ledger).
pub(super) fn walk(
    series: &Series,
    conv: &Conventions,
    freq: Freq,
    horizon: i64,
    fill: bool,
    emit: &mut dyn FnMut(Entry),
) {
    let (mut level, mut seg) = (0i64, NO_SEG);
    let mut ever = false;
    let mut last_active: i64 = i64::MIN; // last period ending with MRR
    let (mut pi, mut fi) = (0, 0);
    let rejoin = |q: i64, last: i64, ever: bool| -> bool {
        // true: reactivation; false: new
        if !ever {
            return false;
        }
        match conv.reactivation_window {
            Window::Any => true,
            Window::Periods(n) => q.saturating_sub(last).saturating_sub(1) <= n as i64,
            Window::Days(d) => {
                freq.start_day(q) - freq.start_day(last.saturating_add(1)) <= d as i64
            }
        }
    };
    // Periods where something happens: points and flashes merged in period order.
    while let Some(q) = series.next_period(pi, fi) {
        if q > horizon {
            break;
        }
        let (mut new_level, mut new_seg) = (level, seg);
        while pi < series.points.len() && series.points[pi].period == q {
            new_level = series.points[pi].level;
            new_seg = series.points[pi].seg;
            pi += 1;
        }
        let mut flash = None;
        while fi < series.flashes.len() && series.flashes[fi].period == q {
            flash = Some(series.flashes[fi]);
            fi += 1;
        }
        let (s, e) = (level, new_level);
        let mut f: Flows = [0; NF];
        if s == 0 && e == 0 {
            if let Some(fl) = flash.filter(|f| f.peak > 0) {
                let react = rejoin(q, last_active, ever);
                f[FLASH_C] = 1;
                f[FLASH_M] = fl.peak;
                if react {
                    f[FLASH_RM] = fl.peak;
                }
                let (m, c) = if react {
                    (REACT, REACT_C)
                } else {
                    (NEW, NEW_C)
                };
                match conv.same_period_new_churn {
                    SamePeriod::Count => {
                        f[m] = fl.peak;
                        f[c] = 1;
                        f[CHURN] = fl.peak;
                        f[CHURN_C] = 1;
                    }
                    SamePeriod::Exclude => {
                        f[m] = fl.peak;
                        f[c] = 1;
                        f[CHURN] = fl.peak;
                    }
                    SamePeriod::NetOutOfNew => {}
                }
                let label = if react {
                    "reactivation_and_churn"
                } else {
                    "new_and_churn"
                };
                emit(Entry {
                    period: q,
                    seg: fl.seg,
                    starting: 0,
                    ending: 0,
                    flows: f,
                    label,
                });
                ever = true;
                last_active = q;
            }
        } else if s == 0 {
            let react = rejoin(q, last_active, ever);
            if react {
                f[REACT] = e;
                f[REACT_C] = 1;
            } else {
                f[NEW] = e;
                f[NEW_C] = 1;
            }
            f[DMRR] = e;
            f[DCUST] = 1;
            emit(Entry {
                period: q,
                seg: new_seg,
                starting: 0,
                ending: e,
                flows: f,
                label: if react { "reactivation" } else { "new" },
            });
            ever = true;
        } else if e == 0 {
            f[CHURN] = s;
            f[CHURN_C] = 1;
            f[DMRR] = -s;
            f[DCUST] = -1;
            emit(Entry {
                period: q,
                seg,
                starting: s,
                ending: 0,
                flows: f,
                label: "churn",
            });
            last_active = q - 1;
        } else {
            let d = e - s;
            let mut g: Flows = [0; NF];
            if d > 0 {
                g[EXP] = d;
                g[EXP_C] = 1;
            } else if d < 0 {
                g[CONTR] = -d;
                g[CONTR_C] = 1;
            }
            if seg == new_seg {
                g[DMRR] = d;
                let label = match d.signum() {
                    1 => "expansion",
                    -1 => "contraction",
                    _ => "unchanged",
                };
                emit(Entry {
                    period: q,
                    seg,
                    starting: s,
                    ending: e,
                    flows: g,
                    label,
                });
            } else {
                // The starting MRR moves with the customer; the change lands in the new segment.
                f[MOUT] = s;
                f[MOUT_C] = 1;
                f[DMRR] = -s;
                f[DCUST] = -1;
                emit(Entry {
                    period: q,
                    seg,
                    starting: s,
                    ending: 0,
                    flows: f,
                    label: "moved_out",
                });
                g[MIN] = s;
                g[MIN_C] = 1;
                g[DMRR] = e;
                g[DCUST] = 1;
                emit(Entry {
                    period: q,
                    seg: new_seg,
                    starting: 0,
                    ending: e,
                    flows: g,
                    label: "moved_in",
                });
            }
        }
        level = new_level;
        seg = new_seg;
        if fill && level > 0 {
            let next = series
                .next_period(pi, fi)
                .unwrap_or(i64::MAX)
                .min(horizon + 1);
            for p in q + 1..next {
                emit(Entry {
                    period: p,
                    seg,
                    starting: level,
                    ending: level,
                    flows: [0; NF],
                    label: "unchanged",
                });
            }
        }
    }
}
