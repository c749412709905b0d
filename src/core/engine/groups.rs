//! Grouping rows by key columns of any Arrow type, the additive merge of partial states, and
//! the gap-filled (segment × period) grid every grouped result is laid out on.
//!
//! Keys are interned to dense `u32` group ids in order of first appearance. Strings (Utf8,
//! LargeUtf8, Utf8View), dictionaries, integers of every width, booleans, dates and timestamps
//! have fast paths; any other type goes through Arrow's row format. Null is a key value of its
//! own, so rows with a missing segment form their own group rather than disappearing.

use std::hash::BuildHasher;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, PrimitiveArray, RecordBatch};
use arrow::compute::{interleave, lexsort_to_indices, take, SortColumn, SortOptions};
use arrow::datatypes::{ArrowPrimitiveType, DataType, Date32Type, FieldRef, Int64Type, Schema};
use arrow::row::{RowConverter, SortField};
use hashbrown::{DefaultHashBuilder, HashMap, HashTable};

use crate::core::error::{KpiError, KpiResult};
use crate::core::input::time::Freq;
use crate::core::input::{check_same_len, for_each_dictionary_key, Column};

/// Dense group ids for every row, and where each group was first seen.
#[derive(Debug, Clone, Default)]
pub struct Groups {
    pub ids: Vec<u32>,
    pub first_row: Vec<usize>,
}

impl Groups {
    pub fn len(&self) -> usize {
        self.first_row.len()
    }

    pub fn is_empty(&self) -> bool {
        self.first_row.is_empty()
    }
}

/// Assigns codes to distinct values of one column in order of first appearance.
#[derive(Default)]
struct Interner<'a> {
    /// Distinct strings: the table holds 4-byte positions in `byte_keys` (value, code), which
    /// grows in order. A map of (slice, code) pairs would take 24 bytes a slot: with hundreds of
    /// thousands of ids it outgrows the cache and every new id costs two cache misses on a
    /// table spread over tens of MiB, so time per row grew with the number of ids.
    bytes: HashTable<u32>,
    byte_keys: Vec<(&'a [u8], u32)>,
    hasher: DefaultHashBuilder,
    bits: HashMap<u64, u32>,
    rows: HashMap<Vec<u8>, u32>,
    null: Option<u32>,
    first_row: Vec<usize>,
    /// Rows of the whole column (all chunks): the estimate of distinct strings scales to it.
    column_rows: usize,
}

impl<'a> Interner<'a> {
    #[inline]
    fn new_code(first_row: &mut Vec<usize>, row: usize) -> u32 {
        first_row.push(row);
        (first_row.len() - 1) as u32
    }

    #[inline]
    fn null_code(&mut self, row: usize) -> u32 {
        match self.null {
            Some(c) => c,
            None => {
                let c = Self::new_code(&mut self.first_row, row);
                self.null = Some(c);
                c
            }
        }
    }

    #[inline]
    fn bits_code(&mut self, v: u64, row: usize) -> u32 {
        let first_row = &mut self.first_row;
        *self
            .bits
            .entry(v)
            .or_insert_with(|| Self::new_code(first_row, row))
    }

    #[inline]
    fn bytes_code(&mut self, v: &'a [u8], row: usize) -> u32 {
        let hash = self.hasher.hash_one(v);
        let keys = &self.byte_keys;
        if let Some(&k) = self.bytes.find(hash, |&k| keys[k as usize].0 == v) {
            return keys[k as usize].1;
        }
        let code = Self::new_code(&mut self.first_row, row);
        let (keys, hasher) = (&self.byte_keys, &self.hasher);
        self.bytes.insert_unique(hash, keys.len() as u32, |&k| {
            hasher.hash_one(keys[k as usize].0)
        });
        self.byte_keys.push((v, code));
        code
    }

    /// Ids with many distinct values would rehash the table a dozen times as it grows (each
    /// time re-reading every string, cache misses all): at row `SAMPLE` of the column, size it
    /// once from the share of new keys so far. Counted over the column, not per chunk: pandas'
    /// Arrow-backed strings arrive in thousands of small chunks.
    #[inline]
    fn size_from_sample(&mut self, row: usize) {
        const SAMPLE: usize = 1 << 16;
        if row == SAMPLE && self.column_rows > 2 * SAMPLE && self.byte_keys.len() > SAMPLE / 16 {
            let seen = self.byte_keys.len();
            let expected = (seen as f64 * self.column_rows as f64 / SAMPLE as f64) as usize;
            self.reserve_bytes(expected.saturating_sub(seen));
        }
    }

    /// Room for `additional` more distinct strings without rehashing.
    fn reserve_bytes(&mut self, additional: usize) {
        let (keys, hasher) = (&self.byte_keys, &self.hasher);
        self.bytes
            .reserve(additional, |&k| hasher.hash_one(keys[k as usize].0));
        self.byte_keys.reserve(additional);
    }

    fn primitive<T: ArrowPrimitiveType>(
        &mut self,
        a: &PrimitiveArray<T>,
        offset: usize,
        out: &mut Vec<u32>,
        to_bits: impl Fn(T::Native) -> Option<u64>,
    ) {
        for i in 0..a.len() {
            let row = offset + i;
            let code = if a.is_null(i) {
                self.null_code(row)
            } else {
                match to_bits(a.value(i)) {
                    Some(b) => self.bits_code(b, row),
                    None => self.null_code(row),
                }
            };
            out.push(code);
        }
    }

