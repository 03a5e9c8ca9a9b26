//! Integer fields, read exactly from their JSON numbers.
//!
//! JSON Schema's `integer` is a number without a fractional part, however it is written: `200`,
//! `200.0` and `2e2` are integers, `200.5` and `2.005e2` are not. Asked for an Int64 column,
//! arrow-json parses any number that is not plain digits as an f64 and casts it, which truncates
//! `200.5` to 200, rounds `9007199254740993.0` to `9007199254740992` and turns
//! `-9223372036854775809` into `i64::MIN`. So the decoder reads every number given for an
//! integer field here, from its decimal digits (never through an f64), before either path sees
//! the record: a number with a fraction or outside i64 rejects the record ([`check`]); an
//! integral one goes to the fast path as its value, or to arrow-json rewritten as plain digits,
//! which arrow-json reads exactly. Strings holding numbers (`"200"`) are left to arrow-json, which
//! accepts plain digits only.

use Literal::*;

/// A JSON value given for an integer field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Literal {
    /// Plain digits (`-?(0|[1-9][0-9]*)`) within i64: every reader agrees on the value.
    Plain(i64),
    /// An integral number within i64 written with a fraction or an exponent (`200.0`, `2e2`).
    Integral(i64),
    /// A number with a fractional part (`200.5`).
    Fraction,
    /// An integral number outside i64 (`1e300`, `9223372036854775808`).
    OutOfRange,
    /// Not a JSON number (a string, `true`, `null`, a malformed literal): arrow-json decides.
    NotANumber,
}

impl Literal {
    /// The value, for numbers that are integers within i64.
    pub fn value(self) -> Option<i64> {
        match self {
            Plain(x) | Integral(x) => Some(x),
            _ => None,
        }
    }
}

/// Reads the raw JSON value `v` (a number by the JSON grammar,
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, or anything else).
pub fn read(v: &[u8]) -> Literal {
    let (negative, body) = match v.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, v),
    };
    let int = digits(body);
    if int.is_empty() || (int[0] == b'0' && int.len() > 1) {
        return NotANumber;
    }
    let mut rest = &body[int.len()..];
    if rest.is_empty() {
        // The common case: at most 19 digits, no leading zero, so i128 cannot overflow.
        if int.len() > 19 {
            return OutOfRange;
        }
        return to_i64(negative, accumulate(int.iter()), 0).map_or(OutOfRange, Plain);
    }
    let mut frac: &[u8] = &[];
    if let Some(after_point) = rest.strip_prefix(b".") {
        frac = digits(after_point);
        if frac.is_empty() {
            return NotANumber;
        }
        rest = &after_point[frac.len()..];
    }
    let mut exp: i64 = 0;
    if let Some((b'e' | b'E', after_e)) = rest.split_first() {
        let (exp_negative, after_sign) = match after_e.split_first() {
            Some((b'-', r)) => (true, r),
            Some((b'+', r)) => (false, r),
            _ => (false, after_e),
        };
        let e = digits(after_sign);
        if e.is_empty() {
            return NotANumber;
        }
        // Saturates far beyond any record's length in digits: the answer is the same for every
        // larger exponent (out of range, or a fraction, or zero).
        for &c in e {
            exp = (exp * 10 + i64::from(c - b'0')).min(1 << 40);
        }
        if exp_negative {
            exp = -exp;
        }
        rest = &after_sign[e.len()..];
    }
    if !rest.is_empty() {
        return NotANumber;
    }

    // The value is 0.S × 10^point, S being the digits of `int` and `frac` without leading and
    // trailing zeros; it is an integer when no digit of S falls after the decimal point.
    let all = || int.iter().chain(frac);
    let total = int.len() + frac.len();
    let leading = all().take_while(|&&c| c == b'0').count();
    if leading == total {
        return Integral(0);
    }
    let trailing = all().rev().take_while(|&&c| c == b'0').count();
    let significant = total - leading - trailing;
    let point = int.len() as i64 - leading as i64 + exp;
    if point < significant as i64 {
        return Fraction;
    }
    // S starts with a non-zero digit, so the value is at least 10^(point - 1).
    if point > 19 {
        return OutOfRange;
    }
    let mantissa = accumulate(all().skip(leading).take(significant));
    to_i64(negative, mantissa, point as u32 - significant as u32).map_or(OutOfRange, Integral)
}

