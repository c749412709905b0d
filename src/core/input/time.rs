//! Calendar time: time zones, bucketing timestamps into calendar periods, and the units
//! durations are reported in ([`Unit`]).
//!
//! Internally a time is an instant in microseconds since the Unix epoch (UTC). Bucketing first
//! turns the instant into wall-clock time in the requested zone, then counts periods on the
//! proleptic Gregorian calendar. A period is identified by an *ordinal* (days, weeks, months,
//! quarters or years since 1970, negative before) and labelled by the date it starts on.
//! Naive timestamps (no zone) and dates are wall-clock times already, taken to be in that zone.

use std::str::FromStr;

use arrow::array::{Array, ArrayRef, AsArray, Int32Array, Int64Array};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use chrono::{NaiveDateTime, Offset, TimeZone};
use serde::{Deserialize, Serialize};

use crate::core::error::{KpiError, KpiResult};
use crate::core::input::Column;

pub const US_PER_DAY: i64 = 86_400_000_000;

/// A time zone: UTC, a fixed offset ("+05:30") or an IANA name ("Europe/Paris").
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Utc,
    Fixed(i64),
    Named(chrono_tz::Tz),
}

impl FromStr for Zone {
    type Err = KpiError;

    fn from_str(s: &str) -> KpiResult<Zone> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" || t == "Etc/UTC" {
            return Ok(Zone::Utc);
        }
        if let Some(secs) = parse_offset(t) {
            return Ok(if secs == 0 {
                Zone::Utc
            } else {
                Zone::Fixed(secs)
            });
        }
        t.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
            KpiError::param(
                "tz",
                format!("unknown time zone {s:?}; use an IANA name such as \"Europe/Paris\", \"UTC\" or an offset such as \"+05:30\""),
            )
        })
    }
}

/// "+05:30", "-0800", "+02" → seconds east of UTC.
fn parse_offset(s: &str) -> Option<i64> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !(digits.len() == 2 || digits.len() == 4) {
        return None;
    }
    let h: i64 = digits[..2].parse().ok()?;
    let m: i64 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

impl Zone {
    /// Offset from UTC (seconds) in effect at a UTC instant.
    fn offset_at_utc(&self, utc_us: i64) -> i64 {
        match self {
            Zone::Utc => 0,
            Zone::Fixed(s) => *s,
            Zone::Named(tz) => named_offset(tz, utc_us.div_euclid(1_000_000)),
        }
    }

    /// Wall-clock microseconds of one UTC instant (no cache: for single values).
    pub fn local_of(&self, utc_us: i64) -> i64 {
        utc_us + self.offset_at_utc(utc_us) * 1_000_000
    }
}

/// 2100-01-01T00:00:00Z: chrono-tz lists transitions up to here and keeps the last offset
/// after it, where the zone database's rules go on (summer time every year).
const TABLE_END_SECS: i64 = 4_102_444_800;

/// Offset (seconds) of a named zone at a UTC second.
fn named_offset(tz: &chrono_tz::Tz, utc_secs: i64) -> i64 {
    if utc_secs >= TABLE_END_SECS {
        return later_offset(tz, utc_secs);
    }
    listed_offset(tz, utc_secs)
}

/// The offset after the listed transitions, as the rules in force at their end give it (as
/// pandas and Python's zoneinfo do). A zone that still changes its clocks in 2099 is read in
/// a year of 2060–2099 with the same calendar (leap or not, same weekday on 1 January): rules
/// such as "last Sunday of March" fall on the same dates there. The latest such year is taken,
/// as later years follow the final rules (a few zones list irregular changes up to 2087).
fn later_offset(tz: &chrono_tz::Tz, utc_secs: i64) -> i64 {
    let jan = days_from_civil(2099, 1, 15) * 86_400;
    let jul = days_from_civil(2099, 7, 15) * 86_400;
    if listed_offset(tz, jan) == listed_offset(tz, jul) {
        return listed_offset(tz, utc_secs);
    }
    let calendar = |y: i64| {
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        (leap, (days_from_civil(y, 1, 1) + 3).rem_euclid(7))
    };
    let (year, _, _) = civil_from_days(utc_secs.div_euclid(86_400));
    let same = (2060..=2099)
        .rev()
        .find(|&r| calendar(r) == calendar(year))
        .expect("every calendar occurs in 2060-2099");
    let shift = days_from_civil(year, 1, 1) - days_from_civil(same, 1, 1);
    listed_offset(tz, utc_secs - shift * 86_400)
}