    /// Encode one array whose element `i` is input row `offset + i`.
    fn encode(&mut self, a: &'a ArrayRef, offset: usize, out: &mut Vec<u32>) -> KpiResult<()> {
        macro_rules! prim {
            ($t:ty, $f:expr) => {
                self.primitive(a.as_primitive::<$t>(), offset, out, $f)
            };
        }
        use arrow::datatypes::*;
        match a.data_type() {
            DataType::Null => (0..a.len()).for_each(|i| {
                let c = self.null_code(offset + i);
                out.push(c)
            }),
            DataType::Boolean => {
                let b = a.as_boolean();
                for i in 0..a.len() {
                    let row = offset + i;
                    let c = if b.is_null(i) {
                        self.null_code(row)
                    } else {
                        self.bits_code(b.value(i) as u64, row)
                    };
                    out.push(c);
                }
            }
            DataType::Int8 => prim!(Int8Type, |v| Some(v as i64 as u64)),
            DataType::Int16 => prim!(Int16Type, |v| Some(v as i64 as u64)),
            DataType::Int32 => prim!(Int32Type, |v| Some(v as i64 as u64)),
            DataType::Int64 => prim!(Int64Type, |v| Some(v as u64)),
            DataType::UInt8 => prim!(UInt8Type, |v| Some(v as u64)),
            DataType::UInt16 => prim!(UInt16Type, |v| Some(v as u64)),
            DataType::UInt32 => prim!(UInt32Type, |v| Some(v as u64)),
            DataType::UInt64 => prim!(UInt64Type, Some),
            DataType::Date32 => prim!(Date32Type, |v| Some(v as i64 as u64)),
            DataType::Date64 => prim!(Date64Type, |v| Some(v as u64)),
            DataType::Timestamp(TimeUnit::Second, _) => {
                prim!(TimestampSecondType, |v| Some(v as u64))
            }
            DataType::Timestamp(TimeUnit::Millisecond, _) => {
                prim!(TimestampMillisecondType, |v| Some(v as u64))
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                prim!(TimestampMicrosecondType, |v| Some(v as u64))
            }
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                prim!(TimestampNanosecondType, |v| Some(v as u64))
            }
            // -0.0 and 0.0 are one key; NaN is missing, like null.
            DataType::Float32 => prim!(Float32Type, |v: f32| {
                (!v.is_nan()).then(|| ((v as f64) + 0.0).to_bits())
            }),
            DataType::Float64 => prim!(Float64Type, |v: f64| (!v.is_nan())
                .then(|| (v + 0.0).to_bits())),
            DataType::Utf8 => self.strings(a.as_string::<i32>().iter(), offset, out),
            DataType::LargeUtf8 => self.strings(a.as_string::<i64>().iter(), offset, out),
            DataType::Utf8View => self.strings(a.as_string_view().iter(), offset, out),
            DataType::Binary => self.binaries(a.as_binary::<i32>().iter(), offset, out),
            DataType::LargeBinary => self.binaries(a.as_binary::<i64>().iter(), offset, out),
            DataType::Dictionary(_, _) => {
                let d = a.as_any_dictionary();
                let values = d.values();
                // Codes of the dictionary's values (position j stands for value j).
                let mut value_codes = Vec::with_capacity(values.len());
                // The first row of a value is only known once a key points at it, so values
                // are interned with a placeholder row and fixed up below.
                let before = self.first_row.len();
                // Values are not rows: no estimate of the column's distinct keys from them.
                let column_rows = std::mem::take(&mut self.column_rows);
                self.encode(values, 0, &mut value_codes)?;
                self.column_rows = column_rows;
                let mut seen = vec![false; self.first_row.len()];
                for s in seen.iter_mut().take(before) {
                    *s = true;
                }
                let mut row = offset;
                for_each_dictionary_key(d, |key| {
                    let code = match key {
                        None => self.null_code(row),
                        Some(key) => value_codes[key],
                    };
                    let c = code as usize;
                    if c < seen.len() && !seen[c] {
                        seen[c] = true;
                        self.first_row[c] = row;
                    }
                    out.push(code);
                    row += 1;
                });
                // Dictionary values that no key uses must not become groups.
                self.drop_unseen(&seen, out)?;
            }
            _ => {
                let conv = RowConverter::new(vec![SortField::new(a.data_type().clone())])?;
                let converted = conv.convert_columns(std::slice::from_ref(a))?;
                for i in 0..a.len() {
                    let row = offset + i;
                    let c = if a.is_null(i) {
                        self.null_code(row)
                    } else {
                        let first_row = &mut self.first_row;
                        *self
                            .rows
                            .entry(converted.row(i).as_ref().to_vec())
                            .or_insert_with(|| Self::new_code(first_row, row))
                    };
                    out.push(c);
                }
            }
        }
        Ok(())
    }

    fn strings<I: Iterator<Item = Option<&'a str>>>(
        &mut self,
        it: I,
        offset: usize,
        out: &mut Vec<u32>,
    ) {
        // Exports usually list an entity's rows together: a run of equal keys needs one lookup.
        let mut last: Option<(&'a [u8], u32)> = None;
        for (i, v) in it.enumerate() {
            let row = offset + i;
            self.size_from_sample(row);
            let c = match v {
                Some(s) => {
                    let b = s.as_bytes();
                    match last {
                        Some((prev, code)) if prev == b => code,
                        _ => {
                            let code = self.bytes_code(b, row);
                            last = Some((b, code));
                            code
                        }
                    }
                }
                None => self.null_code(row),
            };
            out.push(c);
        }
    }

    fn binaries<I: Iterator<Item = Option<&'a [u8]>>>(
        &mut self,
        it: I,
        offset: usize,
        out: &mut Vec<u32>,
    ) {
        for (i, v) in it.enumerate() {
            let row = offset + i;
            self.size_from_sample(row);
            let c = match v {
                Some(s) => self.bytes_code(s, row),
                None => self.null_code(row),
            };
            out.push(c);
        }
    }

    /// Unused dictionary values were given codes; renumber so only used codes remain. Rare
    /// (only dictionaries with unused entries) and linear in rows.
    fn drop_unseen(&mut self, seen: &[bool], out: &mut [u32]) -> KpiResult<()> {
        if seen.iter().all(|s| *s) {
            return Ok(());
        }
        // Codes created after `seen` was sized (the null group, first met in this chunk) are
        // in use by definition.
        let n_codes = self.first_row.len();
        let mut remap = vec![u32::MAX; n_codes];
        let mut first_row = Vec::with_capacity(n_codes);
        for (c, slot) in remap.iter_mut().enumerate() {
            if seen.get(c).copied().unwrap_or(true) {
                *slot = first_row.len() as u32;
                first_row.push(self.first_row[c]);
            }
        }
        for c in out.iter_mut() {
            *c = remap[*c as usize];
        }
        for v in self
            .byte_keys
            .iter_mut()
            .map(|(_, c)| c)
            .chain(self.bits.values_mut())
            .chain(self.rows.values_mut())
        {
            *v = remap[*v as usize];
        }
        if self.byte_keys.iter().any(|(_, c)| *c == u32::MAX) {
            // Positions in `byte_keys` shift: rebuild the table over the strings kept.
            self.byte_keys.retain(|(_, c)| *c != u32::MAX);
            self.bytes.clear();
            let (keys, hasher) = (&self.byte_keys, &self.hasher);
            for (k, (v, _)) in keys.iter().enumerate() {
                self.bytes
                    .insert_unique(hasher.hash_one(v), k as u32, |&k| {
                        hasher.hash_one(keys[k as usize].0)
                    });
            }
        }
        self.bits.retain(|_, v| *v != u32::MAX);
        self.rows.retain(|_, v| *v != u32::MAX);
        if let Some(n) = self.null {
            self.null = (remap[n as usize] != u32::MAX).then_some(remap[n as usize]);
        }
        self.first_row = first_row;
        Ok(())
    }
}

/// Largest lookup table (entries) a dense integer key may use instead of hashing.
const DENSE_LIMIT: i64 = 1 << 24;

/// Group ids of one column.
fn column_groups(col: &Column) -> KpiResult<Groups> {
    if let Some(g) = dense_integer_groups(col)? {
        return Ok(g);
    }
    let mut interner = Interner {
        column_rows: col.len(),
        ..Interner::default()
    };
    let mut ids = Vec::with_capacity(col.len());
    let mut at = 0;
    for chunk in &col.chunks {
        interner.encode(chunk, at, &mut ids)?;
        at += chunk.len();
    }
    Ok(Groups {
        ids,
        first_row: interner.first_row,
    })
}

/// An integer-like column (small integer types, dates) as Int64 chunks with its smallest and
/// largest value, when that range is short enough for a lookup table (see
/// [`dense_integer_groups`]).
type DenseRange = (Vec<Int64Array>, i64, i64);

fn dense_range(col: &Column) -> KpiResult<Option<DenseRange>> {
    let dt = col.data_type();
    let integer_like = crate::core::input::small_int(&dt) || dt == DataType::Date32;
    if !integer_like || col.is_empty() {
        return Ok(None);
    }
    let chunks: Vec<Int64Array> = col
        .chunks
        .iter()
        .map(|c| {
            Ok(arrow::compute::cast(c, &DataType::Int64)?
                .as_primitive::<Int64Type>()
                .clone())
        })
        .collect::<KpiResult<_>>()?;
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for c in &chunks {
        if let (Some(a), Some(b)) = (arrow::compute::min(c), arrow::compute::max(c)) {
            lo = lo.min(a);
            hi = hi.max(b);
        }
    }
    let n = col.len() as i64;
    if lo > hi || hi.saturating_sub(lo) >= DENSE_LIMIT.min(4 * n + 65_536) {
        return Ok(None);
    }
    Ok(Some((chunks, lo, hi)))
}