/// Reads the value `v` of the integer field `name`: the rejection reason when it is a number
/// that is not an integer within i64 (arrow-json would truncate or wrap it).
pub fn check(name: &str, v: &[u8]) -> Result<Literal, String> {
    let literal = read(v);
    let shown = || {
        // `v` is a JSON number here, so ASCII
        let text = String::from_utf8_lossy(&v[..v.len().min(64)]);
        if v.len() > 64 {
            format!("{text}…")
        } else {
            text.into_owned()
        }
    };
    match literal {
        Fraction => Err(format!(
            "field `{name}` is {}, expected an integer",
            shown()
        )),
        OutOfRange => Err(format!(
            "field `{name}` is {}, expected an integer between {} and {}",
            shown(),
            i64::MIN,
            i64::MAX
        )),
        _ => Ok(literal),
    }
}

/// The leading ASCII digits of `b`.
fn digits(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    &b[..n]
}

/// At most 19 digits (the callers check): fits an i128 with room to spare.
fn accumulate<'a>(digits: impl Iterator<Item = &'a u8>) -> i128 {
    digits.fold(0i128, |acc, &c| acc * 10 + i128::from(c - b'0'))
}

/// `±mantissa × 10^zeros` as an i64, when it fits (`mantissa` and the result have at most 19
/// digits, so nothing overflows an i128 on the way).
fn to_i64(negative: bool, mantissa: i128, zeros: u32) -> Option<i64> {
    let magnitude = mantissa * 10i128.pow(zeros);
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_numbers_are_read_exactly_however_written() {
        for (v, want) in [
            ("0", Plain(0)),
            ("-0", Plain(0)),
            ("200", Plain(200)),
            ("-3", Plain(-3)),
            ("9223372036854775807", Plain(i64::MAX)),
            ("-9223372036854775808", Plain(i64::MIN)),
            ("200.0", Integral(200)),
            ("2e2", Integral(200)),
            ("2E+2", Integral(200)),
            ("20000e-2", Integral(200)),
            ("0.02e4", Integral(200)),
            ("-0.0", Integral(0)),
            ("0e-999999999999999999999", Integral(0)),
            ("0.000e999999999999999999999", Integral(0)),
            ("9007199254740993.0", Integral(9_007_199_254_740_993)),
            ("9223372036854775807.000", Integral(i64::MAX)),
            ("-9.223372036854775808e18", Integral(i64::MIN)),
        ] {
            assert_eq!(read(v.as_bytes()), want, "{v}");
        }
    }

    #[test]
    fn fractions_and_numbers_beyond_i64_are_named() {
        for (v, want) in [
            ("200.5", Fraction),
            ("2.005e2", Fraction),
            ("200.00000000000001", Fraction),
            ("1e-1", Fraction),
            ("1e-999999999999999999999", Fraction),
            ("12345678901234567890.5", Fraction),
            ("9223372036854775808", OutOfRange),
            ("-9223372036854775809", OutOfRange),
            ("99999999999999999999999", OutOfRange),
            ("1e19", OutOfRange),
            ("1e300", OutOfRange),
            ("-1e999999999999999999999", OutOfRange),
            ("9223372036854775807.5e1", OutOfRange),
        ] {
            assert_eq!(read(v.as_bytes()), want, "{v}");
        }
        for v in [
            "", "-", "01", "-01", "1.", ".5", "+1", "1e", "1e+", "1.e2", "NaN", "Infinity", "0x10",
            "1_000", "1.2.3", "\"200\"", "true", "null", "2 ",
        ] {
            assert_eq!(read(v.as_bytes()), NotANumber, "{v}");
        }
    }

    #[test]
    fn reasons_quote_the_field_and_the_value_and_say_what_was_expected() {
        assert_eq!(
            check("status", b"200.5").unwrap_err(),
            "field `status` is 200.5, expected an integer"
        );
        assert_eq!(
            check("n", b"1e300").unwrap_err(),
            "field `n` is 1e300, expected an integer between -9223372036854775808 and 9223372036854775807"
        );
        let long = format!("1{}.5", "0".repeat(100));
        let why = check("n", long.as_bytes()).unwrap_err();
        assert!(why.ends_with("0…, expected an integer"), "{why}");
        assert_eq!(check("n", b"2e2"), Ok(Integral(200)));
        assert_eq!(check("n", b"\"2.5\""), Ok(NotANumber));
    }
}
