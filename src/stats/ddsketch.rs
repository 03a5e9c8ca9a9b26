//! Mergeable percentiles: a DDSketch (Masson, Rim & Lee, "DDSketch: A Fast and Fully-Mergeable
//! Quantile Sketch with Relative-Error Guarantees", VLDB 2019), plain numbers in and out. Hourly
//! jobs store one sketch per hour and group in a `BINARY` column; daily and weekly percentiles
//! merge those sketches instead of rescanning raw rows. The SQL functions that build, merge and
//! read it are in [`crate::query::sketch`].
//!
//! # The sketch
//! With relative accuracy α (default 1 %) and γ = (1 + α) / (1 − α), a positive value x falls in
//! bucket k = ⌈log_γ x⌉, which covers (γ^(k−1), γ^k]; the bucket's representative value
//! 2γ^k / (γ + 1) is within α·x of every x in it. Values whose magnitude is below
//! [`MIN_INDEXABLE`] (zero included) are counted in a separate zero bucket and read back as 0.
//! Negative values go to a mirrored store (bucket of |x|), so the sketch accepts any finite
//! number; latencies never use it. NaN and ±∞ are ignored. The exact count, minimum, maximum and
//! sum are kept alongside.
//!
//! Each of the two stores keeps at most [`MAX_BUCKETS`] consecutive bucket indexes. When a store
//! would span more, its lowest buckets (smallest positive values; for the negative store, the
//! largest magnitudes, i.e. again the lowest values) are folded into the lowest bucket kept. With
//! α = 1 % this only happens when the positive values span a ratio max/min above
//! γ^2047 ≈ 6·10^17 (in milliseconds: from 1 ns to about 19 years), so for latencies it never
//! does. At α = 0.1 % the same 2048 buckets cover a ratio of only e^8.2 ≈ 3 600.
//!
//! # Rank rule and guarantee
//! For n values sorted x₀ ≤ … ≤ xₙ₋₁ and q in [0, 1], [`DDSketch::quantile`] estimates
//! x_r with r = ⌊q·(n − 1)⌋ (the paper's rule; numpy's `quantile(x, q, method="lower")`).
//! Ranks 0 and n − 1 return the exact minimum and maximum. For every other rank the estimate x̂
//! satisfies |x̂ − x_r| ≤ α·|x_r| (up to floating-point rounding, about 10⁻¹² relative), provided
//! x_r's bucket was not collapsed (see above) and |x_r| ≥ [`MIN_INDEXABLE`]; values below that
//! read back as 0 (absolute error below 10⁻¹²). Estimates are clamped to [min, max], which only
//! brings them closer. The guarantee survives merging: a merged sketch has exactly the buckets of
//! the sketch of all the values.
//!
//! # Serialization
//! [`DDSketch::to_bytes`] writes a compact, deterministic format (equal sketches give equal
//! bytes); [`DDSketch::from_bytes`] validates every field and returns [`SketchError::Decode`] on
//! bad input, never panicking. Format version 1, integers as LEB128 varints, floats as
//! little-endian f64:
//!
//! ```text
//! u8 version = 1 | f64 alpha | varint count | varint zero_count | f64 min | f64 max | f64 sum
//! | store positive | store negative
//! store = varint buckets, then per non-empty bucket in ascending index order:
//!         index delta (first: zigzag varint of the index; then varint of index − previous ≥ 1)
//!         varint bucket count (≥ 1)
//! ```
//!
//! Counts, minimum, maximum and buckets do not depend on the order in which values were added or
//! sketches merged, so merge(a, b) has the same buckets as the sketch of a's and b's values. The
//! sum is a floating-point sum, so its last bits can depend on that order (it is exact, and the
//! bytes equal, when the values are whole numbers whose total stays below 2⁵³, such as whole
//! milliseconds).

/// Relative accuracy of sketches built by SQL `ddsketch(value)`: 1 %.
pub const DEFAULT_ALPHA: f64 = 0.01;

/// Most consecutive bucket indexes one store (positive or negative values) keeps; beyond it the
/// lowest buckets are collapsed and lose the guarantee.
pub const MAX_BUCKETS: usize = 2048;