/// Integer-like keys (period ordinals, dates, small ids) spanning a short range are looked up
/// in a table instead of hashed: the common case of grouping by period costs one array access
/// per row.
fn dense_integer_groups(col: &Column) -> KpiResult<Option<Groups>> {
    let Some((chunks, lo, hi)) = dense_range(col)? else {
        return Ok(None);
    };
    let mut table = vec![u32::MAX; (hi - lo + 1) as usize];
    let mut null_code = u32::MAX;
    let mut first_row = Vec::new();
    let mut ids = Vec::with_capacity(col.len());
    let mut row = 0;
    for c in &chunks {
        if c.null_count() == 0 {
            // The usual key (period ordinals, ids): one table read per row, no null test,
            // and `extend` over an exact-size iterator (no capacity check per row).
            ids.extend(c.values().iter().enumerate().map(|(i, &v)| {
                let slot = &mut table[(v - lo) as usize];
                if *slot == u32::MAX {
                    *slot = first_row.len() as u32;
                    first_row.push(row + i);
                }
                *slot
            }));
            row += c.len();
            continue;
        }
        for i in 0..c.len() {
            let slot = if c.is_null(i) {
                &mut null_code
            } else {
                &mut table[(c.value(i) - lo) as usize]
            };
            if *slot == u32::MAX {
                *slot = first_row.len() as u32;
                first_row.push(row);
            }
            ids.push(*slot);
            row += 1;
        }
    }
    Ok(Some(Groups { ids, first_row }))
}

/// Group ids over several key columns (all the same length). No columns: one group.
pub fn group_ids(cols: &[Column]) -> KpiResult<Groups> {
    let Some(first) = cols.first() else {
        return Err(KpiError::Internal(
            "group_ids needs at least one column".into(),
        ));
    };
    let n = first.len();
    check_same_len(first, cols)?;
    let mut acc = column_groups(first)?;
    for c in &cols[1..] {
        let next = column_groups(c)?;
        let width = next.len() as u64;
        let mut first_row = Vec::new();
        let product = acc.len() as u64 * width;
        if product <= (DENSE_LIMIT as u64).min(4 * n as u64 + 65_536) {
            let mut table = vec![u32::MAX; product as usize];
            for (row, (a, b)) in acc.ids.iter_mut().zip(&next.ids).enumerate() {
                let slot = &mut table[(*a as u64 * width + *b as u64) as usize];
                if *slot == u32::MAX {
                    *slot = first_row.len() as u32;
                    first_row.push(row);
                }
                *a = *slot;
            }
        } else {
            let mut map: HashMap<u64, u32> = HashMap::new();
            for (row, (a, b)) in acc.ids.iter_mut().zip(&next.ids).enumerate() {
                let key = *a as u64 * width + *b as u64;
                *a = *map.entry(key).or_insert_with(|| {
                    first_row.push(row);
                    (first_row.len() - 1) as u32
                });
            }
        }
        acc.first_row = first_row;
    }
    Ok(acc)
}

/// Where each distinct key combination of `cols` first appears: the `first_row` of
/// [`group_ids`], in the same order, without a group id per row. For the one row of each
/// segment value that complete grids need (docs/conventions.md, "Complete grids"), a full
/// grouping pass would write an id for every input row only to read a handful of rows.
///
/// A dictionary column stops reading its keys once every dictionary value (and the null key,
/// if any) has been met, usually after a few rows; a short-range integer column marks values
/// in a table without writing ids; anything else is grouped.
pub fn distinct_first_rows(cols: &[Column]) -> KpiResult<Vec<usize>> {
    if let [col] = cols {
        if let Some(rows) = dictionary_first_rows(col)? {
            return Ok(rows);
        }
        if let Some((chunks, lo, hi)) = dense_range(col)? {
            return Ok(dense_first_rows(&chunks, lo, hi));
        }
    }
    Ok(group_ids(cols)?.first_row)
}

/// First rows of a dense integer column, in order of first appearance (the null key where it
/// first appears), as [`dense_integer_groups`] numbers them.
fn dense_first_rows(chunks: &[Int64Array], lo: i64, hi: i64) -> Vec<usize> {
    let span = (hi - lo + 1) as usize;
    let has_null = chunks.iter().any(|c| c.null_count() > 0);
    let all = span + usize::from(has_null);
    let mut seen = vec![false; span];
    let mut null_seen = false;
    let mut first_row = Vec::new();
    let mut row = 0;
    'chunks: for c in chunks {
        for i in 0..c.len() {
            let slot = if c.is_null(i) {
                &mut null_seen
            } else {
                &mut seen[(c.value(i) - lo) as usize]
            };
            if !*slot {
                *slot = true;
                first_row.push(row + i);
                if first_row.len() == all {
                    break 'chunks;
                }
            }
        }
        row += c.len();
    }
    first_row
}

/// First rows of a column whose every chunk is a dictionary, or None for any other column.
///
/// Each chunk's keys are read only until every value of its dictionary and its null key (if
/// it has nulls) were met. Those first keys, in row order, form a small dictionary array that
/// the group interner reads as it would the whole chunk: the groups, their order (a
/// dictionary's groups are numbered in the order of its values, not of first appearance) and
/// their first rows are those of [`group_ids`].
fn dictionary_first_rows(col: &Column) -> KpiResult<Option<Vec<usize>>> {
    if col.chunks.is_empty()
        || !col
            .chunks
            .iter()
            .all(|c| matches!(c.data_type(), DataType::Dictionary(_, _)))
    {
        return Ok(None);
    }
    // Per chunk, its first keys as a dictionary array over the chunk's values; `rows` maps
    // their positions (all chunks end to end) to input rows.
    let mut firsts: Vec<ArrayRef> = Vec::with_capacity(col.chunks.len());
    let mut rows: Vec<usize> = Vec::new();
    let mut offset = 0;
    for chunk in &col.chunks {
        let d = chunk.as_any_dictionary();
        let values = d.values();
        let mut keys: Vec<Option<i64>> = Vec::new();
        first_dictionary_keys(d, |i, key| {
            rows.push(offset + i);
            keys.push(key.map(|k| k as i64));
        });
        let keys = Int64Array::from(keys);
        let small = arrow::array::DictionaryArray::<Int64Type>::try_new(keys, values.clone())?;
        firsts.push(Arc::new(small));
        offset += chunk.len();
    }
    let mut interner = Interner::default();
    let mut discard = Vec::new();
    let mut at = 0;
    for a in &firsts {
        interner.encode(a, at, &mut discard)?;
        at += a.len();
    }
    Ok(Some(
        interner.first_row.into_iter().map(|p| rows[p]).collect(),
    ))
}

/// Calls `f(position in the chunk, key)` for the first occurrence of each key of `d` (a key
/// past the dictionary's end reads as its last value, as [`for_each_dictionary_key`] reads it;
/// None: a null key, or any key of an empty dictionary), in row order, and stops once every
/// value and the null key (if the keys have nulls) were met.
fn first_dictionary_keys(
    d: &dyn arrow::array::AnyDictionaryArray,
    mut f: impl FnMut(usize, Option<usize>),
) {
    use arrow::datatypes::*;
    fn each<K: ArrowPrimitiveType>(
        keys: &dyn Array,
        n_values: usize,
        f: &mut impl FnMut(usize, Option<usize>),
    ) {
        let keys = keys.as_primitive::<K>();
        let last = n_values - 1;
        let mut seen = vec![false; n_values];
        let mut left = n_values;
        let mut null_left = keys.null_count() > 0;
        for i in 0..keys.len() {
            if keys.is_null(i) {
                if null_left {
                    null_left = false;
                    f(i, None);
                }
            } else {
                let k = keys.value(i).as_usize().min(last);
                if !seen[k] {
                    seen[k] = true;
                    left -= 1;
                    f(i, Some(k));
                }
            }
            if left == 0 && !null_left {
                return;
            }
        }
    }
    let keys = d.keys();
    let n_values = d.values().len();
    if n_values == 0 {
        if !keys.is_empty() {
            f(0, None);
        }
        return;
    }
    match keys.data_type() {
        DataType::Int8 => each::<Int8Type>(keys, n_values, &mut f),
        DataType::Int16 => each::<Int16Type>(keys, n_values, &mut f),
        DataType::Int32 => each::<Int32Type>(keys, n_values, &mut f),
        DataType::Int64 => each::<Int64Type>(keys, n_values, &mut f),
        DataType::UInt8 => each::<UInt8Type>(keys, n_values, &mut f),
        DataType::UInt16 => each::<UInt16Type>(keys, n_values, &mut f),
        DataType::UInt32 => each::<UInt32Type>(keys, n_values, &mut f),
        DataType::UInt64 => each::<UInt64Type>(keys, n_values, &mut f),
        // Arrow allows integer keys only; [`for_each_dictionary_key`] reads any other as null.
        _ => {
            if !keys.is_empty() {
                f(0, None);
            }
        }
    }
}

