//! Columns as they arrive from Arrow, and coercion to the types the kernels compute with.
//!
//! A [`Column`] keeps the caller's chunks (record batches) as they are: kernels walk them chunk by
//! chunk, so nothing is concatenated or copied unless a type really has to change.
//!
//! The input layer (docs/architecture.md): besides columns, calendar time ([`time`]), the event
//! log journeys read ([`events`]) and the row-level integrity checks ([`integrity`]).

pub mod events;
pub mod integrity;
pub mod time;

use std::sync::Arc;

use arrow::array::{AnyDictionaryArray, Array, ArrayRef, AsArray, Float64Array, RecordBatch};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::compute::cast;
use arrow::datatypes::{ArrowPrimitiveType, DataType, Float64Type, SchemaRef};

use crate::core::error::{BadRows, KpiError, KpiResult};

/// One named column of a table, in the chunks it arrived in.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub chunks: Vec<ArrayRef>,
}

impl Column {
    pub fn new(name: impl Into<String>, chunks: Vec<ArrayRef>) -> Self {
        Column {
            name: name.into(),
            chunks,
        }
    }

    /// A column from one array.
    pub fn from_array(name: impl Into<String>, array: ArrayRef) -> Self {
        Column::new(name, vec![array])
    }

    pub fn len(&self) -> usize {
        self.chunks.iter().map(|c| c.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Arrow type; a column without chunks is typed Null.
    pub fn data_type(&self) -> DataType {
        self.chunks
            .first()
            .map(|c| c.data_type().clone())
            .unwrap_or(DataType::Null)
    }

    /// Rows `offset .. offset + len` as a column of zero-copy chunk slices.
    pub fn slice(&self, offset: usize, len: usize) -> Column {
        let mut chunks = Vec::new();
        let (mut at, end) = (0, offset + len);
        for c in &self.chunks {
            let (lo, hi) = (at.max(offset), (at + c.len()).min(end));
            if lo < hi || (len == 0 && chunks.is_empty()) {
                let lo = lo.min(at + c.len());
                chunks.push(c.slice(lo - at, hi.saturating_sub(lo)));
            }
            at += c.len();
        }
        Column::new(self.name.clone(), chunks)
    }

    /// Global row position of the first row of every chunk.
    pub fn offsets(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.chunks.len());
        let mut at = 0;
        for c in &self.chunks {
            out.push(at);
            at += c.len();
        }
        out
    }
}

/// A table: the columns a call asked for, looked up by name in the caller's record batches.
#[derive(Debug, Clone)]
pub struct Table {
    batches: Vec<RecordBatch>,
    schema: SchemaRef,
}

impl Table {
    pub fn from_batches(batches: Vec<RecordBatch>, schema: &SchemaRef) -> Self {
        Table {
            batches,
            schema: schema.clone(),
        }
    }

    /// Column names, in the table's order.
    pub fn names(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    pub fn into_batches(self) -> Vec<RecordBatch> {
        self.batches
    }

    /// All rows as one batch (states are small; a stream of several batches is concatenated).
    pub fn single_batch(&self) -> KpiResult<RecordBatch> {
        match self.batches.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(KpiError::param("state", "an empty stream is not a state")),
            many => Ok(arrow::compute::concat_batches(&many[0].schema(), many)?),
        }
    }

    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    /// The column called `name`, or a `MissingColumn` error listing what the table has.
    pub fn column(&self, name: &str) -> KpiResult<Column> {
        let idx = self
            .schema
            .index_of(name)
            .map_err(|_| KpiError::MissingColumn {
                column: name.to_string(),
                available: self.names(),
            })?;
        // An empty stream has no batches; one empty chunk keeps the column's type.
        let chunks = if self.batches.is_empty() {
            vec![arrow::array::new_empty_array(
                self.schema.field(idx).data_type(),
            )]
        } else {
            self.batches
                .iter()
                .map(|b| missing_as_null(b.column(idx)))
                .collect()
        };
        Ok(Column::new(name, chunks))
    }

