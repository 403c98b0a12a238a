"""Expected new HIV infections per site: a Naomi-style model calibrated with recency testing.

For site ``s`` the model of new infections per 1,000 residents per year is log-linear::

    log incidence_s = log beta                                   (transmission rate)
                    + theta_pos   x log(positivity_s)            (undiagnosed, untreated PLHIV)
                    + theta_unsup x log(1 - on_art_s x suppressed_s)   (unsuppressed share)
                    + theta_group x mobile_share_s               (population-group mix)
                    + theta_mob   x log(1 + travellers_per_head_s)   (mobility)
                    + theta_sw    x sex_worker_share_s           (sex-work presence)
                    + theta_br    x bridging_flow_s              (bridging)

as in Naomi (incidence from the untreated, unsuppressed share of people living with HIV times
a transmission rate, with risk ratios as multipliers). Every coefficient has a prior
(``PRIORS``, sources in docs/hotspots.md). Where sites report recency testing
(``hiv_recent`` / ``hiv_recency_tested``, pooled over ``RECENCY_YEARS``), the recency estimate of
each site's new infections (recent share corrected for false recents x new diagnoses per year /
the chance of being diagnosed within the mean duration of recent infection, from the testing
rates of the site's population groups where it reports them: ``caught_recent``) calibrates the
model: a ridge regression toward the priors (weights 1 / (sampling variance + tau^2)) sets the
coefficients, tau^2 (the model error) comes from the residuals by the method of moments (floored
at ``TAU_FLOOR``), and each reporting site's estimate is the empirical-Bayes combination of its
recency estimate and the model, weighted by their precisions. Without enough recency sites the
coefficients keep their priors and tau is ``TAU_PRIOR``.

Uncertainty: every draw redraws the coefficients (from their posterior, or prior), positivity
(binomial), the missing inputs (from their imputation pools) and the site's model error
``N(0, tau^2)`` on the log scale (the empirical-Bayes posterior where recency is reported).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from threadpoolctl import threadpool_limits

from corridor.hotspots.components import SiteData
from corridor.hotspots.inputs import IncidenceInputs
from corridor.hotspots.scoring import imputation_pools, impute_draws, impute_point

#: mean duration of recent infection (years) and false-recent rate assumed for the recent
#: infection testing algorithm (LAg-avidity EIA with a viral-load step; docs/hotspots.md)
MDRI_YEARS: Final = 130.0 / 365.25
FRR: Final = 0.005
#: share of the estimated population aged 15 and over (HIV tests are offered to adults), where
#: the site does not report its population estimate by age band
ADULT_SHARE: Final = 0.6
#: testing rate (per adult per year) assumed where a site's cannot be computed
DEFAULT_TESTING_RATE: Final = 0.3
#: population groups defined by an adult occupation or trade: all their members are 15 or over
ADULT_GROUPS: Final = frozenset(
    {"mobile_worker", "truck_driver", "sex_worker", "fisherfolk", "miner",
     "cross_border_trader", "seasonal_worker"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Prior:
    """A log-normal (or normal) prior: mean and standard deviation, and where it comes from."""

    mean: float
    sd: float
    source: str


#: the model's terms: name -> (prior, component it explains)
TERMS: Final = ("positivity", "unsuppressed", "mobile_share", "mobility", "sex_work", "bridging")
TERM_COMPONENT: Final[dict[str, str]] = {
    "positivity": "burden",
    "unsuppressed": "service_gap",
    "mobile_share": "mobility",
    "mobility": "mobility",
    "sex_work": "burden",
    "bridging": "bridging",
}
#: priors of the coefficients (log scale); sources in docs/hotspots.md
PRIORS: Final[dict[str, Prior]] = {
    "intercept": Prior(3.8, 1.0, "weak; new infections per 1,000 at positivity 1 [set by recency]"),
    "positivity": Prior(1.0, 0.3, "Naomi: incidence proportional to untreated prevalence"),
    "unsuppressed": Prior(1.0, 0.5, "Naomi: incidence x (1 - ART coverage x suppression)"),
    "mobile_share": Prior(1.0, 1.0, "mobile populations: incidence ~2-3x residents (Camlin 2019)"),
    "mobility": Prior(0.15, 0.1, "mobility and partner change (Camlin et al. 2019) [weak]"),
    "sex_work": Prior(5.0, 5.0, "sex-work presence: FSW incidence ~10x (Baral et al. 2012)"),
    "bridging": Prior(0.0, 0.1, "bridging to low-prevalence areas (Morris 1997) [weak]"),
}
#: model error (sd of log incidence) where too few sites report recency, and its floor
TAU_PRIOR: Final = 0.5
TAU_FLOOR: Final = 0.2
MIN_RECENCY_SITES: Final = 8
RIDGE_ITERATIONS: Final = 8


@dataclass(slots=True)
class IncidenceEstimate:
    """Per site (order of ``SiteData.sites``)."""

    per_1000: np.ndarray  # expected new infections per 1,000 residents per year (point)
    draws_per_1000: np.ndarray  # draws x sites
    model_per_1000: np.ndarray  # the model alone (before the site's own recency data)
    recency_per_1000: np.ndarray  # the recency estimate (NaN where not reported)
    calibrated: np.ndarray  # bool: the site's own recency data entered its estimate
    imputed: dict[str, np.ndarray]  # term -> bool per site
    fully_imputed: np.ndarray  # bool: no input of the site's own
    contributions: dict[str, np.ndarray]  # term -> coefficient x (value - median site value)
    coefficients: dict[str, float]
    tau: float
    recency_sites: int


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.asarray(num / den, dtype=float)
    return np.where(np.isfinite(out) & (den > 0), out, np.nan)


def raw_terms(data: SiteData) -> dict[str, np.ndarray]:
    """The model's inputs per site, transformed as they enter (NaN where missing)."""
    inp = data.inputs
    assert inp is not None
    measures = {m.spec.name: m for m in data.measures}
    n = len(data.sites)

    def measure(name: str) -> np.ndarray:
        m = measures.get(name)
        return m.value() if m is not None else np.full(n, np.nan)

    art = np.minimum(_ratio(inp.art_current, inp.plhiv), 1.0)
    supp = np.minimum(_ratio(inp.vl_suppressed, inp.vl_tested), 1.0)
    positivity = _ratio(inp.positive, inp.tests)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "positivity": np.log(np.clip(positivity, 1e-4, 1.0)),
            "unsuppressed": np.log(np.clip(1.0 - art * supp, 0.01, 1.0)),
            "mobile_share": measure("mobile_share"),
            "mobility": np.log1p(measure("travellers_per_head")),
            "sex_work": _ratio(inp.sex_workers, inp.pop_estimated),
            "bridging": measure("bridging_flow"),
        }