/// Offset (seconds) of a named zone at a UTC second, as chrono-tz lists it.
fn listed_offset(tz: &chrono_tz::Tz, utc_secs: i64) -> i64 {
    match chrono::DateTime::from_timestamp(utc_secs, 0) {
        Some(dt) => tz
            .offset_from_utc_datetime(&dt.naive_utc())
            .fix()
            .local_minus_utc() as i64,
        None => 0,
    }
}

/// Slots of [`LocalClock`]'s day cache (a power of two): 1024 UTC days, almost three years.
const CLOCK_SLOTS: usize = 1024;

/// The offsets of one UTC day: `before_us` until the instant `switch_us`, `after_us` from it
/// on. A day without a transition has `switch_us = i64::MAX`.
#[derive(Clone, Copy)]
struct DayOffsets {
    day: i64,
    switch_us: i64,
    before_us: i64,
    after_us: i64,
}

/// Converts UTC instants to wall-clock time in a zone.
///
/// Named zones keep a direct-mapped cache of UTC days. A day's entry is exact: the offsets at
/// its first and last second are looked up, and when they differ the transition is located to
/// the second by bisection, so transitions off the hour (Asia/Tehran at 20:30 UTC,
/// America/St_Johns, Australia/Lord_Howe's 30-minute shift, local mean times to the second)
/// are placed where they are, whatever order the rows come in. This relies on a zone changing
/// its offset at most once per UTC day: in the IANA database the closest two offset changes of
/// any zone are about four days apart.
pub struct LocalClock {
    zone: Zone,
    /// The day of the last row converted (a copy of its slot).
    current: DayOffsets,
    /// `CLOCK_SLOTS` entries for a named zone, none otherwise.
    days: Box<[DayOffsets]>,
}

impl LocalClock {
    pub fn new(zone: Zone) -> Self {
        let empty = DayOffsets {
            day: i64::MIN,
            switch_us: i64::MAX,
            before_us: 0,
            after_us: 0,
        };
        let slots = if matches!(zone, Zone::Named(_)) {
            CLOCK_SLOTS
        } else {
            0
        };
        LocalClock {
            zone,
            current: empty,
            days: vec![empty; slots].into_boxed_slice(),
        }
    }

    #[inline]
    pub fn local(&mut self, utc_us: i64) -> i64 {
        match self.zone {
            Zone::Utc => utc_us,
            // Wrapping: the slots of null rows may hold any value (checked times cannot wrap).
            Zone::Fixed(s) => utc_us.wrapping_add(s * 1_000_000),
            Zone::Named(tz) => {
                let day = utc_us.div_euclid(US_PER_DAY);
                if day != self.current.day {
                    // Time-ordered rows stay on `current` for a whole day.
                    let slot = &mut self.days[(day as usize) & (CLOCK_SLOTS - 1)];
                    if slot.day != day {
                        *slot = day_offsets(&tz, day);
                    }
                    self.current = *slot;
                }
                let c = &self.current;
                utc_us.wrapping_add(if utc_us < c.switch_us {
                    c.before_us
                } else {
                    c.after_us
                })
            }
        }
    }
}