/// The rows at global positions `rows` of a chunked column, as one array of the column's type.
pub fn take_rows(col: &Column, rows: &[usize]) -> KpiResult<ArrayRef> {
    let taken = if col.chunks.is_empty() {
        arrow::array::new_empty_array(&DataType::Null)
    } else if col.chunks.len() == 1 {
        let idx = arrow::array::UInt64Array::from_iter_values(rows.iter().map(|&r| r as u64));
        take(col.chunks[0].as_ref(), &idx, None)?
    } else {
        let offsets = col.offsets();
        let pairs: Vec<(usize, usize)> = rows
            .iter()
            .map(|&r| {
                let chunk = offsets.partition_point(|&o| o <= r) - 1;
                (chunk, r - offsets[chunk])
            })
            .collect();
        let arrays: Vec<&dyn Array> = col.chunks.iter().map(|c| c.as_ref()).collect();
        interleave(&arrays, &pairs)?
    };
    // Taking from several dictionary chunks can repeat dictionary values (pandas then refuses
    // the categories); group keys are few, so they are returned as plain values instead.
    match taken.data_type() {
        DataType::Dictionary(_, value) => Ok(arrow::compute::cast(&taken, value)?),
        _ => Ok(taken),
    }
}

/// Additive merge of partial states: rows with equal key columns (the first `n_keys`) are
/// combined by summing the remaining Int64 columns. Used to merge per-partition results.
pub fn merge_sum(states: &[RecordBatch], n_keys: usize) -> KpiResult<RecordBatch> {
    let Some(first) = states.first() else {
        return Err(KpiError::Internal("merge of zero partial states".into()));
    };
    let names = |b: &RecordBatch| -> Vec<String> {
        b.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    };
    for s in states {
        if names(s) != names(first) {
            return Err(KpiError::param(
                "states",
                "partial states have different columns; they must come from the same call",
            ));
        }
    }
    // Partitions may type a key differently (an empty partition's strings as Null, one
    // library's Utf8 against another's LargeUtf8): cast every key to the first real type.
    let mut fields: Vec<FieldRef> = first.schema().fields().iter().cloned().collect();
    for (j, f) in fields.iter_mut().enumerate().take(n_keys) {
        if let Some(t) = states
            .iter()
            .map(|s| s.column(j).data_type())
            .find(|t| **t != DataType::Null)
        {
            *f = Arc::new(
                f.as_ref()
                    .clone()
                    .with_data_type(t.clone())
                    .with_nullable(true),
            );
        }
    }
    let schema = Arc::new(Schema::new(fields));
    let col = |j: usize| -> KpiResult<Column> {
        let target = schema.field(j).data_type();
        let chunks = states
            .iter()
            .map(|s| {
                let a = s.column(j);
                if a.data_type() == target {
                    Ok(a.clone())
                } else {
                    Ok(arrow::compute::cast(a, target)?)
                }
            })
            .collect::<KpiResult<Vec<_>>>()?;
        Ok(Column::new(schema.field(j).name().clone(), chunks))
    };
    let total: usize = states.iter().map(|s| s.num_rows()).sum();
    let groups = if n_keys == 0 {
        Groups {
            ids: vec![0; total],
            first_row: if total > 0 { vec![0] } else { vec![] },
        }
    } else {
        let keys: Vec<Column> = (0..n_keys).map(col).collect::<KpiResult<_>>()?;
        group_ids(&keys)?
    };
    let mut out: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for j in 0..n_keys {
        out.push(take_rows(&col(j)?, &groups.first_row)?);
    }
    for j in n_keys..schema.fields().len() {
        let mut sums = vec![0i64; groups.len()];
        let mut row = 0;
        for s in states {
            let a = s.column(j).as_primitive::<Int64Type>();
            for i in 0..a.len() {
                let g = groups.ids[row] as usize;
                sums[g] = sums[g]
                    .checked_add(a.value(i))
                    .ok_or_else(|| KpiError::Overflow {
                        what: format!("sum of {:?}", schema.field(j).name()),
                    })?;
                row += 1;
            }
        }
        out.push(Arc::new(Int64Array::from(sums)));
    }
    Ok(RecordBatch::try_new(schema.clone(), out)?)
}

/// The categories of a state's categorical segment columns (docs/conventions.md, "Complete
/// grids"): for each segment column, `None` when it is not categorical, else the dictionary's
/// values as text (in the order met) and the value type's name. They travel in the state's
/// metadata ([`crate::core::engine::state::meta::CATEGORIES`]) as JSON, so that a category no
/// row uses reaches the finish, merged across partitions like the counts.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Categories(pub Vec<Option<SegmentCategories>>);

/// The categories of one segment column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SegmentCategories {
    /// The Arrow value type (`DataType`'s display form), for a state whose column is all Null.
    #[serde(rename = "type")]
    pub data_type: String,
    /// The categories as text (Arrow's cast to Utf8), nulls left out.
    pub values: Vec<String>,
}

impl Categories {
    /// The categories of the dictionary-encoded columns among `segments` (pandas categoricals,
    /// polars Enums, Arrow dictionaries all arrive so); None when none is.
    pub fn of_columns(segments: &[Column]) -> KpiResult<Option<Categories>> {
        let mut out = Vec::with_capacity(segments.len());
        for c in segments {
            out.push(match c.data_type() {
                DataType::Dictionary(_, value) => {
                    let mut values: Vec<String> = Vec::new();
                    let mut seen: std::collections::HashSet<String> = Default::default();
                    let mut castable = true;
                    for chunk in &c.chunks {
                        let dict = chunk.as_any_dictionary().values();
                        let Ok(text) = arrow::compute::cast(dict, &DataType::Utf8) else {
                            // A value type without a text form: grouped as observed only.
                            castable = false;
                            break;
                        };
                        for v in text.as_string::<i32>().iter().flatten() {
                            if seen.insert(v.to_string()) {
                                values.push(v.to_string());
                            }
                        }
                    }
                    castable.then(|| SegmentCategories {
                        data_type: value.to_string(),
                        values,
                    })
                }
                _ => None,
            });
        }
        Ok(out.iter().any(Option::is_some).then_some(Categories(out)))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> KpiResult<Categories> {
        serde_json::from_str(s)
            .map_err(|e| KpiError::param("state", format!("bad categories metadata: {e}")))
    }

    /// Add `other`'s categories (partitions may know different ones): a column categorical in
    /// either is categorical, its categories the union in order of first appearance.
    pub fn union(&mut self, other: &Categories) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), None);
        }
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            match (mine.as_mut(), theirs) {
                (_, None) => {}
                (None, Some(t)) => *mine = Some(t.clone()),
                (Some(m), Some(t)) => {
                    // Hashed: a Dask merge unites hundreds of partitions' lists.
                    let mut known: std::collections::HashSet<&str> =
                        m.values.iter().map(String::as_str).collect();
                    let added: Vec<String> = t
                        .values
                        .iter()
                        .filter(|v| known.insert(v.as_str()))
                        .cloned()
                        .collect();
                    m.values.extend(added);
                }
            }
        }
    }

    fn any(&self, n_segments: usize) -> bool {
        self.0.iter().take(n_segments).any(Option::is_some)
    }
}