def _caught(rate: np.ndarray) -> np.ndarray:
    """The chance that an infection is diagnosed while still recent (within the MDRI), at an
    annual testing rate (NaN: ``DEFAULT_TESTING_RATE``)."""
    rate = np.nan_to_num(rate, nan=DEFAULT_TESTING_RATE)
    return np.asarray(1.0 - np.exp(-np.clip(rate, 0.02, 5.0) * MDRI_YEARS))


def adult_share(group: str) -> float:
    """Share aged 15 and over of a population group's estimated size, where the site does not
    report it by age band: 1 for the groups named by an adult occupation (``ADULT_GROUPS``),
    else ``ADULT_SHARE``."""
    return 1.0 if group in ADULT_GROUPS else ADULT_SHARE


def _reported(share: np.ndarray, shape: tuple[int, ...], assumed: np.ndarray) -> np.ndarray:
    """The adult share from the age bands where reported (``share`` finite), else ``assumed``."""
    if share.shape != shape:
        return np.broadcast_to(assumed, shape)
    return np.where(np.isfinite(share), share, assumed)


def _not_known_positive(adults: np.ndarray, diagnosed: np.ndarray) -> np.ndarray:
    """Adults minus people who know they live with HIV (where reported and that leaves anyone)."""
    if diagnosed.shape != adults.shape:
        return adults
    rest = adults - np.nan_to_num(diagnosed)
    return np.where(rest > 0, rest, adults)