/// Values with a smaller magnitude count as zero. Far below any latency we record (a
/// femtosecond when the unit is milliseconds), and it keeps bucket indexes small.
pub const MIN_INDEXABLE: f64 = 1e-12;

/// Smallest accepted α: below it bucket indexes of extreme doubles would not fit comfortably in
/// an `i32`.
pub const MIN_ALPHA: f64 = 1e-6;

/// The serialization format written by [`DDSketch::to_bytes`].
const FORMAT_VERSION: u8 = 1;

/// Bucket indexes a decoded sketch may use: generous for any valid α (|log_γ x| ≤ 4·10^8 for
/// α ≥ [`MIN_ALPHA`]) and far from `i32` overflow.
const MAX_KEY: i64 = 1 << 30;

/// Errors of sketch construction, merging, quantile lookup and decoding.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SketchError {
    #[error("relative accuracy {0} is out of range, expected {MIN_ALPHA} <= alpha < 1")]
    Alpha(f64),
    #[error("quantile {0} is out of range, expected 0 <= q <= 1")]
    Quantile(f64),
    #[error("cannot merge sketches of different relative accuracy ({0} and {1})")]
    AlphaMismatch(f64, f64),
    #[error("merged sketches would hold more than 2^64 - 1 values ({0} + {1})")]
    CountOverflow(u64, u64),
    #[error("bad sketch bytes: {0}")]
    Decode(String),
}

/// The logarithmic index mapping of relative accuracy α.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Mapping {
    alpha: f64,
    gamma: f64,
    ln_gamma: f64,
}

impl Mapping {
    fn new(alpha: f64) -> Result<Mapping, SketchError> {
        if !(MIN_ALPHA..1.0).contains(&alpha) {
            return Err(SketchError::Alpha(alpha));
        }
        let gamma = (1.0 + alpha) / (1.0 - alpha);
        Ok(Mapping {
            alpha,
            gamma,
            ln_gamma: gamma.ln(),
        })
    }

    /// ⌈log_γ x⌉ for x ≥ [`MIN_INDEXABLE`].
    fn key(&self, x: f64) -> i32 {
        // |ln x| ≤ 710 for finite doubles and ln γ ≥ 2·10⁻⁶, so this fits in an i32.
        (x.ln() / self.ln_gamma).ceil() as i32
    }

    /// The value within α of everything in bucket `key`: 2γ^k / (γ + 1).
    fn value(&self, key: i32) -> f64 {
        2.0 * (f64::from(key) * self.ln_gamma).exp() / (self.gamma + 1.0)
    }
}

/// Dense bucket counts over at most [`MAX_BUCKETS`] consecutive indexes, collapsing the lowest.
///
/// Invariant: `counts` is empty, or its first and last entries are non-zero and it holds at most
/// `MAX_BUCKETS` entries; `total` is the sum of `counts`.
#[derive(Debug, Clone, Default, PartialEq)]
struct Store {
    offset: i32,
    counts: Vec<u64>,
    total: u64,
}

impl Store {
    fn highest(&self) -> Option<i32> {
        (!self.counts.is_empty()).then(|| self.offset + self.counts.len() as i32 - 1)
    }

    /// Adds `n` to bucket `key`, collapsing so that the final state only depends on the multiset
    /// of keys added: every key below `highest − MAX_BUCKETS + 1` ends in that bucket.
    fn add(&mut self, key: i32, n: u64) {
        if n == 0 {
            return;
        }
        self.total += n;
        let Some(hi) = self.highest() else {
            self.offset = key;
            self.counts.push(n);
            return;
        };
        if key > hi {
            self.counts.resize((key - self.offset) as usize + 1, 0);
            *self.counts.last_mut().expect("just resized") += n;
            self.collapse_below(key - (MAX_BUCKETS as i32 - 1));
        } else {
            let key = key.max(hi - (MAX_BUCKETS as i32 - 1));
            if key < self.offset {
                let grow = (self.offset - key) as usize;
                self.counts.splice(0..0, std::iter::repeat_n(0, grow));
                self.offset = key;
            }
            self.counts[(key - self.offset) as usize] += n;
        }
    }

