//! JSON writing without allocation: every generator writes its records with [`Obj`]
//! straight into its table's buffer, and the `push_*` functions write numbers,
//! zero-padded ids, hex ids and RFC 3339 timestamps as bytes.
//!
//! The output is fully determined by the values written (fixed decimals, no float
//! formatting), which keeps the scenario byte-identical from run to run.

use super::{DAY, HOUR, MINUTE, SECOND};

/// Writes one JSON object into a byte buffer. Keys and string values are written
/// verbatim: every string the generator writes is already valid JSON string content.
pub(super) struct Obj<'a> {
    b: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    pub(super) fn new(b: &'a mut Vec<u8>) -> Self {
        b.push(b'{');
        Self { b, first: true }
    }

    #[inline]
    fn key(&mut self, k: &str) {
        if !self.first {
            self.b.push(b',');
        }
        self.first = false;
        self.b.push(b'"');
        self.b.extend_from_slice(k.as_bytes());
        self.b.extend_from_slice(b"\":");
    }

    #[inline]
    pub(super) fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        self.b.push(b'"');
        self.b.extend_from_slice(v.as_bytes());
        self.b.push(b'"');
    }

    #[inline]
    pub(super) fn int(&mut self, k: &str, v: i64) {
        self.key(k);
        push_i64(self.b, v);
    }

    #[inline]
    pub(super) fn num(&mut self, k: &str, v: f64, decimals: u32) {
        self.key(k);
        push_fixed(self.b, v, decimals);
    }

    #[inline]
    pub(super) fn boolean(&mut self, k: &str, v: bool) {
        self.key(k);
        self.b.extend_from_slice(if v {
            b"true".as_slice()
        } else {
            b"false".as_slice()
        });
    }

    #[inline]
    pub(super) fn ts(&mut self, k: &str, ms: i64) {
        self.key(k);
        self.b.push(b'"');
        push_ts(self.b, ms);
        self.b.push(b'"');
    }

    /// `"k":"u000123"`, the user id zero-padded to `width` digits.
    #[inline]
    pub(super) fn user(&mut self, k: &str, user: u64, width: usize) {
        self.key(k);
        self.b.extend_from_slice(b"\"u");
        push_padded(self.b, user, width);
        self.b.push(b'"');
    }

    /// `"k":"sku-00042"`.
    pub(super) fn item(&mut self, k: &str, item: u64) {
        self.key(k);
        self.b.extend_from_slice(b"\"sku-");
        push_padded(self.b, item, 5);
        self.b.push(b'"');
    }

    /// `"k":"<prefix><digits hex digits of v>"`.
    #[inline]
    pub(super) fn hex(&mut self, k: &str, prefix: &str, v: u64, digits: u32) {
        self.key(k);
        self.b.push(b'"');
        self.b.extend_from_slice(prefix.as_bytes());
        push_hex(self.b, v, digits);
        self.b.push(b'"');
    }

    /// `"k":"<32 hex digits>"`.
    #[inline]
    pub(super) fn hex2(&mut self, k: &str, hi: u64, lo: u64) {
        self.key(k);
        self.b.push(b'"');
        push_hex(self.b, hi, 16);
        push_hex(self.b, lo, 16);
        self.b.push(b'"');
    }

    /// A value written by `f` (which must write valid JSON).
    pub(super) fn raw_with(&mut self, k: &str, f: impl FnOnce(&mut Vec<u8>)) {
        self.key(k);
        f(self.b);
    }

    /// A nested object; call [`Obj::end`] on it before writing to `self` again.
    pub(super) fn obj(&mut self, k: &str) -> Obj<'_> {
        self.key(k);
        Obj::new(self.b)
    }

    pub(super) fn end(self) {
        self.b.push(b'}');
    }
}

pub(super) fn push_u64(b: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    b.extend_from_slice(&tmp[i..]);
}

pub(super) fn push_i64(b: &mut Vec<u8>, n: i64) {
    if n < 0 {
        b.push(b'-');
    }
    push_u64(b, n.unsigned_abs());
}

/// `n` zero-padded to at least `width` digits.
pub(super) fn push_padded(b: &mut Vec<u8>, n: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let mut i = tmp.len();
    let mut m = n;
    loop {
        i -= 1;
        tmp[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    let start = i.min(tmp.len().saturating_sub(width));
    b.extend_from_slice(&tmp[start..]);
}

/// `x` with exactly `decimals` decimals (at most 9); non-finite values, which the
/// generator never produces, are written as 0.
pub(super) fn push_fixed(b: &mut Vec<u8>, x: f64, decimals: u32) {
    let pow = 10u64.pow(decimals);
    let scaled = (x.abs() * pow as f64).round();
    let scaled = if scaled.is_finite() && scaled < 9.0e18 {
        scaled as u64
    } else {
        0
    };
    if x < 0.0 && scaled != 0 {
        b.push(b'-');
    }
    push_u64(b, scaled / pow);
    if decimals > 0 {
        b.push(b'.');
        push_padded(b, scaled % pow, decimals as usize);
    }
}

/// The low `digits` hex digits of `v`, most significant first.
pub(super) fn push_hex(b: &mut Vec<u8>, v: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        b.push(HEX[((v >> (4 * i)) & 0xF) as usize]);
    }
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-02T13:05:07.123Z`.
pub(super) fn push_ts(b: &mut Vec<u8>, ms: i64) {
    let days = ms.div_euclid(DAY);
    let in_day = ms.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    push_padded(b, y.max(0) as u64, 4);
    b.push(b'-');
    push_padded(b, u64::from(m), 2);
    b.push(b'-');
    push_padded(b, u64::from(d), 2);
    b.push(b'T');
    push_padded(b, (in_day / HOUR) as u64, 2);
    b.push(b':');
    push_padded(b, (in_day % HOUR / MINUTE) as u64, 2);
    b.push(b':');
    push_padded(b, (in_day % MINUTE / SECOND) as u64, 2);
    b.push(b'.');
    push_padded(b, (in_day % SECOND) as u64, 3);
    b.push(b'Z');
}

/// Proleptic Gregorian `(year, month, day)` of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days` algorithm, from its published description).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