    pub fn columns(&self, names: &[String]) -> KpiResult<Vec<Column>> {
        names.iter().map(|n| self.column(n)).collect()
    }
}

/// A chunk with every missing value marked null, whatever library made it
/// (docs/vocabulary.md: missing means null).
///
/// pandas stores a missing time (NaT) as the smallest int64, in every unit: read it as null,
/// so pandas datetime columns can be handed over as they lie in memory (kpikit's pandas export
/// skips pyarrow's NaT scan) and every analysis still sees a missing time. A float NaN is
/// missing too: pandas hands it over as null already, pyarrow and polars as a value, and an
/// id, key or score must not depend on which library the table came from.
/// Zero-copy when the chunk holds no NaT or NaN, which one vectorised pass finds out.
pub fn missing_as_null(chunk: &ArrayRef) -> ArrayRef {
    use arrow::datatypes::{
        TimeUnit, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
        TimestampSecondType,
    };
    fn with_nat_null<T: arrow::datatypes::ArrowTimestampType>(
        chunk: &ArrayRef,
        tz: &Option<std::sync::Arc<str>>,
    ) -> ArrayRef {
        let a = chunk.as_primitive::<T>();
        let values = a.values();
        // Large chunks scanned on all threads: every time-based call reads its time column so
        // before its kernel, and a serial scan would be the call's largest serial step.
        let has_nat = if values.len() < 1 << 20 {
            values.contains(&i64::MIN)
        } else {
            use rayon::prelude::*;
            crate::core::engine::parallel::install(|| {
                values.par_chunks(1 << 16).any(|c| c.contains(&i64::MIN))
            })
        };
        if !has_nat {
            return chunk.clone();
        }
        let valid = BooleanBuffer::collect_bool(values.len(), |i| values[i] != i64::MIN);
        let nulls = NullBuffer::union(a.nulls(), Some(&NullBuffer::new(valid)));
        std::sync::Arc::new(
            arrow::array::PrimitiveArray::<T>::new(values.clone(), nulls)
                .with_timezone_opt(tz.clone()),
        )
    }
    match chunk.data_type() {
        DataType::Timestamp(TimeUnit::Second, tz) => {
            with_nat_null::<TimestampSecondType>(chunk, tz)
        }
        DataType::Timestamp(TimeUnit::Millisecond, tz) => {
            with_nat_null::<TimestampMillisecondType>(chunk, tz)
        }
        DataType::Timestamp(TimeUnit::Microsecond, tz) => {
            with_nat_null::<TimestampMicrosecondType>(chunk, tz)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, tz) => {
            with_nat_null::<TimestampNanosecondType>(chunk, tz)
        }
        DataType::Float64 => with_nan_null::<Float64Type>(chunk, f64::is_nan),
        DataType::Float32 => with_nan_null::<arrow::datatypes::Float32Type>(chunk, f32::is_nan),
        _ => chunk.clone(),
    }
}

/// `chunk` (a float array) with NaN marked null; the chunk itself when it holds no NaN.
fn with_nan_null<T: ArrowPrimitiveType>(
    chunk: &ArrayRef,
    is_nan: fn(T::Native) -> bool,
) -> ArrayRef {
    let a = chunk.as_primitive::<T>();
    let values = a.values();
    // NaN under a null slot does not count: it is missing already.
    let has_nan = match a.nulls() {
        None => values.iter().any(|v| is_nan(*v)),
        Some(n) => values.iter().zip(n.iter()).any(|(v, ok)| ok && is_nan(*v)),
    };
    if !has_nan {
        return chunk.clone();
    }
    let valid = BooleanBuffer::collect_bool(values.len(), |i| !is_nan(values[i]));
    let nulls = NullBuffer::union(a.nulls(), Some(&NullBuffer::new(valid)));
    Arc::new(arrow::array::PrimitiveArray::<T>::new(
        values.clone(),
        nulls,
    ))
}

/// Every key of a dictionary array in order, as a value position (None for a null key; keys
/// past the values clamped to the last, as arrow's `normalized_keys`), without collecting them:
/// a vector of them takes 16 bytes a row, more than the column itself.
pub fn for_each_dictionary_key(d: &dyn AnyDictionaryArray, mut f: impl FnMut(Option<usize>)) {
    fn each<K: ArrowPrimitiveType>(
        keys: &dyn Array,
        last: usize,
        f: &mut impl FnMut(Option<usize>),
    ) {
        let keys = keys.as_primitive::<K>();
        match keys.nulls() {
            None => keys
                .values()
                .iter()
                .for_each(|k| f(Some(k.as_usize().min(last)))),
            Some(nulls) => keys
                .values()
                .iter()
                .zip(nulls.iter())
                .for_each(|(k, valid)| f(valid.then(|| k.as_usize().min(last)))),
        }
    }
    let keys = d.keys();
    let Some(last) = d.values().len().checked_sub(1) else {
        (0..keys.len()).for_each(|_| f(None));
        return;
    };
    use arrow::datatypes::*;
    match keys.data_type() {
        DataType::Int8 => each::<Int8Type>(keys, last, &mut f),
        DataType::Int16 => each::<Int16Type>(keys, last, &mut f),
        DataType::Int32 => each::<Int32Type>(keys, last, &mut f),
        DataType::Int64 => each::<Int64Type>(keys, last, &mut f),
        DataType::UInt8 => each::<UInt8Type>(keys, last, &mut f),
        DataType::UInt16 => each::<UInt16Type>(keys, last, &mut f),
        DataType::UInt32 => each::<UInt32Type>(keys, last, &mut f),
        DataType::UInt64 => each::<UInt64Type>(keys, last, &mut f),
        // Arrow allows integer keys only; any other type would be a broken array.
        _ => (0..keys.len()).for_each(|_| f(None)),
    }
}

/// Integer types whose every value casts to i64 exactly (not UInt64: values above i64::MAX
/// do not), the keys that can be read as dense ids.
pub fn small_int(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
    )
}