    /// Folds every bucket below `lowest` into bucket `lowest`.
    fn collapse_below(&mut self, lowest: i32) {
        if lowest <= self.offset {
            return;
        }
        let cut = (lowest - self.offset) as usize;
        let folded: u64 = self.counts.drain(..cut).sum();
        self.counts[0] += folded;
        self.offset = lowest;
    }

    /// Non-empty buckets in ascending index order.
    fn buckets(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| (self.offset + i as i32, c))
    }

    fn merge(&mut self, other: &Store) {
        for (key, n) in other.buckets() {
            self.add(key, n);
        }
    }
}

/// A DDSketch of finite `f64` values; see the module documentation for the guarantee.
#[derive(Debug, Clone, PartialEq)]
pub struct DDSketch {
    mapping: Mapping,
    /// Buckets of values ≥ [`MIN_INDEXABLE`], by ⌈log_γ x⌉.
    positive: Store,
    /// Buckets of values ≤ −[`MIN_INDEXABLE`], by −⌈log_γ |x|⌉, so that ascending keys are
    /// ascending values and collapsing the lowest keys collapses the lowest values.
    negative: Store,
    zero_count: u64,
    count: u64,
    min: f64,
    max: f64,
    sum: f64,
}

impl Default for DDSketch {
    fn default() -> Self {
        DDSketch::new(DEFAULT_ALPHA).expect("the default alpha is valid")
    }
}

impl DDSketch {
    /// An empty sketch of relative accuracy `alpha` (in [[`MIN_ALPHA`], 1)).
    pub fn new(alpha: f64) -> Result<DDSketch, SketchError> {
        Ok(DDSketch {
            mapping: Mapping::new(alpha)?,
            positive: Store::default(),
            negative: Store::default(),
            zero_count: 0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
        })
    }

    /// Adds one value; NaN and ±∞ are ignored (they have no rank to estimate).
    pub fn add(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        if x >= MIN_INDEXABLE {
            self.positive.add(self.mapping.key(x), 1);
        } else if x <= -MIN_INDEXABLE {
            self.negative.add(-self.mapping.key(-x), 1);
        } else {
            self.zero_count += 1;
        }
        self.count += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.sum += x;
    }

    /// Adds values sorted in ascending order (NaN-free, e.g. by `f64::total_cmp`): the same
    /// buckets and counts as [`DDSketch::add`] on each, with one logarithm per bucket instead of
    /// one per value for the positive values.
    pub fn extend_sorted(&mut self, xs: &[f64]) {
        let mut i = 0;
        while i < xs.len() {
            let x = xs[i];
            if !(x.is_finite() && x >= MIN_INDEXABLE) {
                self.add(x);
                i += 1;
                continue;
            }
            // Bucket k covers (γ^(k−1), γ^k]. Values up to a bound just below γ^k are surely
            // in k (sorted input: at least x's bucket); the one at the bound's edge, if any, is
            // keyed on its own by the next iteration.
            let key = self.mapping.key(x);
            let bound = (f64::from(key) * self.mapping.ln_gamma).exp() * (1.0 - 1e-12);
            let mut j = i + 1;
            while j < xs.len() && xs[j] <= bound && xs[j].is_finite() {
                j += 1;
            }
            let n = (j - i) as u64;
            self.positive.add(key, n);
            self.count += n;
            self.min = self.min.min(x);
            self.max = self.max.max(xs[j - 1]);
            self.sum += xs[i..j].iter().sum::<f64>();
            i = j;
        }
    }

    /// Adds every value of `other`, which must have the same α.
    pub fn merge(&mut self, other: &DDSketch) -> Result<(), SketchError> {
        if self.mapping.alpha.to_bits() != other.mapping.alpha.to_bits() {
            return Err(SketchError::AlphaMismatch(
                self.mapping.alpha,
                other.mapping.alpha,
            ));
        }
        if other.count == 0 {
            return Ok(());
        }
        // Decoded sketches can claim any count; every other counter is at most `count`, so this
        // one check keeps all the additions below from overflowing.
        if self.count.checked_add(other.count).is_none() {
            return Err(SketchError::CountOverflow(self.count, other.count));
        }
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
        self.zero_count += other.zero_count;
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        Ok(())
    }