/// The offsets of a UTC day in a named zone, with its transition if it has one.
fn day_offsets(tz: &chrono_tz::Tz, day: i64) -> DayOffsets {
    let first = day * 86_400;
    let last = first + 86_399;
    let before = named_offset(tz, first);
    let after = named_offset(tz, last);
    let switch = if before == after {
        i64::MAX
    } else {
        // The first second with the new offset: `lo` still has the old one, `hi` the new.
        let (mut lo, mut hi) = (first, last);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if named_offset(tz, mid) == before {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi * 1_000_000
    };
    DayOffsets {
        day,
        switch_us: switch,
        before_us: before * 1_000_000,
        after_us: after * 1_000_000,
    }
}

/// Wall-clock microseconds in `zone` for every row of a timestamp or date column (null stays
/// null). Zone-aware timestamps are converted; naive timestamps and dates are taken as they are.
pub fn local_micros(col: &Column, zone: Zone) -> KpiResult<Vec<Int64Array>> {
    let mut clock = LocalClock::new(zone);
    col.chunks
        .iter()
        .map(|c| local_micros_chunk(&col.name, c, &mut clock))
        .collect()
}

/// 0001-01-01T00:00:00 and 9999-12-31T23:59:59.999999 in microseconds since 1970: the range
/// of calendar dates (Python's `datetime`). Every time read goes through this check, so the
/// calendar arithmetic after it (period starts, local offsets) cannot overflow an i64.
pub const MIN_US: i64 = -62_135_596_800_000_000;
pub const MAX_US: i64 = 253_402_300_799_999_999;

/// A date range `[start, end)` of wall-clock times in microseconds since 1970 (local to the
/// analysis' zone; None: unbounded), as `start=` / `end=` give it (docs/conventions.md#journey).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

impl TimeRange {
    /// The range, checked: bounds within the years 1 to 9999 and `start` before `end`.
    pub fn new(start: Option<i64>, end: Option<i64>) -> KpiResult<TimeRange> {
        for (name, us) in [("start", start), ("end", end)] {
            if us.is_some_and(|us| !(MIN_US..=MAX_US + 1).contains(&us)) {
                return Err(KpiError::param(name, "must lie in the years 1 to 9999"));
            }
        }
        if let (Some(s), Some(e)) = (start, end) {
            if s >= e {
                return Err(KpiError::param("end", "must be after start"));
            }
        }
        Ok(TimeRange { start, end })
    }

    /// Whether the range has a bound.
    pub fn is_bounded(&self) -> bool {
        self.start.is_some() || self.end.is_some()
    }

    /// Whether a wall-clock time lies in the range.
    #[inline]
    pub fn contains(&self, local_us: i64) -> bool {
        self.start.is_none_or(|s| local_us >= s) && self.end.is_none_or(|e| local_us < e)
    }

    /// The last instant of the range (the one before `end`).
    pub fn last_micros(&self) -> Option<i64> {
        self.end.map(|e| e - 1)
    }

    /// The days of `start` and of the last instant, days since 1970-01-01.
    pub fn days(&self) -> (Option<i64>, Option<i64>) {
        (
            self.start.map(|s| s.div_euclid(US_PER_DAY)),
            self.last_micros().map(|l| l.div_euclid(US_PER_DAY)),
        )
    }
}

/// Times outside [`MIN_US`, `MAX_US`] (sentinels like i64::MIN, a unit mix-up) named by row.
pub fn check_time_range(name: &str, us: &Int64Array) -> KpiResult<()> {
    // The common case (every time in range) in one branch-free pass over the values; nulls'
    // slots hold arbitrary values, so only a hit there needs the row-by-row look below.
    let in_range = |v: &i64| (MIN_US..=MAX_US).contains(v);
    let all_in_range = match us.nulls() {
        None => us.values().iter().fold(true, |ok, v| ok & in_range(v)),
        // 64 values at a time against a word of the validity bitmap (pandas' NaT, the
        // smallest i64, is out of range and null: it must not count), instead of one bit
        // read per value.
        Some(n) => {
            let bits = n.inner().bit_chunks();
            let values = us.values();
            let out_of_range = |block: &[i64]| {
                block
                    .iter()
                    .enumerate()
                    .fold(0u64, |m, (b, v)| m | (u64::from(!in_range(v)) << b))
            };
            let mut bad = 0u64;
            for (k, valid) in bits.iter().enumerate() {
                bad |= out_of_range(&values[k * 64..k * 64 + 64]) & valid;
            }
            let done = bits.chunk_len() * 64;
            bad |= out_of_range(&values[done..]) & bits.remainder_bits();
            bad == 0
        }
    };
    if all_in_range {
        return Ok(());
    }
    let mut bad = crate::core::error::BadRows::default();
    for (i, v) in us.iter().enumerate() {
        if let Some(v) = v.filter(|v| !(MIN_US..=MAX_US).contains(v)) {
            bad.push(i, || format!("{v} microseconds since 1970"));
        }
    }
    KpiError::check_rows(name, "times must fall in the years 1 to 9999", bad)
}

fn local_micros_chunk(name: &str, c: &ArrayRef, clock: &mut LocalClock) -> KpiResult<Int64Array> {
    let (raw, aware) = utc_micros_chunk(name, c)?;
    // Rows of later chunks are counted from their chunk: the message still names the column.
    check_time_range(name, &raw)?;
    if !aware || clock.zone == Zone::Utc {
        return Ok(raw);
    }
    let values: Vec<i64> = raw.values().iter().map(|&v| clock.local(v)).collect();
    Ok(Int64Array::new(values.into(), raw.nulls().cloned()))
}

/// Microseconds as stored (UTC for zone-aware timestamps), and whether they are zone-aware.
fn utc_micros_chunk(name: &str, c: &ArrayRef) -> KpiResult<(Int64Array, bool)> {
    let (per_unit, aware): (i64, bool) = match c.data_type() {
        DataType::Timestamp(unit, tz) => (
            match unit {
                TimeUnit::Second => 1_000_000,
                TimeUnit::Millisecond => 1_000,
                TimeUnit::Microsecond => 1,
                TimeUnit::Nanosecond => -1_000, // divide
            },
            tz.is_some(),
        ),
        DataType::Date32 => {
            let a = c.as_primitive::<Date32Type>();
            return Ok((a.unary(|d| (d as i64).saturating_mul(US_PER_DAY)), false));
        }
        DataType::Date64 => {
            let a = c.as_primitive::<Date64Type>();
            return Ok((a.unary(|ms| ms.saturating_mul(1_000)), false));
        }
        DataType::Null => return Ok((Int64Array::new_null(c.len()), false)),
        other => return Err(KpiError::wrong_type(name, "a timestamp or date", other)),
    };
    let raw: Int64Array = match c.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => {
            c.as_primitive::<TimestampSecondType>().reinterpret_cast()
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => c
            .as_primitive::<TimestampMillisecondType>()
            .reinterpret_cast(),
        DataType::Timestamp(TimeUnit::Microsecond, _) => c
            .as_primitive::<TimestampMicrosecondType>()
            .reinterpret_cast(),
        _ => c
            .as_primitive::<TimestampNanosecondType>()
            .reinterpret_cast(),
    };
    // Saturated values land outside the calendar range and are reported by the caller.
    let to_us = move |v: i64| {
        if per_unit > 0 {
            v.saturating_mul(per_unit)
        } else {
            v.div_euclid(-per_unit)
        }
    };
    Ok((if per_unit == 1 { raw } else { raw.unary(to_us) }, aware))
}

/// Calendar frequencies. Weeks start on `week_start` (0 = Monday … 6 = Sunday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Freq {
    Day,
    Week { week_start: u8 },
    Month,
    Quarter,
    Year,
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Day index (0 = Monday) from a name: "monday", "Mon", "MON"…
pub fn parse_weekday(s: &str) -> KpiResult<u8> {
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let l = s.trim().to_ascii_lowercase();
    FULL.iter()
        .position(|f| l.len() >= 3 && f.starts_with(&l))
        .map(|p| p as u8)
        .ok_or_else(|| {
            KpiError::param(
                "week_start",
                format!("{s:?} is not a weekday; use \"monday\" … \"sunday\""),
            )
        })
}

impl Freq {
    /// Parse a frequency: "day", "week", "month", "quarter", "year", or the pandas aliases
    /// "D", "W" / "W-SUN" (weeks *ending* Sunday, so starting Monday), "M"/"MS"/"ME", "Q"/"QS"/"QE",
    /// "Y"/"YS"/"YE"/"A". `week_start` applies to "week" and "W".
    pub fn parse(s: &str, week_start: u8) -> KpiResult<Freq> {
        let t = s.trim();
        let lower = t.to_ascii_lowercase();
        let f = match lower.as_str() {
            "day" | "daily" | "d" | "1d" => Freq::Day,
            "week" | "weekly" | "w" | "1w" => Freq::Week { week_start },
            "month" | "monthly" | "m" | "ms" | "me" | "1m" => Freq::Month,
            "quarter" | "quarterly" | "q" | "qs" | "qe" => Freq::Quarter,
            "year" | "yearly" | "annual" | "y" | "ys" | "ye" | "a" => Freq::Year,
            _ => {
                if let Some(day) = lower.strip_prefix("w-") {
                    let end = parse_weekday(day)?;
                    Freq::Week {
                        week_start: (end + 1) % 7,
                    }
                } else {
                    return Err(KpiError::param(
                        "freq",
                        format!("unknown frequency {s:?}; use \"day\", \"week\", \"month\", \"quarter\" or \"year\""),
                    ));
                }
            }
        };
        Ok(f)
    }

    /// The period ordinal containing a day (days since 1970-01-01).
    #[inline]
    pub fn ordinal_of_day(&self, day: i64) -> i64 {
        match *self {
            Freq::Day => day,
            // 1970-01-01 was a Thursday: three days after Monday.
            Freq::Week { week_start } => (day + 3 - week_start as i64).div_euclid(7),
            Freq::Month => {
                let (y, m, _) = civil_from_days(day);
                (y - 1970) * 12 + (m as i64 - 1)
            }
            Freq::Quarter => {
                let (y, m, _) = civil_from_days(day);
                ((y - 1970) * 12 + (m as i64 - 1)).div_euclid(3)
            }
            Freq::Year => civil_from_days(day).0 - 1970,
        }
    }

    /// The period ordinal containing a wall-clock time in microseconds.
    #[inline]
    pub fn ordinal_of_micros(&self, local_us: i64) -> i64 {
        self.ordinal_of_day(local_us.div_euclid(US_PER_DAY))
    }

    /// First day (days since 1970-01-01) of the period with this ordinal.
    pub fn start_day(&self, ordinal: i64) -> i64 {
        match *self {
            Freq::Day => ordinal,
            Freq::Week { week_start } => ordinal * 7 - 3 + week_start as i64,
            Freq::Month => {
                let y = 1970 + ordinal.div_euclid(12);
                let m = ordinal.rem_euclid(12) as u32 + 1;
                days_from_civil(y, m, 1)
            }
            Freq::Quarter => Freq::Month.start_day(ordinal * 3),
            Freq::Year => days_from_civil(1970 + ordinal, 1, 1),
        }
    }

    /// A stable text form, stored with partial states so merges can check they agree.
    pub fn label(&self) -> String {
        match self {
            Freq::Day => "day".into(),
            Freq::Week { week_start } => format!("week-{}", WEEKDAYS[*week_start as usize % 7]),
            Freq::Month => "month".into(),
            Freq::Quarter => "quarter".into(),
            Freq::Year => "year".into(),
        }
    }

    /// Inverse of [`Freq::label`].
    pub fn from_label(s: &str) -> KpiResult<Freq> {
        match s.strip_prefix("week-") {
            Some(d) => Ok(Freq::Week {
                week_start: parse_weekday(d)?,
            }),
            None => Freq::parse(s, 0),
        }
    }
}

/// Period ordinals of wall-clock times, remembering recent days: business data has few
/// distinct days, and the calendar arithmetic of months and years costs more than a lookup.
pub struct DayOrdinals {
    freq: Freq,
    days: Box<[i64; 1024]>,
    ordinals: Box<[i64; 1024]>,
}

impl DayOrdinals {
    pub fn new(freq: Freq) -> Self {
        DayOrdinals {
            freq,
            days: Box::new([i64::MIN; 1024]),
            ordinals: Box::new([0; 1024]),
        }
    }

    #[inline]
    pub fn of_micros(&mut self, local_us: i64) -> i64 {
        let day = local_us.div_euclid(US_PER_DAY);
        let slot = (day & 1023) as usize;
        if self.days[slot] != day {
            self.days[slot] = day;
            self.ordinals[slot] = self.freq.ordinal_of_day(day);
        }
        self.ordinals[slot]
    }
}

/// Period ordinals for every row of a time column (null stays null), as Int64 chunks.
pub fn period_ordinals(col: &Column, zone: Zone, freq: Freq) -> KpiResult<Vec<Int64Array>> {
    let mut cache = DayOrdinals::new(freq);
    Ok(local_micros(col, zone)?
        .into_iter()
        .map(|a| {
            let values: Vec<i64> = a.values().iter().map(|&us| cache.of_micros(us)).collect();
            Int64Array::new(values.into(), a.nulls().cloned())
        })
        .collect())
}

/// Period start dates (Date32) for a list of ordinals.
pub fn start_dates(freq: Freq, ordinals: impl IntoIterator<Item = Option<i64>>) -> Int32Array {
    ordinals
        .into_iter()
        .map(|o| o.map(|o| freq.start_day(o) as i32))
        .collect()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's civil-calendar algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day number; the inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The unit durations are reported in (`unit=`, docs/vocabulary.md): a funnel's times to
/// convert, a deal's cycle, a ticket's resolution. Result columns carry its label as a suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl Unit {
    /// The `unit=` setting (and a state's metadata, which holds [`Unit::label`]).
    pub fn parse(s: &str) -> KpiResult<Unit> {
        Ok(match s {
            "seconds" => Unit::Seconds,
            "minutes" => Unit::Minutes,
            "hours" => Unit::Hours,
            "days" => Unit::Days,
            _ => {
                return Err(KpiError::param(
                    "unit",
                    format!("{s:?} is not one of \"seconds\", \"minutes\", \"hours\", \"days\""),
                ))
            }
        })
    }

    /// The setting's name, also the suffix of the result columns in this unit.
    pub fn label(self) -> &'static str {
        match self {
            Unit::Seconds => "seconds",
            Unit::Minutes => "minutes",
            Unit::Hours => "hours",
            Unit::Days => "days",
        }
    }

    /// Microseconds in one unit: a duration of `us` microseconds is `us / micros()` units.
    pub fn micros(self) -> f64 {
        match self {
            Unit::Seconds => 1e6,
            Unit::Minutes => 6e7,
            Unit::Hours => 3.6e9,
            Unit::Days => US_PER_DAY as f64,
        }
    }
}

