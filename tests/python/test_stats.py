"""Oracle tests: every statistic of `src/stats/` against SciPy (or the closed form in NumPy).

`postlaunch stats eval` reads a JSON array of requests on stdin and prints one result per request;
each test below generates at least 20 datasets with a seeded NumPy generator (unequal variances,
unbalanced arms, tiny and huge samples, zero conversions, p-values far below 1e-10), sends them in
one call, and compares each number with the SciPy call written next to the comparison, with a
relative tolerance of 1e-9 (closed forms) (statsmodels is not available, so the two-proportion
z-test is written out with `scipy.stats.norm`).

Convention, as in Rust: control is arm A, treatment arm B, effects are B − A.
"""

from __future__ import annotations

import json
import math
import subprocess
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from conftest import postlaunch_bin

#: Relative tolerance where a closed form exists.
RTOL = 1e-9
#: Absolute floor for numbers that should be 0 (e.g. an effect of exactly zero).
ATOL = 1e-300
ALPHA = 0.05


def evaluate(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send `requests` to `postlaunch stats eval` and return its results, in order."""
    proc = subprocess.run(
        [str(postlaunch_bin()), "stats", "eval"],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert len(results) == len(requests)
    for req, res in zip(requests, results):
        assert "error" not in res, f"{req['test']}: {res['error']}"
    return results


def close(actual: float, expected: float, what: str, rtol: float = RTOL) -> None:
    assert_allclose(actual, expected, rtol=rtol, atol=ATOL, err_msg=what)


def two_sample_cases(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """24 (control, treatment) pairs of real-valued samples."""
    cases = []
    # (n_a, n_b, sd_a, sd_b, shift): tiny, unbalanced, unequal variances, huge, extreme.
    shapes = [
        (2, 2, 1.0, 1.0, 0.5),
        (2, 3, 1.0, 5.0, 1.0),
        (3, 40, 0.1, 3.0, 0.2),
        (5, 5, 1.0, 1.0, 0.0),
        (10, 1000, 2.0, 0.5, 0.1),
        (30, 30, 1.0, 10.0, 3.0),
        (50, 70, 1.0, 1.0, 0.3),
        (100, 100, 1.0, 1.0, 0.0),
        (100, 10, 0.01, 4.0, 1.0),
        (500, 520, 3.0, 3.1, 0.2),
        (1000, 1000, 1.0, 1.0, 0.5),  # p < 1e-10
        (2000, 300, 1.0, 2.0, 1.5),  # p < 1e-10
        (5000, 5000, 1.0, 1.0, 0.02),
        (10000, 9000, 20.0, 25.0, 1.0),
        (100000, 100000, 1.0, 1.0, 0.01),  # huge
        (200000, 50000, 1.0, 3.0, 0.05),  # huge, p ~ 1e-4..1e-10
        (7, 9, 100.0, 1.0, 50.0),
        (20, 20, 1e-3, 1e-3, 1e-3),
        (40, 35, 1.0, 1.0, 5.0),  # p < 1e-10 with few units
        (3000, 3000, 1.0, 1.0, 0.4),  # p ~ 1e-50
    ]
    for n_a, n_b, sd_a, sd_b, shift in shapes:
        a = rng.normal(10.0, sd_a, n_a)
        b = rng.normal(10.0 + shift, sd_b, n_b)
        cases.append((a, b))
    # Skewed, revenue-like (many zeros), and integer-valued data.
    for n in (50, 400, 4000, 40000):
        a = rng.lognormal(3.0, 1.0, n) * (rng.random(n) < 0.3)
        b = rng.lognormal(3.1, 1.0, n + 17) * (rng.random(n + 17) < 0.33)
        cases.append((a, b))
    return cases


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(20261101)
    cases = two_sample_cases(rng)
    assert len(cases) >= 20
    results = evaluate(
        [
            {"test": "welch", "control": a.tolist(), "treatment": b.tolist(), "alpha": ALPHA}
            for a, b in cases
        ]
    )
    tiny_p = 0
    for i, ((a, b), r) in enumerate(zip(cases, results)):
        what = f"case {i} (n={len(a)},{len(b)})"
        # scipy.stats.ttest_ind(b, a, equal_var=False)
        ref = stats.ttest_ind(b, a, equal_var=False)
        # ref.confidence_interval(confidence_level=0.95): b̄ − ā ± t_{0.975,df}·se
        ci = ref.confidence_interval(confidence_level=1 - ALPHA)
        close(r["statistic"], ref.statistic, what + " t")
        close(r["df"], ref.df, what + " df")
        close(r["p_value"], ref.pvalue, what + " p")
        close(r["effect"], b.mean() - a.mean(), what + " effect")
        close(r["ci"]["low"], ci.low, what + " ci low")
        close(r["ci"]["high"], ci.high, what + " ci high")
        # Relative effect, delta method: Var(B/A) ≈ Var(B̄)/Ā² + B̄²·Var(Ā)/Ā⁴,
        # interval with scipy.stats.t.isf(alpha/2, df).
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        ma, mb = a.mean(), b.mean()
        se_rel = math.sqrt(vb / ma**2 + mb**2 * va / ma**4)
        crit = stats.t.isf(ALPHA / 2, ref.df)
        close(r["relative"], mb / ma - 1, what + " relative")
        close(r["relative_ci"]["low"], mb / ma - 1 - crit * se_rel, what + " rel low")
        close(r["relative_ci"]["high"], mb / ma - 1 + crit * se_rel, what + " rel high")
        assert r["significant"] == (ci.low > 0 or ci.high < 0), what
        tiny_p += ref.pvalue < 1e-10
    assert tiny_p >= 3, "the datasets must include p-values below 1e-10"


def proportion_cases() -> list[tuple[int, int, int, int]]:
    """(x_control, n_control, x_treatment, n_treatment), 24 of them."""
    return [
        (0, 10, 0, 12),  # zero conversions in both arms
        (0, 100, 5, 100),  # zero in one arm
        (3, 100, 0, 90),
        (1, 3, 2, 3),  # tiny
        (1, 1, 0, 1),
        (10, 10, 9, 10),
        (50, 1000, 60, 1000),
        (120, 1000, 80, 1500),  # unbalanced
        (500, 1000, 520, 1000),
        (5000, 100000, 5300, 100000),
        (5000, 100000, 6000, 100000),  # p < 1e-10
        (50000, 1000000, 51000, 1000000),  # p < 1e-5
        (100000, 1000000, 110000, 1000000),  # p ~ 1e-120
        (385, 1000, 431, 1000),
        (770, 2000, 862, 2000),
        (1, 10000000, 3, 10000000),  # huge n, tiny rate
        (999, 1000, 1000, 1000),
        (20, 30, 5, 400),
        (7, 200, 9, 20),
        (100, 200, 100, 200),  # identical rates
        (3000, 5000, 3050, 5100),
        (0, 5, 5, 5),  # complete separation
        (12345, 67890, 12000, 60000),
        (42, 4200, 84, 4200),
    ]


def test_two_proportion_matches_formula() -> None:
    cases = proportion_cases()
    assert len(cases) >= 20
    results = evaluate(
        [
            {
                "test": "two_proportion",
                "x_control": xa,
                "n_control": na,
                "x_treatment": xb,
                "n_treatment": nb,
                "alpha": ALPHA,
            }
            for xa, na, xb, nb in cases
        ]
    )
    tiny_p = 0
    for (xa, na, xb, nb), r in zip(cases, results):
        what = f"{xa}/{na} vs {xb}/{nb}"
        pa, pb = xa / na, xb / nb
        pooled = (xa + xb) / (na + nb)
        se0 = math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
        # z = (p̂_B − p̂_A) / sqrt(p̄(1−p̄)(1/n_A + 1/n_B)); p = 2·scipy.stats.norm.sf(|z|)
        z = (pb - pa) / se0 if se0 > 0 else 0.0
        p = min(1.0, 2 * stats.norm.sf(abs(z)))
        close(r["statistic"], z, what + " z")
        close(r["p_value"], p, what + " p")
        # Unpooled Wald interval: p̂_B − p̂_A ± scipy.stats.norm.isf(α/2)·sqrt(Σ p̂(1−p̂)/n)
        se = math.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
        crit = stats.norm.isf(ALPHA / 2)
        close(r["ci"]["low"], pb - pa - crit * se, what + " ci low")
        close(r["ci"]["high"], pb - pa + crit * se, what + " ci high")
        assert r["significant"] == (pb - pa - crit * se > 0 or pb - pa + crit * se < 0), what
        tiny_p += p < 1e-10
    assert tiny_p >= 2


def test_ratio_delta_method_matches_formula() -> None:
    rng = np.random.default_rng(7)
    cases = []
    for i in range(24):
        n_a = int(rng.choice([3, 10, 50, 500, 5000, 50000]))
        n_b = int(n_a * rng.uniform(0.5, 2.0)) + 2
        rate_a = rng.uniform(0.01, 0.5)
        rate_b = rate_a * (1 + (0.5 if i % 6 == 0 else rng.uniform(-0.1, 0.1)))

        def arm(n: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
            y = 1.0 + rng.poisson(rng.uniform(1, 20), n)  # e.g. requests per user
            x = rng.binomial(y.astype(int), min(rate, 1.0)).astype(float)  # errors per user
            return x, y

        cases.append((arm(n_a, rate_a), arm(n_b, rate_b)))
    results = evaluate(
        [
            {
                "test": "ratio",
                "control": {"x": xa.tolist(), "y": ya.tolist()},
                "treatment": {"x": xb.tolist(), "y": yb.tolist()},
                "alpha": ALPHA,
            }
            for (xa, ya), (xb, yb) in cases
        ]
    )
    tiny_p = 0
    for i, (((xa, ya), (xb, yb)), r) in enumerate(zip(cases, results)):
        what = f"case {i}"

        def delta(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
            # R = x̄/ȳ; Var(R) ≈ (s_xx − 2R·s_xy + R²·s_yy) / (n·ȳ²)   (Deng et al. 2018)
            n, r_ = len(x), x.mean() / y.mean()
            c = np.cov(x, y, ddof=1)
            var = (c[0, 0] - 2 * r_ * c[0, 1] + r_**2 * c[1, 1]) / (n * y.mean() ** 2)
            return r_, var

        ra, va = delta(xa, ya)
        rb, vb = delta(xb, yb)
        se = math.sqrt(va + vb)
        z = (rb - ra) / se
        # p = 2·scipy.stats.norm.sf(|z|); interval (R_B − R_A) ± scipy.stats.norm.isf(α/2)·se
        p = 2 * stats.norm.sf(abs(z))
        crit = stats.norm.isf(ALPHA / 2)
        close(r["statistic"], z, what + " z")
        close(r["p_value"], p, what + " p")
        close(r["ci"]["low"], rb - ra - crit * se, what + " low", rtol=1e-8)
        close(r["ci"]["high"], rb - ra + crit * se, what + " high", rtol=1e-8)
        tiny_p += p < 1e-10
    assert tiny_p >= 1


def test_quantile_test_matches_formula() -> None:
    rng = np.random.default_rng(95)
    cases = []
    for i in range(22):
        n_a = int(rng.choice([5, 20, 100, 1000, 20000]))
        n_b = int(n_a * rng.uniform(0.6, 1.7)) + 3
        factor = 1.3 if i % 4 == 0 else 1.0
        q = [0.5, 0.95, 0.99][i % 3]
        a = rng.lognormal(math.log(120), 0.6, n_a)
        b = rng.lognormal(math.log(120 * factor), 0.6, n_b)
        cases.append((a, b, q))
    results = evaluate(
        [
            {"test": "quantile", "control": a.tolist(), "treatment": b.tolist(), "q": q}
            for a, b, q in cases
        ]
    )
    z975 = stats.norm.isf(0.025)

    def woodruff(x: np.ndarray, q: float) -> tuple[float, float]:
        # Nearest-rank quantile x_(⌈nq⌉); SE = (x_(u) − x_(l)) / (2·1.96) with
        # l = ⌊nq − 1.96·sqrt(nq(1−q))⌋, u = ⌈nq + 1.96·sqrt(nq(1−q))⌉, ranks clamped to 1..n.
        s, n = np.sort(x), len(x)
        rank = lambda r: int(min(max(r, 1), n)) - 1  # noqa: E731
        spread = z975 * math.sqrt(n * q * (1 - q))
        lo, hi = s[rank(math.floor(n * q - spread))], s[rank(math.ceil(n * q + spread))]
        return s[rank(math.ceil(n * q))], (hi - lo) / (2 * z975)

    for i, ((a, b, q), r) in enumerate(zip(cases, results)):
        (qa, sa), (qb, sb) = woodruff(a, q), woodruff(b, q)
        se = math.sqrt(sa**2 + sb**2)
        z = (qb - qa) / se
        what = f"case {i} q={q}"
        close(r["control"]["estimate"], qa, what + " qa")
        close(r["treatment"]["estimate"], qb, what + " qb")
        close(r["se"], se, what + " se")
        # p = 2·scipy.stats.norm.sf(|z|)
        close(r["p_value"], 2 * stats.norm.sf(abs(z)), what + " p")
        # Sanity against NumPy's own quantile definition (not exact: a different rule).
        assert abs(qa - np.quantile(a, q, method="inverted_cdf")) <= 1e-12 * qa


def test_clustered_quantile_test_matches_formula() -> None:
    rng = np.random.default_rng(96)
    cases = []
    for i in range(22):
        users_a = int(rng.choice([3, 20, 200, 2000]))
        users_b = int(users_a * rng.uniform(0.6, 1.6)) + 2
        q = [0.5, 0.95, 0.9][i % 3]
        factor = 1.3 if i % 4 == 0 else 1.0

        def arm(users: int, scale: float) -> list[tuple[float, int]]:
            out = []
            for u in range(users):
                user_scale = scale * rng.lognormal(0, 0.4)  # users differ: observations cluster
                for _ in range(1 + int(rng.poisson(rng.choice([0.5, 3.0, 20.0])))):
                    out.append((float(rng.lognormal(math.log(100 * user_scale), 0.5)), u))
            return out

        cases.append((arm(users_a, 1.0), arm(users_b, factor), q))
    results = evaluate(
        [
            {"test": "clustered_quantile", "control": a, "treatment": b, "q": q}
            for a, b, q in cases
        ]
    )
    z975 = stats.norm.isf(0.025)

    def clustered(obs: list[tuple[float, int]], q: float) -> tuple[float, float]:
        # Q = x_(⌈Nq⌉); per user c_i = #{x ≤ Q}, n_i = #obs; p̂ = Σc/Σn;
        # Var(p̂) = (s_cc − 2p̂ s_cn + p̂² s_nn) / (K n̄²)  (delta method, Deng et al. 2018 §4.2);
        # l = ⌊N(q − 1.96 se_p)⌋, u = ⌈N(q + 1.96 se_p)⌉; se_Q = (x_(u) − x_(l)) / (2·1.96)
        xs = np.array(sorted(x for x, _ in obs))
        n = len(xs)
        rank = lambda r: int(min(max(r, 1), n)) - 1  # noqa: E731
        est = xs[rank(math.ceil(n * q))]
        values = np.array([x for x, _ in obs])
        _, user = np.unique(np.array([u for _, u in obs]), return_inverse=True)
        c = np.bincount(user, weights=(values <= est).astype(float))
        m = np.bincount(user).astype(float)
        users = c
        share = c.mean() / m.mean()
        cov = np.cov(c, m, ddof=1)
        var = cov[0, 0] - 2 * share * cov[0, 1] + share**2 * cov[1, 1]
        var /= len(users) * m.mean() ** 2
        spread = z975 * math.sqrt(max(var, 0.0))
        lo, hi = xs[rank(math.floor(n * (q - spread)))], xs[rank(math.ceil(n * (q + spread)))]
        return est, (hi - lo) / (2 * z975)

    for i, ((a, b, q), r) in enumerate(zip(cases, results)):
        (qa, sa), (qb, sb) = clustered(a, q), clustered(b, q)
        what = f"case {i} q={q}"
        close(r["control"]["estimate"], qa, what + " qa")
        close(r["treatment"]["se"], sb, what + " se_b")
        se = math.sqrt(sa**2 + sb**2)
        # p = 2·scipy.stats.norm.sf(|Q_B − Q_A| / se)
        close(r["p_value"], 2 * stats.norm.sf(abs(qb - qa) / se), what + " p")


def test_mann_whitney_matches_scipy() -> None:
    rng = np.random.default_rng(11)
    cases = []
    for i in range(24):
        n_a = int(rng.choice([1, 3, 8, 30, 200, 2000, 20000]))
        n_b = int(rng.choice([2, 5, 30, 300, 3000]))
        shift = [0.0, 0.1, 0.5, 2.0][i % 4]
        if i % 3 == 0:  # heavy ties: integer latencies
            a = rng.poisson(20, n_a).astype(float)
            b = rng.poisson(20 + 5 * shift, n_b).astype(float)
        else:
            a = rng.lognormal(4.0, 0.5, n_a)
            b = rng.lognormal(4.0 + shift, 0.5, n_b)
        cases.append((a, b))
    results = evaluate(
        [{"test": "mann_whitney", "control": a.tolist(), "treatment": b.tolist()} for a, b in cases]
    )
    tiny_p = 0
    for i, ((a, b), r) in enumerate(zip(cases, results)):
        # scipy.stats.mannwhitneyu(b, a, method="asymptotic", use_continuity=True)
        ref = stats.mannwhitneyu(b, a, method="asymptotic", use_continuity=True)
        close(r["u"], ref.statistic, f"case {i} U")
        close(r["p_value"], ref.pvalue, f"case {i} p")
        tiny_p += ref.pvalue < 1e-10
    assert tiny_p >= 3


def test_srm_chisquare_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    cases: list[tuple[list[int], list[float]]] = []
    for i in range(24):
        arms = 2 + i % 3
        shares = rng.uniform(0.5, 2.0, arms) if i % 2 else np.ones(arms)
        total = int(rng.choice([10, 100, 1000, 100000, 5000000]))
        skew = np.ones(arms)
        if i % 5 == 0:
            skew[0] = 1.1  # a 55/45-like mismatch: p < 1e-10 at large totals
        p = shares * skew / (shares * skew).sum()
        counts = rng.multinomial(total, p).tolist()
        cases.append((counts, shares.tolist()))
    results = evaluate([{"test": "chisquare", "observed": c, "shares": s} for c, s in cases])
    tiny_p = 0
    for i, ((counts, shares), r) in enumerate(zip(cases, results)):
        expected = np.array(shares) / sum(shares) * sum(counts)
        # scipy.stats.chisquare(counts, expected)
        ref = stats.chisquare(counts, expected)
        close(r["statistic"], ref.statistic, f"case {i} chi2", rtol=1e-9)
        close(r["p_value"], ref.pvalue, f"case {i} p")
        tiny_p += ref.pvalue < 1e-10
    assert tiny_p >= 2


def p_value_sets() -> list[list[float]]:
    rng = np.random.default_rng(5)
    sets = [[0.01, 0.04, 0.03, 0.2], [0.5], [1e-12, 0.5, 0.049], [0.05, 0.05, 0.05]]
    for _ in range(20):
        m = int(rng.integers(1, 15))
        sets.append((rng.random(m) ** 3).tolist())
    return sets


def test_benjamini_hochberg_matches_scipy() -> None:
    sets = p_value_sets()
    results = evaluate([{"test": "bh", "p": p} for p in sets])
    for p, r in zip(sets, results):
        # scipy.stats.false_discovery_control(p, method="bh")
        close(r["adjusted"], stats.false_discovery_control(p, method="bh"), f"BH {p}")


def test_holm_matches_hand_computation() -> None:
    sets = p_value_sets()
    results = evaluate([{"test": "holm", "p": p} for p in sets])
    for p, r in zip(sets, results):
        # Holm (no SciPy function): sort ascending, adjusted_(i) = max_{j≤i} min(1, (m−j+1)·p_(j))
        order = np.argsort(p, kind="stable")
        m = len(p)
        adjusted = np.empty(m)
        running = 0.0
        for rank, idx in enumerate(order):
            running = max(running, min(1.0, (m - rank) * p[idx]))
            adjusted[idx] = running
        close(r["adjusted"], adjusted, f"Holm {p}")


def test_power_and_mde_match_scipy() -> None:
    rng = np.random.default_rng(80)
    cases = [(float(rng.uniform(-3, 3)), float(rng.uniform(0.05, 2.0))) for _ in range(22)]
    cases += [(0.0, 1.0), (10.0, 1.0)]
    results = evaluate(
        [{"test": "power", "effect": e, "se": s, "alpha": ALPHA} for e, s in cases]
        + [{"test": "mde", "se": s, "alpha": ALPHA, "power": 0.8} for _, s in cases]
    )
    crit = stats.norm.isf(ALPHA / 2)
    for (effect, se), r in zip(cases, results[: len(cases)]):
        # power = scipy.stats.norm.sf(z_{1−α/2} − |δ|/se) + scipy.stats.norm.sf(z_{1−α/2} + |δ|/se)
        d = abs(effect) / se
        close(r["power"], stats.norm.sf(crit - d) + stats.norm.sf(crit + d), f"power {effect} {se}")
    for (_, se), r in zip(cases, results[len(cases) :]):
        # MDE = (scipy.stats.norm.isf(α/2) + scipy.stats.norm.ppf(0.8))·se
        close(r["mde"], (crit + stats.norm.ppf(0.8)) * se, f"mde {se}")


def test_confidence_sequence_formula_and_time_uniform_coverage() -> None:
    rng = np.random.default_rng(48)
    cases = [
        (float(rng.normal(0, 1)), float(rng.uniform(0.01, 1)), float(rng.uniform(0.05, 2)))
        for _ in range(24)
    ]
    results = evaluate(
        [
            {"test": "sequential", "effect": e, "se": s, "tau": t, "alpha": ALPHA}
            for e, s, t in cases
        ]
    )
    for (e, s, t), r in zip(cases, results):
        # Normal mixture (Howard et al. 2021 eq. 14; mSPRT, Johari et al.):
        # half = sqrt(V(V+τ²)/τ² · (ln((V+τ²)/V) + 2 ln(1/α))), p = min(1, 1/Λ(0)).
        v, t2 = s * s, t * t
        half = math.sqrt(v * (v + t2) / t2 * (math.log((v + t2) / v) + 2 * math.log(1 / ALPHA)))
        lam = math.sqrt(v / (v + t2)) * math.exp(t2 * e * e / (2 * v * (v + t2)))
        close(r["interval"]["low"], e - half, "cs low")
        close(r["interval"]["high"], e + half, "cs high")
        close(r["p_value"], min(1.0, 1 / lam), "cs p")
        assert (r["p_value"] < ALPHA) == (e - half > 0 or e + half < 0)

    # Time-uniform coverage: 300 streams of 60 hourly looks with no true effect; the fraction
    # whose sequence ever excludes 0 must stay near or below α (fixed 95 % intervals peeked at
    # 60 times exclude 0 far more often, which is the point).
    streams, looks, per_look = 300, 60, 50
    increments = rng.normal(0, 1, (streams, looks, per_look)).sum(axis=2)
    n = per_look * np.arange(1, looks + 1)
    means = increments.cumsum(axis=1) / n
    ses = 1 / np.sqrt(n)
    requests = [
        {"test": "sequential", "effect": float(means[i, k]), "se": float(ses[k]), "tau": 0.1}
        for i in range(streams)
        for k in range(looks)
    ]
    results = evaluate(requests)
    crossed = np.array(
        [r["interval"]["low"] > 0 or r["interval"]["high"] < 0 for r in results]
    ).reshape(streams, looks)
    ever = crossed.any(axis=1).mean()
    naive = (np.abs(means / ses) > stats.norm.isf(ALPHA / 2)).any(axis=1).mean()
    assert ever <= 0.08, f"confidence sequence crossed in {ever:.1%} of null streams"
    assert naive > 2 * ALPHA, f"peeking at fixed intervals should inflate errors ({naive:.1%})"


@pytest.mark.parametrize("bad", ['{"test": "welch"}', "[1, 2]", "not json"])
def test_bad_requests_are_usage_errors(bad: str) -> None:
    proc = subprocess.run(
        [str(postlaunch_bin()), "stats", "eval"], input=bad, capture_output=True, text=True
    )
    assert proc.returncode == 64, proc.stderr


def test_anomaly_baseline_matches_numpy() -> None:
    # The P4 anomaly rules' baseline (src/stats/robust.rs): numpy.median of the references,
    # scipy.stats.median_abs_deviation (raw and scale="normal"), and the robust z
    # (x − median) / (1.4826·MAD). Odd, even and tiny counts, ties, outliers, lognormal data.
    rng = np.random.default_rng(14)
    cases = [list(rng.lognormal(6.5, 0.2, size=n)) for n in (1, 2, 3, 4, 7, 8, 28)]
    cases += [[1.0, 1.0, 1.0, 2.0], [3.0, 1.0, 100.0, 2.0, 4.0], list(rng.normal(0, 1, 101))]
    ats = [float(rng.uniform(0, 1500)) for _ in cases]
    results = evaluate([{"test": "robust", "x": x, "at": a} for x, a in zip(cases, ats)])
    for x, at, r in zip(cases, ats, results):
        arr = np.asarray(x)
        med = float(np.median(arr))
        mad = float(stats.median_abs_deviation(arr))
        close(r["median"], med, f"median {x}")
        assert abs(r["mad"] - mad) <= 1e-9 * max(1.0, mad), f"mad {x}: {r['mad']} vs {mad}"
        sigma = float(stats.median_abs_deviation(arr, scale="normal"))
        assert abs(r["sigma"] - sigma) <= 1e-9 * max(1.0, sigma), f"sigma {x}"
        if sigma > 0:
            close(r["z"], (at - med) / sigma, f"z {x}")
        else:
            assert r["z"] is None