def caught_recent(inp: IncidenceInputs) -> tuple[np.ndarray, np.ndarray]:
    """Per site, the chance that a new infection is diagnosed while still recent (within the
    MDRI), and whether group-specific testing rates made it.

    A testing rate is HIV tests per year per adult not known to be living with HIV (adults of
    ``pop_estimated`` minus ``plhiv_diagnosed``): people who know their status are not retested
    for diagnosis. Adults are the estimate's bands of the ages offered testing where the site
    (or the group at the site) reports it by age band (``IncidenceInputs.adult_share``), else
    the assumed share (``adult_share``: all of an occupational group, ``ADULT_SHARE`` of the
    others and of a site's total). Where the site reports tests, positives and population
    estimates by group, each group ``g`` has its own rate and chance ``c_g``, and the site's
    chance is their mean weighted by the group's positive results: new diagnoses stand for where
    new infections fall (in a steady state a group's new diagnoses equal its new infections),
    and a group that tests more often catches more of its new infections while they are recent.
    Positives in groups without a rate, and sites without groups, take the chance at the site's
    average rate.
    """
    n = inp.tests.size
    site_share = _reported(inp.adult_share, (n,), np.full(n, ADULT_SHARE))
    adults = _not_known_positive(site_share * inp.pop_estimated, inp.diagnosed)
    average = _caught(_ratio(inp.tests / inp.years, adults))
    names = inp.group_names
    shapes = {a.shape for a in (inp.group_tests, inp.group_positive, inp.group_pop)}
    if not names or shapes != {(n, len(names))}:
        return average, np.zeros(n, dtype=bool)
    assumed = np.array([adult_share(g) for g in names])[None, :]
    share = _reported(inp.group_adult_share, (n, len(names)), assumed)
    g_adults = share * inp.group_pop
    g_adults = _not_known_positive(g_adults, inp.group_diagnosed)
    g_rate = _ratio(inp.group_tests / inp.years, g_adults)
    pos = inp.group_positive
    weight = np.where(np.isfinite(g_rate) & np.isfinite(pos) & (pos > 0), pos, 0.0)
    inside = weight.sum(axis=1)
    total = np.fmax(np.nan_to_num(inp.positive), np.nansum(pos, axis=1))
    rest = np.maximum(total - inside, 0.0)
    used = inside > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mixed = (np.sum(weight * _caught(g_rate), axis=1) + rest * average) / (inside + rest)
    return np.where(used, mixed, average), used


def recency_estimate(data: SiteData) -> tuple[np.ndarray, np.ndarray]:
    """New infections per 1,000 residents per year from recency testing, and the sampling
    variance of its log (NaN where the site does not report recency testing): that of the
    recent share (binomial) plus that of the window's new diagnoses (Poisson)."""
    inp = data.inputs
    assert inp is not None
    rec = np.nan_to_num(inp.recent)
    tested = np.nan_to_num(inp.recency_tested)
    share = np.clip(((rec + 0.5) / (tested + 1.0) - FRR) / (1.0 - FRR), 1e-4, 1.0)
    caught, _ = caught_recent(inp)
    est = _ratio(share * inp.positive / inp.years / caught * 1000.0, inp.population)
    ok = (tested > 0) & np.isfinite(est) & (est > 0)
    var = np.maximum(1.0 / (rec + 0.5) - 1.0 / (tested + 1.0), 0.02)
    var = var + 1.0 / (np.nan_to_num(inp.positive) + 0.5)
    return np.where(ok, est, np.nan), np.where(ok, var, np.nan)