/// The layout of a grouped result: one row per segment and period, every period from the first
/// to the last present (gaps included), segments sorted by value (nulls last).
pub struct Grid {
    /// For every output row, the state row it takes its values from (None: an empty period).
    pub source: Vec<Option<usize>>,
    /// Output columns for the keys: the period start dates (if any) then the segment columns.
    pub keys: Vec<ArrayRef>,
}

/// Most rows a gap-filled (period x segment) result may have, unless the state itself is large
/// (then 64 output rows per state row).
pub const MAX_GRID_ROWS: usize = 2_000_000;

/// The segments of a grid in output order: their key values (one array per segment column)
/// and, for every state row, the position of its segment.
struct Segments {
    count: usize,
    of_row: Vec<usize>,
    keys: Vec<ArrayRef>,
}

/// The segments that occur in the state's rows, sorted by value (nulls last).
fn observed_segments(seg_cols: &[Column], n: usize) -> KpiResult<Segments> {
    if seg_cols.is_empty() {
        // No segments: the whole input is one segment, present even when empty.
        return Ok(Segments {
            count: 1,
            of_row: vec![0; n],
            keys: vec![],
        });
    }
    let groups = group_ids(seg_cols)?;
    let keys: Vec<ArrayRef> = seg_cols
        .iter()
        .map(|c| take_rows(c, &groups.first_row))
        .collect::<KpiResult<_>>()?;
    let sort_cols: Vec<SortColumn> = keys
        .iter()
        .map(|a| SortColumn {
            values: a.clone(),
            options: Some(SortOptions {
                descending: false,
                nulls_first: false,
            }),
        })
        .collect();
    let order = lexsort_to_indices(&sort_cols, None)?;
    let mut rank = vec![0usize; groups.len()];
    for (r, &g) in order.values().iter().enumerate() {
        rank[g as usize] = r;
    }
    Ok(Segments {
        count: groups.len(),
        of_row: groups.ids.iter().map(|&g| rank[g as usize]).collect(),
        keys: keys
            .iter()
            .map(|a| Ok(take(a.as_ref(), &order, None)?))
            .collect::<KpiResult<_>>()?,
    })
}

/// With a categorical segment column, the segments of pandas' `groupby(observed=False)`: every
/// combination of the columns' levels, where a categorical column's levels are its categories
/// and every other column's the values that occur (a missing value, when it occurs, is a level
/// of its own, last). Combinations in value order, the first column slowest.
fn category_segments(
    seg_cols: &[Column],
    categories: &Categories,
    n: usize,
    limit: usize,
) -> KpiResult<Segments> {
    let mut levels: Vec<ArrayRef> = Vec::with_capacity(seg_cols.len());
    let mut level_of_row: Vec<Vec<usize>> = Vec::with_capacity(seg_cols.len());
    for (j, col) in seg_cols.iter().enumerate() {
        let mut chunks = col.chunks.clone();
        if let Some(Some(cats)) = categories.0.get(j) {
            let mut target = col.data_type();
            if target == DataType::Null {
                // Every value of this state is missing (an empty partition): the categories
                // keep the type they had.
                target = cats.data_type.parse().unwrap_or(DataType::Utf8);
                chunks = chunks
                    .iter()
                    .map(|c| arrow::compute::cast(c, &target))
                    .collect::<Result<_, _>>()?;
            }
            let text = arrow::array::StringArray::from_iter_values(cats.values.iter());
            // Categories that do not read back as the column's type cannot be told apart from
            // its values: the column is grouped as observed.
            if let Ok(values) = arrow::compute::cast(&text, &target) {
                chunks.push(values);
            }
        }
        let all = Column::new(col.name.clone(), chunks);
        let groups = group_ids(std::slice::from_ref(&all))?;
        let distinct = take_rows(&all, &groups.first_row)?;
        let order = if distinct.data_type() == &DataType::Null {
            // Every value missing (a categorical without categories): one level.
            arrow::array::UInt32Array::from_iter_values(0..distinct.len() as u32)
        } else {
            arrow::compute::sort_to_indices(
                &distinct,
                Some(SortOptions {
                    descending: false,
                    nulls_first: false,
                }),
                None,
            )?
        };
        let mut rank = vec![0usize; groups.len()];
        for (r, &g) in order.values().iter().enumerate() {
            rank[g as usize] = r;
        }
        level_of_row.push(groups.ids[..n].iter().map(|&g| rank[g as usize]).collect());
        levels.push(take(distinct.as_ref(), &order, None)?);
    }
    let count = levels
        .iter()
        .try_fold(1usize, |acc, l| acc.checked_mul(l.len()))
        .filter(|&c| c <= limit)
        .ok_or_else(|| {
            let sizes: Vec<String> = seg_cols
                .iter()
                .zip(&levels)
                .map(|(c, l)| format!("{:?}: {}", c.name, l.len()))
                .collect();
            KpiError::param(
                "by",
                format!(
                    "every combination of the segments' categories and values ({}) makes more \
                     than the {limit} rows a result may have; group by fewer columns or drop \
                     unused categories (cat.remove_unused_categories())",
                    sizes.join(", ")
                ),
            )
        })?;
    // Position = Σ level × stride, the last column fastest.
    let mut strides = vec![1usize; levels.len()];
    for j in (0..levels.len().saturating_sub(1)).rev() {
        strides[j] = strides[j + 1] * levels[j + 1].len();
    }
    let of_row = (0..n)
        .map(|r| {
            (0..levels.len())
                .map(|j| level_of_row[j][r] * strides[j])
                .sum()
        })
        .collect();
    let keys = levels
        .iter()
        .zip(&strides)
        .map(|(l, &s)| {
            let idx = arrow::array::UInt64Array::from_iter_values(
                (0..count).map(|p| ((p / s) % l.len()) as u64),
            );
            Ok(take(l.as_ref(), &idx, None)?)
        })
        .collect::<KpiResult<_>>()?;
    Ok(Segments {
        count,
        of_row,
        keys,
    })
}