/// Whether a type can be read as a number.
pub fn is_numeric(dt: &DataType) -> bool {
    dt.is_numeric() || matches!(dt, DataType::Null)
}

/// The column as float64 chunks (zero-copy when it already is float64). NaN is not changed
/// here; readers treat NaN and null alike through [`value_f64`].
pub fn f64_chunks(col: &Column) -> KpiResult<Vec<Float64Array>> {
    let dt = col.data_type();
    let dt = match &dt {
        DataType::Dictionary(_, v) => v.as_ref().clone(),
        other => other.clone(),
    };
    if !is_numeric(&dt) {
        return Err(KpiError::wrong_type(&col.name, "numeric", col.data_type()));
    }
    col.chunks
        .iter()
        .map(|c| {
            let arr: ArrayRef = if c.data_type() == &DataType::Float64 {
                c.clone()
            } else {
                cast(c, &DataType::Float64)?
            };
            Ok(arr.as_primitive::<Float64Type>().clone())
        })
        .collect()
}

/// Value `i` of a float64 chunk, with NaN read as missing.
#[inline]
pub fn value_f64(arr: &Float64Array, i: usize) -> Option<f64> {
    if arr.is_null(i) {
        return None;
    }
    let v = arr.value(i);
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// Every one of `others` has as many rows as `first`; else the error names the first column
/// that differs, and both lengths.
pub fn check_same_len<'c>(
    first: &Column,
    others: impl IntoIterator<Item = &'c Column>,
) -> KpiResult<()> {
    check_same_len_of(
        (&first.name, first.len()),
        others.into_iter().map(|c| (c.name.as_str(), c.len())),
    )
}

/// [`check_same_len`] for inputs that are not columns (named slices of the model fits):
/// `(name, length)` pairs, each as long as `first`.
pub fn check_same_len_of<'n>(
    first: (&str, usize),
    others: impl IntoIterator<Item = (&'n str, usize)>,
) -> KpiResult<()> {
    let (left, left_len) = first;
    match others.into_iter().find(|&(_, n)| n != left_len) {
        Some((right, right_len)) => Err(KpiError::LengthMismatch {
            left: left.into(),
            left_len,
            right: right.into(),
            right_len,
        }),
        None => Ok(()),
    }
}

/// Reject missing values (null or NaN) in a key column, naming up to five rows.
pub fn require_no_nulls(col: &Column) -> KpiResult<()> {
    let mut bad = BadRows::default();
    let mut offset = 0;
    for c in &col.chunks {
        if c.null_count() > 0 {
            for i in 0..c.len() {
                if c.is_null(i) {
                    bad.push(offset + i, || "null".to_string());
                }
            }
        }
        offset += c.len();
    }
    KpiError::check_rows(&col.name, "must not be missing", bad)
}

