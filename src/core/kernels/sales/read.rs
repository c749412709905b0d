//! Reading the input columns of the sales analyses: times as instants and period ordinals,
//! measures as finite numbers, 0/1 flags as booleans.

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use arrow::buffer::NullBuffer;
use arrow::datatypes::DataType;

use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::time::{local_micros, Freq, Zone, US_PER_DAY};
use crate::core::input::{f64_chunks, value_f64, Column};

/// A missing time or period in the flattened per-row vectors.
pub(crate) const NONE: i64 = i64::MIN;

/// A time column as instants (for durations) and period ordinals (for grouping), NONE if missing.
pub(crate) struct Times {
    pub at: Vec<i64>,
    pub ord: Vec<i64>,
}

/// Days spanning more than this are bucketed by calendar arithmetic row by row instead of a
/// day → period table.
const MAX_DAY_TABLE: i64 = 1 << 20;

/// Flatten chunks of microseconds, missing values as [`NONE`].
fn flat(len: usize, chunks: Vec<Int64Array>) -> Vec<i64> {
    let mut v = Vec::with_capacity(len);
    for c in chunks {
        let start = v.len();
        v.extend_from_slice(c.values());
        if let Some(nulls) = c.nulls().filter(|n| n.null_count() > 0) {
            for (slot, valid) in v[start..].iter_mut().zip(nulls.iter()) {
                if !valid {
                    *slot = NONE;
                }
            }
        }
    }
    v
}

/// `f` of every present value, [`NONE`] kept.
fn map_present(v: &[i64], f: impl Fn(i64) -> i64) -> Vec<i64> {
    v.iter()
        .map(|&us| if us == NONE { NONE } else { f(us) })
        .collect()
}

pub(crate) fn read_times(col: &Column, zone: Zone, freq: Option<Freq>) -> KpiResult<Times> {
    // Zone-aware instants compare in UTC; naive ones are wall-clock time already.
    let at = flat(col.len(), local_micros(col, Zone::Utc)?);
    let local = if zone == Zone::Utc {
        None
    } else {
        Some(flat(col.len(), local_micros(col, zone)?))
    };
    let local = local.as_deref().unwrap_or(&at);
    let Some(f) = freq else {
        let ord = map_present(local, |_| 0);
        return Ok(Times { at, ord });
    };
    let day = |us: i64| us.div_euclid(US_PER_DAY);
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for &us in local {
        if us != NONE {
            lo = lo.min(day(us));
            hi = hi.max(day(us));
        }
    }
    let ord = if lo > hi || hi - lo < MAX_DAY_TABLE {
        // Calendar arithmetic once per distinct day.
        let (base, table): (i64, Vec<i64>) = (lo, (lo..=hi).map(|d| f.ordinal_of_day(d)).collect());
        map_present(local, |us| table[(day(us) - base) as usize])
    } else {
        map_present(local, |us| f.ordinal_of_micros(us))
    };
    Ok(Times { at, ord })
}

/// The column as numbers (NaN read as missing). An infinity is rejected here for every
/// measure: summed into a total it would silently turn every rate of its group into inf/NaN.
pub(crate) fn read_f64(col: &Column) -> KpiResult<Vec<Option<f64>>> {
    let mut v = Vec::with_capacity(col.len());
    let mut bad = BadRows::default();
    for c in f64_chunks(col)? {
        if c.null_count() == 0 && !c.values().iter().any(|x| x.is_infinite()) {
            // The usual column: no nulls, no infinities; NaN is missing.
            v.extend(c.values().iter().map(|&x| (!x.is_nan()).then_some(x)));
            continue;
        }
        for i in 0..c.len() {
            let x = value_f64(&c, i);
            if let Some(x) = x.filter(|x| x.is_infinite()) {
                bad.push(v.len(), || format!("{x}"));
            }
            v.push(x);
        }
    }
    KpiError::check_rows(&col.name, "values must be finite (not inf or -inf)", bad)?;
    Ok(v)
}

/// One chunk of a flag column as booleans: a boolean column, or numbers that are 0 or 1
/// (docs/conventions.md#deals). Any other number is an error naming its rows (counted
/// from the chunk's start): read as "not zero", `won = 2` would count as won without a word.
pub(crate) fn bool_chunk(name: &str, c: &ArrayRef) -> KpiResult<BooleanArray> {
    Ok(match c.data_type() {
        DataType::Boolean => c.as_boolean().clone(),
        DataType::Null => BooleanArray::new_null(c.len()),
        dt if dt.is_numeric() => {
            let x = f64_chunks(&Column::from_array(name, c.clone()))?.remove(0);
            let nulls = x.nulls().cloned();
            let mut bad = BadRows::default();
            let mut missing = Vec::new();
            for (i, &v) in x.values().iter().enumerate() {
                if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                    continue;
                }
                if v.is_nan() {
                    // NaN is missing, as in every other column.
                    missing.push(i);
                } else if v != 0.0 && v != 1.0 {
                    bad.push(i, || format!("{v}"));
                }
            }
            KpiError::check_rows(name, "values must be true/false or 0/1", bad)?;
            let mut valid: Vec<bool> = (0..x.len())
                .map(|i| nulls.as_ref().is_none_or(|n| n.is_valid(i)))
                .collect();
            for i in missing {
                valid[i] = false;
            }
            let bits = x.values().iter().map(|&v| v == 1.0).collect();
            BooleanArray::new(bits, Some(NullBuffer::from(valid)))
        }
        dt => return Err(KpiError::wrong_type(name, "boolean (or 0/1)", dt)),
    })
}

/// An instant for an error message.
pub(crate) fn fmt_us(us: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(us) {
        Some(t) => t.naive_utc().to_string(),
        None => us.to_string(),
    }
}