/// Lay out a state whose key columns are `[period (Date32)?, segments…]`. `categories` (from
/// the state's metadata) add the categories no row uses, as pandas' `groupby(observed=False)`.
pub fn grid(
    state: &RecordBatch,
    has_period: bool,
    n_segments: usize,
    freq: Option<Freq>,
    categories: Option<&Categories>,
) -> KpiResult<Grid> {
    let n = state.num_rows();
    let seg_offset = usize::from(has_period);
    let seg_cols: Vec<Column> = (0..n_segments)
        .map(|j| {
            let f = state.schema().field(seg_offset + j).name().clone();
            Column::from_array(f, state.column(seg_offset + j).clone())
        })
        .collect();
    let limit = MAX_GRID_ROWS.max(n.saturating_mul(64));
    let segs = match categories {
        Some(c) if c.any(n_segments) => category_segments(&seg_cols, c, n, limit)?,
        _ => observed_segments(&seg_cols, n)?,
    };

    let mut source = Vec::new();
    let mut seg_of_row: Vec<usize> = Vec::new();
    let mut keys: Vec<ArrayRef> = Vec::new();
    if has_period {
        let freq =
            freq.ok_or_else(|| KpiError::Internal("period grid without a frequency".into()))?;
        let dates = state.column(0).as_primitive::<Date32Type>();
        // A state row without a period holds a segment whose rows all failed the analysis'
        // rule (a lead that never entered): the segment gets its rows, every one empty
        // (docs/conventions.md, "Complete grids").
        let dated: Vec<bool> = (0..n).map(|r| dates.is_valid(r)).collect();
        let ords: Vec<i64> = dates
            .values()
            .iter()
            .map(|&d| freq.ordinal_of_day(d as i64))
            .collect();
        let valid_ords = || (0..n).filter(|&r| dated[r]).map(|r| ords[r]);
        let (lo, hi) = match (valid_ords().min(), valid_ords().max()) {
            (Some(lo), Some(hi)) => (lo, hi),
            _ => (0, -1),
        };
        let width = usize::try_from(hi - lo + 1).unwrap_or(0);
        let cells = width.saturating_mul(segs.count);
        if cells > limit {
            // A stray time (a 1900 or 2200 placeholder, a unit mix-up) would otherwise make a
            // gap-filled result of hundreds of millions of empty rows: minutes and gigabytes.
            let date = |o: i64| {
                let (y, m, d) = crate::core::input::time::civil_from_days(freq.start_day(o));
                format!("{y:04}-{m:02}-{d:02}")
            };
            return Err(KpiError::param(
                "freq",
                format!(
                    "the data spans {width} periods ({} to {}) x {} segment(s) = {cells} rows, \
                     more than the {limit} a gap-filled result may have; check the \
                     time column for outlying times or use a coarser freq",
                    date(lo),
                    date(hi),
                    segs.count,
                ),
            ));
        }
        // State rows sorted by (segment, period).
        let mut rows: Vec<usize> = (0..n).filter(|&r| dated[r]).collect();
        rows.sort_unstable_by_key(|&r| (segs.of_row[r], ords[r]));
        let mut it = rows.into_iter().peekable();
        let mut out_ords = Vec::with_capacity(segs.count * width);
        for s in 0..segs.count {
            for k in 0..width {
                let o = lo + k as i64;
                let src = match it.peek() {
                    Some(&row) if segs.of_row[row] == s && ords[row] == o => {
                        it.next();
                        Some(row)
                    }
                    _ => None,
                };
                source.push(src);
                seg_of_row.push(s);
                out_ords.push(Some(o));
            }
        }
        keys.push(Arc::new(crate::core::input::time::start_dates(freq, out_ords)) as ArrayRef);
        let keys_cast = arrow::compute::cast(&keys[0], &DataType::Date32)?;
        keys[0] = keys_cast;
    } else {
        // One state row per segment already (no periods to fill).
        let mut by_seg = vec![None; segs.count];
        for r in 0..n {
            by_seg[segs.of_row[r]] = Some(r);
        }
        for (s, src) in by_seg.into_iter().enumerate() {
            source.push(src);
            seg_of_row.push(s);
        }
    }
    let idx = arrow::array::UInt64Array::from_iter_values(seg_of_row.iter().map(|&g| g as u64));
    for a in &segs.keys {
        keys.push(take(a.as_ref(), &idx, None)?);
    }
    Ok(Grid { source, keys })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{DictionaryArray, Int32Array, StringArray, StringViewArray, UInt64Array};
    use arrow::datatypes::Int8Type;

    #[test]
    fn strings_of_every_flavour_group_alike() {
        let a = Column::new(
            "plan",
            vec![
                Arc::new(StringArray::from(vec![Some("pro"), None, Some("free")])) as ArrayRef,
                Arc::new(StringArray::from(vec![Some("free"), Some("pro")])) as ArrayRef,
            ],
        );
        let g = group_ids(&[a]).unwrap();
        assert_eq!(g.ids, vec![0, 1, 2, 2, 0]);
        assert_eq!(g.first_row, vec![0, 1, 2]);
        let v = Column::from_array(
            "plan",
            Arc::new(StringViewArray::from(vec![
                Some("pro"),
                None,
                Some("free"),
                Some("free"),
                Some("pro"),
            ])),
        );
        assert_eq!(group_ids(&[v]).unwrap().ids, vec![0, 1, 2, 2, 0]);
        let d: DictionaryArray<Int8Type> = vec!["x", "pro", "free", "free", "pro"]
            .into_iter()
            .collect();
        let d = Column::from_array("plan", Arc::new(d.slice(1, 4)));
        let g = group_ids(&[d]).unwrap();
        assert_eq!(g.ids, vec![0, 1, 1, 0]);
        assert_eq!(g.first_row, vec![0, 1]);
    }

    #[test]
    fn a_dictionary_with_unused_values_and_nulls_groups_without_panicking() {
        // Regression (fuzzing): the null group, created while reading the keys, was outside
        // the renumbering table of unused values (a pandas categorical with an unused
        // category and a missing value).
        let d = DictionaryArray::<Int8Type>::new(
            arrow::array::Int8Array::from(vec![Some(0), None, Some(0), None]),
            Arc::new(StringArray::from(vec!["a", "unused"])),
        );
        let g = group_ids(&[Column::from_array("plan", Arc::new(d))]).unwrap();
        assert_eq!(g.ids, vec![0, 1, 0, 1]);
        assert_eq!(g.first_row, vec![0, 1]);
    }

    #[test]
    fn strings_dropped_as_unused_are_found_again_in_a_later_chunk() {
        // Chunk 1 interns "unused" with its dictionary and drops it (no key uses it); chunk 2
        // uses it, and "a" and "b" must still find their codes in the rebuilt table.
        let d1 = DictionaryArray::<Int8Type>::new(
            arrow::array::Int8Array::from(vec![0, 2]),
            Arc::new(StringArray::from(vec!["a", "unused", "b"])),
        );
        let d2 = DictionaryArray::<Int8Type>::new(
            arrow::array::Int8Array::from(vec![0, 1, 2]),
            Arc::new(StringArray::from(vec!["unused", "b", "a"])),
        );
        let c = Column::new(
            "plan",
            vec![Arc::new(d1) as ArrayRef, Arc::new(d2) as ArrayRef],
        );
        let g = group_ids(&[c]).unwrap();
        assert_eq!(g.ids, vec![0, 1, 2, 1, 0]);
        assert_eq!(g.first_row, vec![0, 1, 2]);
    }

    #[test]
    fn many_distinct_strings_keep_first_appearance_codes() {
        // 300,000 rows, ids in runs of two with every 7th id coming back later: past the
        // sampled pre-sizing of the table (65,536 rows) and its growth.
        let n = 300_000usize;
        let key = |r: usize| if (r / 2) % 7 == 3 { r / 2 - 3 } else { r / 2 };
        let values: Vec<String> = (0..n).map(|r| format!("cus_{:07}", key(r))).collect();
        let whole = StringArray::from(values);
        let mut code_of = std::collections::HashMap::new();
        let mut first_row = Vec::new();
        let mut expected = Vec::with_capacity(n);
        for r in 0..n {
            let next = code_of.len() as u32;
            expected.push(*code_of.entry(key(r)).or_insert_with(|| {
                first_row.push(r);
                next
            }));
        }
        // One chunk, and chunks of 10,007 rows (as pandas' Arrow-backed strings arrive): the
        // table is sized at row 65,536 of the column, inside a chunk.
        let chunked: Vec<ArrayRef> = (0..n)
            .step_by(10_007)
            .map(|s| Arc::new(whole.slice(s, 10_007.min(n - s))) as ArrayRef)
            .collect();
        for c in [
            Column::from_array("customer", Arc::new(whole.clone())),
            Column::new("customer", chunked),
        ] {
            let g = group_ids(&[c]).unwrap();
            assert_eq!(g.ids, expected);
            assert_eq!(g.first_row, first_row);
        }
    }

    #[test]
    fn an_all_null_dictionary_without_values_is_one_null_group() {
        // Regression (fuzzing): arrow's normalized_keys panics on an empty dictionary, which is
        // what an all-missing pandas categorical exports.
        let d = DictionaryArray::<Int8Type>::new(
            arrow::array::Int8Array::from(vec![None, None, None]),
            Arc::new(StringArray::from(Vec::<&str>::new())),
        );
        let g = group_ids(&[Column::from_array("plan", Arc::new(d))]).unwrap();
        assert_eq!(g.ids, vec![0, 0, 0]);
        assert_eq!(g.first_row, vec![0]);
    }

    #[test]
    fn several_columns_combine() {
        let a = Column::from_array("a", Arc::new(Int32Array::from(vec![1, 1, 2, 1])));
        let b = Column::from_array(
            "b",
            Arc::new(UInt64Array::from(vec![u64::MAX, 5, u64::MAX, u64::MAX])),
        );
        let g = group_ids(&[a, b]).unwrap();
        assert_eq!(g.ids, vec![0, 1, 2, 0]);
        let c = Column::new(
            "c",
            vec![
                Arc::new(Int32Array::from(vec![7, 8])) as ArrayRef,
                Arc::new(Int32Array::from(vec![9, 10])) as ArrayRef,
            ],
        );
        let taken = take_rows(&c, &[3, 0, 2]).unwrap();
        assert_eq!(
            taken.as_primitive::<arrow::datatypes::Int32Type>().values(),
            &[10, 7, 9]
        );
    }

    fn strings(v: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    fn texts(a: &ArrayRef) -> Vec<Option<String>> {
        let a = arrow::compute::cast(a, &DataType::Utf8).unwrap();
        a.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    fn cats(values: &[&str]) -> Option<SegmentCategories> {
        Some(SegmentCategories {
            data_type: "Utf8".into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        })
    }

    /// A state of keys `[period?, segments…]` and one count column.
    fn state(period: Option<Vec<Option<i32>>>, segments: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let mut fields = Vec::new();
        let mut cols: Vec<ArrayRef> = Vec::new();
        let n = segments[0].1.len();
        if let Some(p) = period {
            fields.push(arrow::datatypes::Field::new(
                "period",
                DataType::Date32,
                true,
            ));
            cols.push(Arc::new(arrow::array::Date32Array::from(p)));
        }
        for (name, a) in segments {
            fields.push(arrow::datatypes::Field::new(
                name,
                a.data_type().clone(),
                true,
            ));
            cols.push(a);
        }
        fields.push(arrow::datatypes::Field::new("n", DataType::Int64, false));
        cols.push(Arc::new(Int64Array::from(vec![1i64; n])));
        RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
    }

    #[test]
    fn a_category_no_row_uses_gets_the_rows_of_an_empty_segment() {
        // January and February of "b", a marker row (no period) of "m": categories z, b, a, m.
        let jan = 20454; // 2026-01-01
        let feb = jan + 31;
        let s = state(
            Some(vec![Some(jan), Some(feb), None]),
            vec![("plan", strings(&[Some("b"), Some("b"), Some("m")]))],
        );
        let c = Categories(vec![cats(&["z", "b", "a", "m"])]);
        let g = grid(&s, true, 1, Some(Freq::Month), Some(&c)).unwrap();
        // Segments in value order (the caller's category order is restored in Python), each
        // over both months; only b's rows come from the state.
        let plan: Vec<Option<String>> = texts(&g.keys[1]);
        let want = ["a", "a", "b", "b", "m", "m", "z", "z"];
        assert_eq!(plan, want.map(|v| Some(v.to_string())).to_vec());
        assert_eq!(
            g.source,
            vec![None, None, Some(0), Some(1), None, None, None, None]
        );
        let months = g.keys[0].as_primitive::<Date32Type>();
        assert_eq!(
            months.values().to_vec(),
            [jan, feb].repeat(4),
            "every segment over the same months"
        );
        // Without categories: the segments that occur only.
        let g = grid(&s, true, 1, Some(Freq::Month), None).unwrap();
        assert_eq!(g.source, vec![Some(0), Some(1), None, None]);
    }

    #[test]
    fn categories_combine_with_the_values_of_the_other_segments_as_pandas_observed_false() {
        // pandas: df.groupby(["plan", "region"], observed=False, dropna=False) gives every
        // category of plan with every region value that occurs, the missing one included.
        let s = state(
            None,
            vec![
                ("plan", strings(&[Some("p"), Some("p")])),
                ("region", strings(&[None, Some("x")])),
            ],
        );
        let c = Categories(vec![cats(&["q", "p"]), None]);
        let g = grid(&s, false, 2, None, Some(&c)).unwrap();
        let s = |v: &str| Some(v.to_string());
        assert_eq!(texts(&g.keys[0]), vec![s("p"), s("p"), s("q"), s("q")]);
        assert_eq!(texts(&g.keys[1]), vec![s("x"), None, s("x"), None]);
        assert_eq!(g.source, vec![Some(1), Some(0), None, None]);
        // An empty state: only categorical segments, so every category has its row.
        let empty = state(None, vec![("plan", strings(&[]))]);
        let c = Categories(vec![cats(&["q", "p"])]);
        let g = grid(&empty, false, 1, None, Some(&c)).unwrap();
        assert_eq!(texts(&g.keys[0]), vec![s("p"), s("q")]);
        assert_eq!(g.source, vec![None, None]);
    }

    #[test]
    fn categories_read_back_as_the_columns_type() {
        // Integer categories and an all-Null column (a partition without rows).
        let s = state(
            None,
            vec![("tier", Arc::new(Int32Array::from(vec![3, 1])) as ArrayRef)],
        );
        let c = Categories(vec![Some(SegmentCategories {
            data_type: "Int32".into(),
            values: vec!["1".into(), "2".into(), "3".into(), "10".into()],
        })]);
        let g = grid(&s, false, 1, None, Some(&c)).unwrap();
        let tiers = g.keys[0].as_primitive::<arrow::datatypes::Int32Type>();
        assert_eq!(tiers.values().to_vec(), vec![1, 2, 3, 10]);
        assert_eq!(g.source, vec![Some(1), None, Some(0), None]);
        let nulls = state(
            None,
            vec![(
                "tier",
                Arc::new(arrow::array::NullArray::new(0)) as ArrayRef,
            )],
        );
        let g = grid(&nulls, false, 1, None, Some(&c)).unwrap();
        assert_eq!(g.keys[0].data_type(), &DataType::Int32);
        assert_eq!(g.source.len(), 4);
    }

    #[test]
    fn too_many_combinations_are_refused_naming_by() {
        let ids: Vec<String> = (0..3000).map(|i| format!("u{i}")).collect();
        let s = state(
            None,
            vec![
                ("plan", strings(&[Some("p"); 3000])),
                (
                    "user",
                    Arc::new(StringArray::from_iter_values(ids.iter())) as ArrayRef,
                ),
            ],
        );
        let many: Vec<String> = (0..1000).map(|i| format!("c{i}")).collect();
        let c = Categories(vec![
            Some(SegmentCategories {
                data_type: "Utf8".into(),
                values: many,
            }),
            None,
        ]);
        let e = grid(&s, false, 2, None, Some(&c))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("\"by\"") && e.contains("\"user\": 3000"), "{e}");
    }

    #[test]
    fn categories_of_dictionary_columns_round_trip_and_unite() {
        // Two chunks with different dictionaries (one value unused), and a plain column.
        let d1 = DictionaryArray::<Int8Type>::new(
            arrow::array::Int8Array::from(vec![0]),
            Arc::new(StringArray::from(vec!["a", "unused"])),
        );
        let d2 = DictionaryArray::<Int8Type>::new(
            arrow::array::Int8Array::from(vec![Some(1), None]),
            Arc::new(StringArray::from(vec![Some("b"), None, Some("a")])),
        );
        let plan = Column::new(
            "plan",
            vec![Arc::new(d1) as ArrayRef, Arc::new(d2) as ArrayRef],
        );
        let region = Column::from_array("region", strings(&[Some("x"), Some("y"), None]));
        let c = Categories::of_columns(&[plan, region.clone()])
            .unwrap()
            .unwrap();
        assert_eq!(c.0[0], cats(&["a", "unused", "b"]));
        assert_eq!(c.0[1], None);
        assert_eq!(Categories::from_json(&c.to_json()).unwrap(), c);
        assert!(Categories::of_columns(&[region]).unwrap().is_none());
        let mut all = Categories(vec![cats(&["b", "c"]), None]);
        all.union(&c);
        assert_eq!(all.0[0], cats(&["b", "c", "a", "unused"]));
        assert!(Categories::from_json("[").is_err());
    }

    /// `distinct_first_rows` against the first rows of a full grouping.
    fn same_first_rows(cols: &[Column]) -> Vec<usize> {
        let fast = distinct_first_rows(cols).unwrap();
        assert_eq!(fast, group_ids(cols).unwrap().first_row);
        fast
    }

    fn dict(keys: Vec<Option<i8>>, values: Vec<Option<&str>>) -> ArrayRef {
        Arc::new(DictionaryArray::<Int8Type>::new(
            arrow::array::Int8Array::from(keys),
            Arc::new(StringArray::from(values)),
        ))
    }

    #[test]
    fn first_rows_of_a_dictionary_follow_its_values_and_its_nulls() {
        // Groups of a dictionary are numbered in the order of its values: "b" (row 2) before
        // "c" (row 0); the null key comes after them; the unused "d" is no group.
        let c = Column::from_array(
            "plan",
            dict(
                vec![Some(2), None, Some(1), Some(2), None, Some(1)],
                vec![Some("a"), Some("b"), Some("c"), Some("d")],
            ),
        );
        assert_eq!(same_first_rows(&[c]), vec![2, 0, 1]);
        // A null among the values is the null key's group, at that value's place.
        let c = Column::from_array(
            "plan",
            dict(
                vec![Some(0), None, Some(2), Some(1)],
                vec![Some("a"), None, Some("c")],
            ),
        );
        assert_eq!(same_first_rows(&[c]), vec![0, 1, 2]);
        // Only nulls, with and without dictionary values.
        let c = Column::from_array("plan", dict(vec![None, None], vec![Some("a")]));
        assert_eq!(same_first_rows(&[c]), vec![0]);
        let c = Column::from_array("plan", dict(vec![None, None], vec![]));
        assert_eq!(same_first_rows(&[c]), vec![0]);
    }

    #[test]
    fn first_rows_of_dictionary_chunks_match_values_across_chunks() {
        // Chunk 2 has its own dictionary: "b" and "a" are the groups of chunk 1; "unused"
        // (dropped in chunk 1) and the null key are new, numbered in that order although the
        // null key comes first (row 4); chunk 3 adds nothing.
        let c = Column::new(
            "plan",
            vec![
                dict(
                    vec![Some(2), Some(0), Some(2)],
                    vec![Some("a"), Some("unused"), Some("b")],
                ),
                dict(
                    vec![Some(1), None, Some(0), Some(2)],
                    vec![Some("unused"), Some("b"), Some("a")],
                ),
                dict(vec![Some(0), None], vec![Some("a")]),
            ],
        );
        assert_eq!(same_first_rows(&[c]), vec![1, 0, 5, 4]);
        // A sliced chunk reads its own keys only.
        let d: DictionaryArray<Int8Type> = vec!["x", "pro", "free", "free", "pro"]
            .into_iter()
            .collect();
        let c = Column::new(
            "plan",
            vec![
                Arc::new(d.slice(1, 4)) as ArrayRef,
                dict(vec![Some(0)], vec![Some("x")]),
            ],
        );
        assert_eq!(same_first_rows(&[c]), vec![0, 1, 4]);
    }

    #[test]
    fn first_rows_of_integers_several_columns_and_empty_input() {
        let ints = Column::new(
            "k",
            vec![
                Arc::new(Int32Array::from(vec![Some(5), None, Some(5)])) as ArrayRef,
                Arc::new(Int32Array::from(vec![Some(-2), Some(5), None, Some(7)])) as ArrayRef,
            ],
        );
        assert_eq!(
            same_first_rows(std::slice::from_ref(&ints)),
            vec![0, 1, 3, 6]
        );
        // Too wide for a table: hashed, same rows.
        let wide = Column::from_array(
            "k",
            Arc::new(Int64Array::from(vec![
                Some(1 << 40),
                None,
                Some(0),
                Some(1 << 40),
            ])),
        );
        assert_eq!(same_first_rows(&[wide]), vec![0, 1, 2]);
        let plan = Column::new(
            "plan",
            vec![
                dict(vec![Some(0), Some(1), Some(0)], vec![Some("a"), Some("b")]),
                dict(
                    vec![Some(0), Some(0), Some(1), Some(1)],
                    vec![Some("b"), Some("a")],
                ),
            ],
        );
        assert_eq!(same_first_rows(&[plan, ints]), vec![0, 1, 3, 4, 5, 6]);
        for empty in [
            Column::from_array("k", Arc::new(Int32Array::from(Vec::<i32>::new()))),
            Column::from_array("plan", dict(vec![], vec![Some("a")])),
            Column::new("plan", vec![]),
        ] {
            assert_eq!(distinct_first_rows(&[empty]).unwrap(), Vec::<usize>::new());
        }
    }

    proptest::proptest! {
        // Dictionary chunks of random keys (nulls, unused and repeated values, a null value)
        // give the first rows of the full grouping.
        #[test]
        fn dictionary_first_rows_agree_with_grouping(
            chunks in proptest::collection::vec(
                (
                    proptest::collection::vec(proptest::option::of(0i8..5), 0..30),
                    proptest::collection::vec(proptest::option::of(0u8..4), 1..6),
                ),
                1..4,
            ),
        ) {
            let names = ["a", "b", "c", "d"];
            let arrays: Vec<ArrayRef> = chunks
                .iter()
                .map(|(keys, values)| {
                    let keys: Vec<Option<i8>> = keys
                        .iter()
                        .map(|k| k.map(|k| k % values.len() as i8))
                        .collect();
                    dict(keys, values.iter().map(|v| v.map(|v| names[v as usize])).collect())
                })
                .collect();
            let c = Column::new("plan", arrays);
            let fast = distinct_first_rows(std::slice::from_ref(&c)).unwrap();
            proptest::prop_assert_eq!(fast, group_ids(&[c]).unwrap().first_row);
        }
    }

    proptest::proptest! {
        // Dense lookup (small ranges), hashing (wide ranges) and string keys agree.
        #[test]
        fn integer_paths_agree_with_string_keys(
            vals in proptest::collection::vec(proptest::option::of(-3i64..4), 0..60),
            spread in proptest::bool::ANY,
        ) {
            let ints: Vec<Option<i64>> = vals
                .iter()
                .map(|v| v.map(|x| if spread { x * 1_000_000_000_000 } else { x }))
                .collect();
            let strs: Vec<Option<String>> = vals.iter().map(|v| v.map(|x| x.to_string())).collect();
            let a = group_ids(&[Column::from_array("k", Arc::new(Int64Array::from(ints)))]).unwrap();
            let b = group_ids(&[Column::from_array("k", Arc::new(StringArray::from(strs)))]).unwrap();
            proptest::prop_assert_eq!(a.ids, b.ids);
            proptest::prop_assert_eq!(a.first_row, b.first_row);
        }
    }
}