    /// The relative accuracy α.
    pub fn alpha(&self) -> f64 {
        self.mapping.alpha
    }

    /// Number of values added (exact).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Smallest value added (exact); `None` when empty.
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// Largest value added (exact); `None` when empty.
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// Sum of the values added (a floating-point sum); 0 when empty.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Number of non-empty buckets (both signs, not the zero bucket).
    pub fn bucket_count(&self) -> usize {
        self.positive.buckets().count() + self.negative.buckets().count()
    }

    /// Bytes the bucket stores hold on the heap (their capacity), for callers that account for
    /// memory, such as the SQL aggregates.
    pub fn heap_size(&self) -> usize {
        size_of::<u64>() * (self.positive.counts.capacity() + self.negative.counts.capacity())
    }

    /// Estimate of the value of 0-based rank ⌊q·(n − 1)⌋; `None` when empty. The rank rule and
    /// the guarantee are in the module documentation.
    pub fn quantile(&self, q: f64) -> Result<Option<f64>, SketchError> {
        if !(0.0..=1.0).contains(&q) {
            return Err(SketchError::Quantile(q));
        }
        if self.count == 0 {
            return Ok(None);
        }
        // The same float operation as numpy's `floor((n - 1) * q)` for method="lower".
        let rank = (q * (self.count - 1) as f64).floor() as u64;
        if rank == 0 {
            return Ok(Some(self.min));
        }
        if rank >= self.count - 1 {
            return Ok(Some(self.max));
        }
        let clamp = |x: f64| Some(x.clamp(self.min, self.max));
        let mut seen = 0u64;
        for (key, n) in self.negative.buckets() {
            seen += n;
            if seen > rank {
                return Ok(clamp(-self.mapping.value(-key)));
            }
        }
        seen += self.zero_count;
        if seen > rank {
            return Ok(clamp(0.0));
        }
        for (key, n) in self.positive.buckets() {
            seen += n;
            if seen > rank {
                return Ok(clamp(self.mapping.value(key)));
            }
        }
        unreachable!("bucket counts sum to count, so rank {rank} < count is found")
    }

    /// Estimated number of values above `x`: the counts of the buckets whose representative
    /// value is above `x` (so values within a relative α of `x` may be counted on either side).
    pub fn count_above(&self, x: f64) -> u64 {
        if self.count == 0 || x.is_nan() || x >= self.max {
            return 0;
        }
        if x < self.min {
            return self.count;
        }
        let mut n = 0u64;
        for (key, c) in self.negative.buckets() {
            if -self.mapping.value(-key) > x {
                n += c;
            }
        }
        if 0.0 > x {
            n += self.zero_count;
        }
        for (key, c) in self.positive.buckets() {
            if self.mapping.value(key) > x {
                n += c;
            }
        }
        n
    }