/// Wall-clock microseconds of a naive date-time (used by tests and the demo company).
pub fn micros_of(dt: NaiveDateTime) -> i64 {
    dt.and_utc().timestamp_micros()
}

/// True if the array holds a type [`local_micros`] accepts.
pub fn is_temporal(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 | DataType::Null
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{TimestampMicrosecondArray, TimestampNanosecondArray};
    use std::sync::Arc;

    fn day(y: i64, m: u32, d: u32) -> i64 {
        days_from_civil(y, m, d)
    }

    #[test]
    fn duration_units_round_trip_and_name_the_parameter() {
        for u in [Unit::Seconds, Unit::Minutes, Unit::Hours, Unit::Days] {
            assert_eq!(Unit::parse(u.label()).unwrap(), u);
        }
        assert_eq!(Unit::Hours.micros(), 3_600_000_000.0);
        assert_eq!(Unit::Days.micros(), US_PER_DAY as f64);
        let e = Unit::parse("weeks").unwrap_err().to_string();
        assert!(e.starts_with("parameter \"unit\""), "{e}");
    }

    #[test]
    fn out_of_range_times_count_only_where_valid_across_bitmap_words() {
        // 150 rows (two full 64-row words and a remainder), every third a null holding
        // pandas' NaT; one valid time out of range at row 130 (in the remainder), then at 70.
        let build = |bad_row: Option<usize>| {
            let v: Vec<Option<i64>> = (0..150)
                .map(|i| match i {
                    _ if Some(i) == bad_row => Some(MAX_US + 1),
                    _ if i % 3 == 0 => None,
                    _ => Some(i as i64 * 1_000_000),
                })
                .collect();
            let a = Int64Array::from(v);
            // The null slots hold i64::MIN, as pandas' NaT arrives.
            let values: Vec<i64> = a.iter().map(|x| x.unwrap_or(i64::MIN)).collect();
            Int64Array::new(values.into(), a.nulls().cloned())
        };
        assert!(check_time_range("t", &build(None)).is_ok());
        for row in [130, 70, 1] {
            let err = check_time_range("t", &build(Some(row)))
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("{}", MAX_US + 1)), "row {row}: {err}");
        }
        // Sliced: the bitmap starts mid-word.
        assert!(check_time_range("t", &build(None).slice(5, 140)).is_ok());
        assert!(check_time_range("t", &build(Some(130)).slice(5, 140)).is_err());
    }

    #[test]
    fn civil_round_trip_over_centuries() {
        for z in -800_000..800_000i64 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(day(1970, 1, 1), 0);
        assert_eq!(day(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn weeks_start_on_monday_by_default_and_on_any_day() {
        let w = Freq::Week { week_start: 0 };
        // 2026-11-25 is a Wednesday; its week starts Monday 2026-11-23.
        assert_eq!(
            w.start_day(w.ordinal_of_day(day(2026, 11, 25))),
            day(2026, 11, 23)
        );
        assert_eq!(
            w.start_day(w.ordinal_of_day(day(2026, 11, 23))),
            day(2026, 11, 23)
        );
        assert_eq!(
            w.start_day(w.ordinal_of_day(day(2026, 11, 22))),
            day(2026, 11, 16)
        );
        let sun = Freq::Week { week_start: 6 };
        assert_eq!(
            sun.start_day(sun.ordinal_of_day(day(2026, 11, 25))),
            day(2026, 11, 22)
        );
        // Before 1970 too.
        assert_eq!(
            w.start_day(w.ordinal_of_day(day(1969, 12, 31))),
            day(1969, 12, 29)
        );
    }

    #[test]
    fn months_quarters_years() {
        let d = day(2024, 2, 29);
        assert_eq!(
            Freq::Month.start_day(Freq::Month.ordinal_of_day(d)),
            day(2024, 2, 1)
        );
        assert_eq!(
            Freq::Quarter.start_day(Freq::Quarter.ordinal_of_day(day(2024, 6, 30))),
            day(2024, 4, 1)
        );
        assert_eq!(
            Freq::Quarter.start_day(Freq::Quarter.ordinal_of_day(day(1969, 11, 5))),
            day(1969, 10, 1)
        );
        assert_eq!(
            Freq::Year.start_day(Freq::Year.ordinal_of_day(d)),
            day(2024, 1, 1)
        );
        assert_eq!(Freq::Month.ordinal_of_day(day(1969, 12, 31)), -1);
    }

    #[test]
    fn parse_frequencies_and_pandas_aliases() {
        assert_eq!(Freq::parse("month", 0).unwrap(), Freq::Month);
        assert_eq!(Freq::parse("MS", 0).unwrap(), Freq::Month);
        assert_eq!(
            Freq::parse("W-SUN", 3).unwrap(),
            Freq::Week { week_start: 0 }
        );
        assert_eq!(
            Freq::parse("W-SAT", 0).unwrap(),
            Freq::Week { week_start: 6 }
        );
        assert_eq!(
            Freq::parse("week", 6).unwrap(),
            Freq::Week { week_start: 6 }
        );
        assert!(Freq::parse("fortnight", 0)
            .unwrap_err()
            .to_string()
            .contains("\"freq\""));
        let w = Freq::Week { week_start: 2 };
        assert_eq!(Freq::from_label(&w.label()).unwrap(), w);
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        micros_of(
            chrono::NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, min, 0)
                .unwrap(),
        )
    }

    fn aware_days(values: Vec<i64>, zone: Zone) -> Vec<i64> {
        let a = TimestampMicrosecondArray::from(values).with_timezone("UTC");
        let col = Column::from_array("t", Arc::new(a));
        let p = period_ordinals(&col, zone, Freq::Day).unwrap();
        p[0].values().to_vec()
    }

    #[test]
    fn transitions_off_the_hour_land_on_the_right_day_in_any_row_order() {
        // Asia/Tehran moved from +03:30 to +04:30 at 2021-03-21 20:30 UTC (midnight local):
        // 20:10 UTC is 23:40 on the 21st, 20:40 UTC is 01:10 on the 22nd.
        let tehran: Zone = "Asia/Tehran".parse().unwrap();
        let (a, b) = (utc(2021, 3, 21, 20, 10), utc(2021, 3, 21, 20, 40));
        let (d21, d22) = (day(2021, 3, 21), day(2021, 3, 22));
        assert_eq!(aware_days(vec![a, b], tehran), vec![d21, d22]);
        assert_eq!(aware_days(vec![b, a], tehran), vec![d22, d21]);
        // America/St_Johns went from −03:30 to −02:30 at 00:01 local on 2010-03-14 (03:31 UTC),
        // Australia/Lord_Howe from +10:30 to +11:00 on 2010-10-02 at 15:30 UTC.
        let st_johns: Zone = "America/St_Johns".parse().unwrap();
        let (a, b) = (utc(2010, 3, 14, 3, 20), utc(2010, 3, 14, 3, 40));
        let (d13, d14) = (day(2010, 3, 13), day(2010, 3, 14));
        assert_eq!(aware_days(vec![a, b], st_johns), vec![d13, d14]);
        assert_eq!(aware_days(vec![b, a], st_johns), vec![d14, d13]);
        let lord_howe: Zone = "Australia/Lord_Howe".parse().unwrap();
        let (a, b) = (utc(2010, 10, 2, 15, 20), utc(2010, 10, 2, 15, 40));
        let mut clock = LocalClock::new(lord_howe);
        assert_eq!(clock.local(b) - b, 660 * 60_000_000);
        assert_eq!(clock.local(a) - a, 630 * 60_000_000);
    }

    #[test]
    fn summer_time_goes_on_after_2099() {
        // The rules in force continue (as in pandas): Berlin +02:00 on 2150-07-01 and +01:00 in
        // January; summer time starts on the last Sunday of March (2150-03-29 at 01:00 UTC).
        // Zones without summer time keep their offset (Tehran +03:30, Casablanca +01:00).
        let off = |zone: &str, t: i64| {
            let z: Zone = zone.parse().unwrap();
            (LocalClock::new(z).local(t) - t) / 60_000_000
        };
        assert_eq!(off("Europe/Berlin", utc(2150, 7, 1, 12, 0)), 120);
        assert_eq!(off("Europe/Berlin", utc(2150, 1, 15, 12, 0)), 60);
        assert_eq!(off("Europe/Berlin", utc(2150, 3, 29, 0, 59)), 60);
        assert_eq!(off("Europe/Berlin", utc(2150, 3, 29, 1, 0)), 120);
        assert_eq!(off("Europe/Berlin", utc(9999, 7, 1, 0, 0)), 120);
        assert_eq!(off("Australia/Lord_Howe", utc(2200, 1, 10, 0, 0)), 660);
        assert_eq!(off("Asia/Tehran", utc(2150, 7, 1, 0, 0)), 210);
        assert_eq!(off("Africa/Casablanca", utc(2150, 7, 1, 0, 0)), 60);
    }

    /// A small deterministic generator (tests only).
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *state >> 33
    }

    #[test]
    fn cached_offsets_equal_the_zone_database_at_every_second_of_transition_hours() {
        // Every hour of 2005–2025 in which the offset changes (found with plain lookups), every
        // second of it, in shuffled order, against the uncached conversion.
        let mut seed = 7;
        for name in [
            "Asia/Tehran",
            "America/St_Johns",
            "Australia/Lord_Howe",
            "Europe/Berlin",
            "America/Sao_Paulo",
            "Pacific/Chatham",
        ] {
            let zone: Zone = name.parse().unwrap();
            let hour_us = 3_600_000_000i64;
            let (from, to) = (utc(2005, 1, 1, 0, 0), utc(2026, 1, 1, 0, 0));
            let mut instants = Vec::new();
            let mut h = from;
            while h < to {
                if zone.offset_at_utc(h) != zone.offset_at_utc(h + hour_us) {
                    instants.extend((0..=3600).map(|s| h + s * 1_000_000 + 999_999 * (s % 2)));
                }
                h += hour_us;
            }
            assert!(instants.len() >= 3601 * 10, "{name}: {}", instants.len());
            for i in (1..instants.len()).rev() {
                let j = (lcg(&mut seed) % (i as u64 + 1)) as usize;
                instants.swap(i, j);
            }
            let mut clock = LocalClock::new(zone);
            for &t in &instants {
                assert_eq!(clock.local(t), zone.local_of(t), "{name} at {t}");
            }
        }
    }

    #[test]
    fn cached_offsets_equal_the_zone_database_for_every_zone_at_random_instants() {
        let mut seed = 11;
        let span = MAX_US / 1_000_000 - MIN_US / 1_000_000;
        for tz in chrono_tz::TZ_VARIANTS {
            let zone = Zone::Named(tz);
            let mut clock = LocalClock::new(zone);
            for _ in 0..300 {
                // Half over all of 1900–2040, half over the years 1 to 9999.
                let t = if lcg(&mut seed) % 2 == 0 {
                    utc(1900, 1, 1, 0, 0) + (lcg(&mut seed) as i64 % 4_418_000_000) * 1_000_000
                } else {
                    MIN_US + (lcg(&mut seed) as i64 * 37 % span) * 1_000_000
                };
                assert_eq!(clock.local(t), zone.local_of(t), "{tz} at {t}");
            }
        }
    }

    #[test]
    fn zone_aware_timestamps_bucket_in_the_requested_zone() {
        // 2026-03-31T23:30:00Z is already April in Paris (UTC+2 in summer time).
        let utc_us = micros_of(
            chrono::NaiveDate::from_ymd_opt(2026, 3, 31)
                .unwrap()
                .and_hms_opt(23, 30, 0)
                .unwrap(),
        );
        let aware = TimestampNanosecondArray::from(vec![utc_us * 1000]).with_timezone("UTC");
        let col = Column::from_array("t", Arc::new(aware));
        let paris: Zone = "Europe/Paris".parse().unwrap();
        let p = period_ordinals(&col, paris, Freq::Month).unwrap();
        assert_eq!(Freq::Month.start_day(p[0].value(0)), day(2026, 4, 1));
        let p = period_ordinals(&col, Zone::Utc, Freq::Month).unwrap();
        assert_eq!(Freq::Month.start_day(p[0].value(0)), day(2026, 3, 1));
        // A naive timestamp is wall time in the zone already: no shift.
        let naive = TimestampMicrosecondArray::from(vec![utc_us]);
        let col = Column::from_array("t", Arc::new(naive));
        let p = period_ordinals(&col, paris, Freq::Month).unwrap();
        assert_eq!(Freq::Month.start_day(p[0].value(0)), day(2026, 3, 1));
        let fixed: Zone = "-05:00".parse().unwrap();
        assert_eq!(fixed, Zone::Fixed(-5 * 3600));
        assert!("Mars/Olympus".parse::<Zone>().is_err());
    }
}