/// A one-chunk column of float64 values (used by tests and the demo company).
pub fn f64_column(name: &str, values: Vec<Option<f64>>) -> Column {
    Column::from_array(name, Arc::new(Float64Array::from(values)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int8Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    #[test]
    fn nat_reads_as_null_keeping_values_zone_and_existing_nulls() {
        use arrow::array::TimestampNanosecondArray;
        let a = TimestampNanosecondArray::from(vec![Some(5), Some(i64::MIN), None, Some(7)])
            .with_timezone("Europe/Paris");
        let chunk: ArrayRef = Arc::new(a.slice(1, 3));
        let out = missing_as_null(&chunk);
        assert_eq!(out.data_type(), chunk.data_type());
        let t = out.as_primitive::<arrow::datatypes::TimestampNanosecondType>();
        assert_eq!(t.iter().collect::<Vec<_>>(), vec![None, None, Some(7)]);
        // Without NaT the very same array comes back (no copy, no new bitmap).
        let clean: ArrayRef = Arc::new(a.slice(2, 2));
        assert!(Arc::ptr_eq(&missing_as_null(&clean), &clean));
    }

    #[test]
    fn nan_reads_as_null_in_float_chunks_and_clean_chunks_are_not_copied() {
        use arrow::array::Float32Array;
        let a: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.5), Some(f64::NAN), None]));
        let out = missing_as_null(&a);
        let f = out.as_primitive::<Float64Type>();
        assert_eq!(f.iter().collect::<Vec<_>>(), vec![Some(1.5), None, None]);
        let b: ArrayRef = Arc::new(Float32Array::from(vec![f32::NAN, 2.0]));
        assert_eq!(missing_as_null(&b).null_count(), 1);
        let clean: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), None]));
        assert!(Arc::ptr_eq(&missing_as_null(&clean), &clean));
    }

    #[test]
    fn nat_found_in_a_large_chunk_scanned_on_all_threads() {
        use arrow::array::TimestampMicrosecondArray;
        use arrow::datatypes::TimestampMicrosecondType;
        // 3 million values (the parallel scan): one NaT near the end, in the last block.
        let n = 3_000_000;
        let mut v: Vec<i64> = (0..n as i64).collect();
        v[n - 2] = i64::MIN;
        let chunk: ArrayRef = Arc::new(TimestampMicrosecondArray::from(v));
        let out = missing_as_null(&chunk);
        let t = out.as_primitive::<TimestampMicrosecondType>();
        assert_eq!(t.null_count(), 1);
        assert!(t.is_null(n - 2) && t.is_valid(n - 1) && t.value(n - 1) == n as i64 - 1);
        // Without NaT the very same array comes back.
        let clean = chunk.slice(0, n - 2);
        assert!(Arc::ptr_eq(&missing_as_null(&clean), &clean));
    }

    #[test]
    fn integers_of_any_width_read_as_f64() {
        let col = Column::from_array(
            "x",
            Arc::new(Int8Array::from(vec![Some(1), None, Some(-3)])),
        );
        let chunks = f64_chunks(&col).unwrap();
        assert_eq!(value_f64(&chunks[0], 0), Some(1.0));
        assert_eq!(value_f64(&chunks[0], 1), None);
        assert_eq!(value_f64(&chunks[0], 2), Some(-3.0));
    }

    #[test]
    fn strings_are_not_numbers() {
        let col = Column::from_array("amount", Arc::new(StringArray::from(vec!["a"])));
        let err = f64_chunks(&col).unwrap_err().to_string();
        assert_eq!(err, "column \"amount\" must be numeric, got Utf8");
    }

    #[test]
    fn missing_column_lists_available() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Float64, true)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Float64Array::from(vec![1.0]))],
        )
        .unwrap();
        let t = Table::from_batches(vec![batch], &schema);
        let err = t.column("b").unwrap_err().to_string();
        assert_eq!(err, "column \"b\" not found; the table has columns [\"a\"]");
    }
}