def _fit(x: np.ndarray, y: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Ridge toward the priors with weights 1/(var + tau^2); tau^2 by moments. Returns the
    coefficients, their covariance and tau."""
    names = ("intercept", *TERMS)
    m0 = np.array([PRIORS[k].mean for k in names])
    p = np.diag([1.0 / PRIORS[k].sd ** 2 for k in names])
    tau2 = TAU_PRIOR**2
    b = m0
    a = p
    for _ in range(RIDGE_ITERATIONS):
        w = 1.0 / (var + tau2)
        a = x.T @ (w[:, None] * x) + p
        b = np.linalg.solve(a, x.T @ (w * y) + p @ m0)
        e = y - x @ b
        tau2 = max(TAU_FLOOR**2, float(np.sum(w * (e**2 - var)) / np.sum(w)))
    return b, np.linalg.inv(a), float(np.sqrt(tau2))


def estimate_incidence(
    data: SiteData, *, draws: int, rng: np.random.Generator
) -> IncidenceEstimate:
    """The model, its calibration with recency testing, and ``draws`` draws per site (BLAS
    limited to one thread: the matrices are tiny, and results stay identical across machines)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _estimate(data, draws=draws, rng=rng)


def _estimate(data: SiteData, *, draws: int, rng: np.random.Generator) -> IncidenceEstimate:
    inp = data.inputs
    assert inp is not None
    n = len(data.sites)
    types = data.sites["place_type"].to_numpy()
    raw = raw_terms(data)
    imputed = {k: ~np.isfinite(v) for k, v in raw.items()}
    pools = {k: imputation_pools(~imputed[k], types) for k in TERMS}
    point = {}
    for k in TERMS:
        if imputed[k].all():  # nobody has it: the term drops out (value 0 everywhere)
            point[k] = np.zeros(n)
        else:
            point[k] = impute_point(raw[k], pools[k])
    x = np.column_stack([np.ones(n), *(point[k] for k in TERMS)])
    rec, var = recency_estimate(data)
    ok = np.isfinite(rec)
    names = ("intercept", *TERMS)
    if ok.sum() >= MIN_RECENCY_SITES:
        b, cov, tau = _fit(x[ok], np.log(rec[ok]), var[ok])
    else:
        b = np.array([PRIORS[k].mean for k in names])
        cov = np.diag([PRIORS[k].sd ** 2 for k in names])
        tau = TAU_PRIOR
        ok = np.zeros(n, dtype=bool)
    mu = x @ b
    post_var = np.full(n, tau**2)
    post_mean = mu.copy()
    post_var[ok] = 1.0 / (1.0 / tau**2 + 1.0 / var[ok])
    post_mean[ok] = post_var[ok] * (mu[ok] / tau**2 + np.log(rec[ok]) / var[ok])

    draws_log = np.empty((draws, n))
    if draws:
        b_d = rng.multivariate_normal(b, cov, size=draws)  # draws x (1 + terms)
        cols = [np.ones((draws, n))]
        for k in TERMS:
            xd = np.broadcast_to(point[k], (draws, n)).copy()
            if k == "positivity":
                xd = _resample_positivity(inp.positive, inp.tests, draws, rng, xd)
            if imputed[k].any() and not imputed[k].all():
                xd = impute_draws(xd, raw[k], pools[k], rng)
            cols.append(xd)
        x_d = np.stack(cols, axis=-1)  # draws x sites x (1 + terms)
        shift = np.einsum("dsk,dk->ds", x_d, b_d) - mu[None, :]
        draws_log = post_mean[None, :] + shift + rng.normal(size=(draws, n)) * np.sqrt(post_var)
    med = {k: float(np.median(point[k])) for k in TERMS}
    contributions = {k: b[1 + i] * (point[k] - med[k]) for i, k in enumerate(TERMS)}
    any_own = np.zeros(n, dtype=bool)
    for k in TERMS:
        any_own |= ~imputed[k]
    return IncidenceEstimate(
        per_1000=np.exp(post_mean),
        draws_per_1000=np.exp(draws_log),
        model_per_1000=np.exp(mu),
        recency_per_1000=rec,
        calibrated=ok,
        imputed=imputed,
        fully_imputed=~any_own & ~ok,
        contributions=contributions,
        coefficients={k: float(v) for k, v in zip(names, b, strict=True)},
        tau=tau,
        recency_sites=int(ok.sum()),
    )


def _resample_positivity(
    positive: np.ndarray,
    tests: np.ndarray,
    draws: int,
    rng: np.random.Generator,
    current: np.ndarray,
) -> np.ndarray:
    """log positivity redrawn as Binomial(tests, observed share) / tests (kept where missing)."""
    ok = np.isfinite(positive) & np.isfinite(tests) & (tests > 0)
    trials = np.where(ok, np.maximum(np.rint(tests), 1), 1).astype(np.int64)
    p = np.where(ok, np.clip(positive / np.where(ok, tests, 1.0), 0.0, 1.0), 0.0)
    k = rng.binomial(trials, p, size=(draws, positive.size))
    redrawn = np.log(np.clip(k / trials, 1e-4, 1.0))
    return np.where(ok[None, :], redrawn, current)
