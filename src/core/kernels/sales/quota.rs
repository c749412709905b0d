//! Quota attainment (`quota_attainment`) per rep and period, period-to-date, and the share of
//! reps at quota, from a table of actuals and a table of quotas. Both are small (one row per
//! deal or per rep and period), so there is no partial state: the result is computed at once
//! (docs/conventions.md#sales-marketing-and-support).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Field, Int64Type, Schema};
use hashbrown::HashMap;

use crate::core::engine::groups::{grid, group_ids, take_rows};
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::time::{start_dates, Freq, Zone};
use crate::core::input::{check_same_len, Column, Table};

use super::finish::{f64_col, ratio};
use super::read::{read_f64, read_times, NONE};

/// One side of quota attainment: rep, period and value columns of one table.
pub struct RepValues {
    pub rep: Column,
    pub period: Column,
    pub value: Column,
}

/// The columns quota attainment reads, by name. The quota table's rep and period columns are
/// named like the actuals' (`rep`, `time`) unless `quota_rep` / `quota_period` say otherwise.
pub struct QuotaColumns<'a> {
    pub rep: &'a str,
    pub time: &'a str,
    pub amount: &'a str,
    pub quota: &'a str,
    pub quota_rep: Option<&'a str>,
    pub quota_period: Option<&'a str>,
}

impl QuotaColumns<'_> {
    /// The actuals' and the quotas' (rep, period, value) columns.
    pub fn read(&self, actuals: &Table, quotas: &Table) -> KpiResult<(RepValues, RepValues)> {
        let a = RepValues {
            rep: actuals.column(self.rep)?,
            period: actuals.column(self.time)?,
            value: actuals.column(self.amount)?,
        };
        let q = RepValues {
            rep: quotas.column(self.quota_rep.unwrap_or(self.rep))?,
            period: quotas.column(self.quota_period.unwrap_or(self.time))?,
            value: quotas.column(self.quota)?,
        };
        Ok((a, q))
    }
}

/// The rep columns of both tables as one key column of one type.
fn joint_rep(a: &Column, b: &Column) -> KpiResult<Column> {
    let plain = |c: &Column| -> KpiResult<Vec<ArrayRef>> {
        c.chunks
            .iter()
            .map(|x| match x.data_type() {
                DataType::Dictionary(_, v) => Ok(arrow::compute::cast(x, v)?),
                _ => Ok(x.clone()),
            })
            .collect()
    };
    let (mut ca, mut cb) = (plain(a)?, plain(b)?);
    let ta = ca.first().map(|x| x.data_type().clone());
    let tb = cb.first().map(|x| x.data_type().clone());
    if ta != tb {
        let to_utf8 = |v: &mut Vec<ArrayRef>| -> KpiResult<()> {
            for x in v.iter_mut() {
                *x = arrow::compute::cast(x, &DataType::Utf8)?;
            }
            Ok(())
        };
        to_utf8(&mut ca)?;
        to_utf8(&mut cb)?;
    }
    ca.extend(cb);
    Ok(Column::new(a.name.clone(), ca))
}

