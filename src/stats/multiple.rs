//! Multiple-comparison adjustments of p-values for an experiment's several goal metrics.

/// Which adjustment to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// Benjamini–Hochberg: controls the false discovery rate (the default for goal metrics).
    Bh,
    /// Holm's step-down: controls the family-wise error rate (stricter).
    Holm,
    /// No adjustment.
    None,
}

impl Correction {
    /// Adjusted p-values, in the order of `p`.
    pub fn adjust(&self, p: &[f64]) -> Vec<f64> {
        match self {
            Correction::Bh => benjamini_hochberg(p),
            Correction::Holm => holm(p),
            Correction::None => p.to_vec(),
        }
    }

    /// The name stored in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Correction::Bh => "benjamini_hochberg",
            Correction::Holm => "holm",
            Correction::None => "none",
        }
    }
}

fn order(p: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    idx
}

/// Benjamini–Hochberg (1995) adjusted p-values: for the i-th smallest of m,
/// `min_{j ≥ i} min(1, m·p_(j)/j)`. Matches `scipy.stats.false_discovery_control(p,
/// method="bh")`.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let idx = order(p);
    let mut out = vec![0.0; m];
    let mut running = 1.0_f64;
    for (rank, &i) in idx.iter().enumerate().rev() {
        running = running.min(p[i] * m as f64 / (rank + 1) as f64);
        out[i] = running.min(1.0);
    }
    out
}

/// Holm (1979) step-down adjusted p-values: for the i-th smallest of m,
/// `max_{j ≤ i} min(1, (m − j + 1)·p_(j))`.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let idx = order(p);
    let mut out = vec![0.0; m];
    let mut running = 0.0_f64;
    for (rank, &i) in idx.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // scipy.stats.false_discovery_control([0.01, 0.04, 0.03, 0.2]) = [0.04, 0.05333333, 0.05333333, 0.2]
        let bh = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.2]);
        let want = [0.04, 0.16 / 3.0, 0.16 / 3.0, 0.2];
        for (a, b) in bh.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{bh:?}");
        }
        // Holm by hand: sorted 0.01, 0.03, 0.04, 0.2 → 0.04, 0.09, 0.09 (max with 0.08), 0.2.
        assert_eq!(holm(&[0.01, 0.04, 0.03, 0.2]), [0.04, 0.09, 0.09, 0.2]);
    }
}