    /// The serialized sketch (format in the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 3 * self.bucket_count());
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&self.mapping.alpha.to_le_bytes());
        put_varint(&mut out, self.count);
        put_varint(&mut out, self.zero_count);
        for x in [self.min, self.max, self.sum] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        for store in [&self.positive, &self.negative] {
            put_varint(&mut out, store.buckets().count() as u64);
            let mut previous = None;
            for (key, n) in store.buckets() {
                match previous {
                    None => put_varint(&mut out, zigzag(i64::from(key))),
                    Some(p) => put_varint(&mut out, (i64::from(key) - i64::from(p)) as u64),
                }
                put_varint(&mut out, n);
                previous = Some(key);
            }
        }
        out
    }

    /// Decodes [`DDSketch::to_bytes`] output, checking every field.
    pub fn from_bytes(bytes: &[u8]) -> Result<DDSketch, SketchError> {
        let mut r = Reader { bytes, pos: 0 };
        let version = r.u8("version")?;
        if version != FORMAT_VERSION {
            return Err(decode(format!(
                "format version {version}, expected {FORMAT_VERSION}"
            )));
        }
        let alpha = r.f64("alpha")?;
        let mut sketch = DDSketch::new(alpha).map_err(|e| decode(e.to_string()))?;
        let count = r.varint("count")?;
        let zero_count = r.varint("zero count")?;
        let (min, max, sum) = (r.f64("min")?, r.f64("max")?, r.f64("sum")?);
        for negative in [false, true] {
            let store = if negative {
                &mut sketch.negative
            } else {
                &mut sketch.positive
            };
            let what = if negative { "negative" } else { "positive" };
            let buckets = r.varint("bucket count")?;
            if buckets > MAX_BUCKETS as u64 {
                return Err(decode(format!(
                    "{buckets} {what} buckets, at most {MAX_BUCKETS} allowed"
                )));
            }
            let mut key: i64 = 0;
            let mut first_key = 0;
            for i in 0..buckets {
                if i == 0 {
                    key = unzigzag(r.varint("bucket index")?);
                    first_key = key;
                } else {
                    let delta = r.varint("bucket index delta")?;
                    if delta == 0 || delta > MAX_KEY as u64 {
                        return Err(decode(format!(
                            "{what} bucket index delta {delta}, expected 1..={MAX_KEY}"
                        )));
                    }
                    key += delta as i64;
                }
                if key.abs() > MAX_KEY {
                    return Err(decode(format!(
                        "{what} bucket index {key} out of range ±{MAX_KEY}"
                    )));
                }
                if key - first_key >= MAX_BUCKETS as i64 {
                    return Err(decode(format!(
                        "{what} buckets span {first_key}..={key}, more than {MAX_BUCKETS} indexes"
                    )));
                }
                let n = r.varint("bucket count")?;
                if n == 0 {
                    return Err(decode(format!("empty {what} bucket {key} stored")));
                }
                if store.total.checked_add(n).is_none() {
                    return Err(decode(format!("{what} bucket counts overflow 64 bits")));
                }
                // Keys ascend within the span checked above, so this never collapses.
                store.add(key as i32, n);
            }
        }
        if r.pos != bytes.len() {
            return Err(decode(format!(
                "{} trailing bytes after the sketch",
                bytes.len() - r.pos
            )));
        }
        let total = sketch
            .positive
            .total
            .checked_add(sketch.negative.total)
            .and_then(|t| t.checked_add(zero_count));
        if total != Some(count) {
            return Err(decode(format!(
                "count {count} differs from the sum of bucket and zero counts"
            )));
        }
        if count > 0 && !(min.is_finite() && max.is_finite() && min <= max) {
            return Err(decode(format!(
                "min {min} and max {max} of a non-empty sketch must be finite with min <= max"
            )));
        }
        if count == 0 {
            // The empty sketch is canonical: only what `new` sets decodes.
            if min != f64::INFINITY || max != f64::NEG_INFINITY || sum.to_bits() != 0 {
                return Err(decode(format!(
                    "empty sketch with min {min}, max {max}, sum {sum}"
                )));
            }
        }
        sketch.zero_count = zero_count;
        sketch.count = count;
        sketch.min = min;
        sketch.max = max;
        sketch.sum = sum;
        Ok(sketch)
    }
}

fn decode(message: String) -> SketchError {
    SketchError::Decode(message)
}

fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

fn unzigzag(x: u64) -> i64 {
    ((x >> 1) as i64) ^ -((x & 1) as i64)
}

/// A cursor over sketch bytes whose reads fail, naming the field, instead of panicking.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, field: &str) -> Result<&[u8], SketchError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(decode(format!(
                "truncated at byte {} reading {field} ({} bytes in all)",
                self.pos,
                self.bytes.len()
            )));
        };
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self, field: &str) -> Result<u8, SketchError> {
        Ok(self.take(1, field)?[0])
    }

    fn f64(&mut self, field: &str) -> Result<f64, SketchError> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    fn varint(&mut self, field: &str) -> Result<u64, SketchError> {
        let mut x: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8(field)?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                break;
            }
            x |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(x);
            }
        }
        Err(decode(format!(
            "varint {field} at byte {} overflows 64 bits",
            self.pos
        )))
    }
}

#[cfg(test)]
pub(crate) mod tests;