/// Quota attainment per rep and period.
///
/// `attainment = actual / quota`; `attainment_to_date = Σ actual / Σ quota` over the periods of
/// the current `to_date` span so far (not the mean of the periods' ratios); `share_at_quota` is
/// the share of the period's reps with a quota above zero whose attainment is at least 1.
/// Actuals are summed per rep and period (so a table of won deals can be passed as it is);
/// a rep may have at most one quota per period. Zero or missing quota → null attainment.
pub fn quota_attainment(
    actuals: &RepValues,
    quotas: &RepValues,
    freq: Freq,
    zone: Zone,
    to_date: Option<Freq>,
) -> KpiResult<RecordBatch> {
    let rep = joint_rep(&actuals.rep, &quotas.rep)?;
    let (na, nq) = (actuals.rep.len(), quotas.rep.len());
    let mut ords: Vec<i64> = Vec::with_capacity(na + nq);
    let mut values: Vec<f64> = Vec::with_capacity(na + nq);
    for (side, rule) in [
        (actuals, "actuals must not be missing"),
        (quotas, "quotas must be present and not negative"),
    ] {
        check_same_len(&side.rep, [&side.period, &side.value])?;
        let t = read_times(&side.period, zone, Some(freq))?;
        let mut missing = BadRows::default();
        for (i, o) in t.ord.iter().enumerate() {
            if *o == NONE {
                missing.push(i, || "missing".into());
            }
        }
        KpiError::check_rows(&side.period.name, "periods must not be missing", missing)?;
        ords.extend(t.ord);
        let v = read_f64(&side.value)?;
        let mut bad = BadRows::default();
        for (i, x) in v.iter().enumerate() {
            match x {
                Some(x) if std::ptr::eq(side, quotas) && *x < 0.0 => bad.push(i, || format!("{x}")),
                Some(x) => values.push(*x),
                None => bad.push(i, || "missing".into()),
            }
        }
        KpiError::check_rows(&side.value.name, rule, bad)?;
    }
    let ord_col = Column::from_array("period", Arc::new(Int64Array::from(ords.clone())));
    let groups = group_ids(&[ord_col.clone(), rep.clone()])?;
    let ng = groups.len();
    let mut actual = vec![0.0; ng];
    let mut quota: Vec<Option<f64>> = vec![None; ng];
    let mut dup = BadRows::default();
    for (row, &g) in groups.ids.iter().enumerate() {
        let g = g as usize;
        if row < na {
            actual[g] += values[row];
        } else {
            match quota[g] {
                Some(_) => dup.push(row - na, || "a second quota for this rep and period".into()),
                None => quota[g] = Some(values[row]),
            }
        }
    }
    KpiError::check_rows(
        &quotas.value.name,
        "a rep can have one quota per period",
        dup,
    )?;
    let first_ords = take_rows(&ord_col, &groups.first_row)?;
    let dates = start_dates(freq, first_ords.as_primitive::<Int64Type>().iter());
    let state = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("period", DataType::Date32, true),
            Field::new(&rep.name, rep.data_type(), true),
        ])),
        vec![
            arrow::compute::cast(&(Arc::new(dates) as ArrayRef), &DataType::Date32)?,
            take_rows(&rep, &groups.first_row)?,
        ],
    )?;
    let g = grid(&state, true, 1, Some(freq), None)?;
    let n = g.source.len();
    let d = g.keys[0].as_primitive::<Date32Type>().clone();
    let act: Vec<f64> = g
        .source
        .iter()
        .map(|s| s.map_or(0.0, |r| actual[r]))
        .collect();
    let quo: Vec<Option<f64>> = g.source.iter().map(|s| s.and_then(|r| quota[r])).collect();
    let att: Vec<Option<f64>> = (0..n)
        .map(|i| quo[i].and_then(|q| ratio(act[i], q)))
        .collect();
    let (mut a_td, mut q_td, mut att_td) = (Vec::new(), Vec::new(), Vec::new());
    let (mut sa, mut sq) = (0.0, 0.0);
    for i in 0..n {
        let span = |k: usize| to_date.map_or(0, |f| f.ordinal_of_day(d.value(k) as i64));
        let new_rep = i == 0 || d.value(i) <= d.value(i - 1);
        if new_rep || span(i) != span(i - 1) {
            sa = 0.0;
            sq = 0.0;
        }
        sa += act[i];
        sq += quo[i].unwrap_or(0.0);
        a_td.push(sa);
        q_td.push(sq);
        att_td.push(ratio(sa, sq));
    }
    // Share of reps at or above quota, per period.
    let mut per_period: HashMap<i32, (i64, i64)> = HashMap::new();
    for i in 0..n {
        if let (Some(q), Some(a)) = (quo[i], att[i]) {
            if q > 0.0 {
                let e = per_period.entry(d.value(i)).or_default();
                e.1 += 1;
                if a >= 1.0 {
                    e.0 += 1;
                }
            }
        }
    }
    let share: Vec<Option<f64>> = (0..n)
        .map(|i| {
            per_period
                .get(&d.value(i))
                .and_then(|(k, m)| ratio(*k as f64, *m as f64))
        })
        .collect();
    let mut fields = vec![
        Field::new("period", DataType::Date32, true),
        Field::new(&rep.name, g.keys[1].data_type().clone(), true),
    ];
    let mut columns = g.keys;
    for (name, a) in [
        ("actual", Arc::new(Float64Array::from(act)) as ArrayRef),
        ("quota", f64_col(quo)),
        ("attainment", f64_col(att)),
        ("actual_to_date", Arc::new(Float64Array::from(a_td))),
        ("quota_to_date", Arc::new(Float64Array::from(q_td))),
        ("attainment_to_date", f64_col(att_td)),
        ("share_at_quota", f64_col(share)),
    ] {
        fields.push(Field::new(name, a.data_type().clone(), true));
        columns.push(a);
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// The `to_date=` span: "year", "quarter" (or any period), "all" or None (never restart).
pub fn parse_to_date(to_date: Option<&str>) -> KpiResult<Option<Freq>> {
    match to_date {
        None | Some("all") => Ok(None),
        Some(f) => Freq::parse(f, 0).map(Some).map_err(|_| {
            KpiError::param(
                "to_date",
                format!("{f:?} is not one of \"quarter\", \"year\", \"all\""),
            )
        }),
    }
}
