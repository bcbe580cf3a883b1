"""The synthetic population of referred persons.

Who is referred, when, and with which attributes. Referral times come from each project's intake (a
Poisson stream for continuous intake, a batch before each group's start for group intakes); attributes are
drawn from the marginals reported for the Ny sjanse participants (IMDi 4-2007 §2.3-§3.4, table 2; the
``population.*`` entries of the registry give each figure and its source).

What is reported and what is assumed:

- Reported (by sex where the report splits by sex): sex, marital status, having children and how many,
  home-country schooling, home-country and Norwegian work experience, years in Norway, years on social
  assistance.
- Assumed: the age distribution (not reported; a share under 25 plus a normal over 25-55), the children's
  ages (uniform 0-17), the split of bands the report leaves open (stated in each parameter's basis), and the
  dependence structure: **attributes are independent given sex**. The report gives no cross-tabulations, so
  no correlation is invented; e.g. schooling and work experience are drawn independently for a given sex.
  The marginals describe the 513 participants; we use them for the 938 referred (the report gives only the
  women's share for the referred).
- Eligibility failures are drawn at the rates that reproduce the reported rejections for residence under
  two years and social assistance under six months; the assessment then checks them against the scenario's
  rules.

Common random numbers: each project has its own named streams, and the k-th person referred to a project
gets the k-th draw of every attribute stream, so two scenarios with the same seed and the same projects see
the same persons. Arrival times are cumulative Exp(1) gaps scaled by the rate, so a changed referral rate
moves the same persons in time rather than drawing new ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from model.parameters import ParameterSet
from model.rng import Streams
from model.scenario import Scenario

DAYS_PER_MONTH = 365.25 / 12
DAYS_PER_YEAR = 365.25

SCHOOLING = ("none", "1_3", "4_8", "over_8")
WORK_HOME = ("none", "up_to_2", "2_6", "over_6")
WORK_NORWAY = ("none", "up_to_2", "over_2")
_SEX_DTYPE = pd.CategoricalDtype(["female", "male"])
_SCHOOLING_DTYPE = pd.CategoricalDtype(list(SCHOOLING))
_WORK_HOME_DTYPE = pd.CategoricalDtype(list(WORK_HOME))
_WORK_NORWAY_DTYPE = pd.CategoricalDtype(list(WORK_NORWAY))


def days_since(origin: dt.date, day: dt.date) -> float:
    """Days from ``origin`` to ``day``."""
    return float((day - origin).days)


@dataclass(frozen=True)
class Population:
    """The referred persons of one replication, sorted by referral time.

    All arrays have one entry per person; ``person`` ids are 0..n-1 in referral order.
    """

    referral_day: np.ndarray  # float64, days since the scenario start
    project: np.ndarray  # int16 index into scenario.projects
    group: np.ndarray  # int16 index into that project's groups, -1 for continuous intake
    female: np.ndarray  # bool
    age_years: np.ndarray  # float64, at referral
    married: np.ndarray  # bool
    children_0_5: np.ndarray  # int8
    children_6_10: np.ndarray  # int8
    children_11_17: np.ndarray  # int8
    schooling: np.ndarray  # int8 index into SCHOOLING
    work_home: np.ndarray  # int8 index into WORK_HOME
    work_norway: np.ndarray  # int8 index into WORK_NORWAY
    years_in_norway: np.ndarray
    years_in_municipality: np.ndarray
    social_assistance_years: np.ndarray

    @property
    def size(self) -> int:
        """Number of referred persons."""
        return int(self.referral_day.size)

    def columns(self, scenario: Scenario) -> dict[str, np.ndarray | pd.Categorical]:
        """The persons' columns, in order: the ``persons`` table of docs/data_model.md without the
        replication and the outcomes."""
        origin = np.datetime64(scenario.simulation.start_date, "s")
        names = [p.name for p in scenario.projects]
        # Group name per (project, group index); index -1 (continuous intake) is the last column: "".
        width = max((len(p.groups) for p in scenario.projects), default=0) + 1
        table = np.full((len(names), width), "", dtype=object)
        for pi, p in enumerate(scenario.projects):
            for gi, g in enumerate(p.groups):
                table[pi, gi] = g.name
        group_names = table[self.project.astype(np.intp), self.group.astype(np.intp)] if self.size else np.empty(0, dtype=object)
        return {
            "person": np.arange(self.size, dtype=np.int32),
            "project": pd.Categorical.from_codes(self.project, categories=names),
            "group": pd.Categorical(group_names),
            "sex": pd.Categorical.from_codes((~self.female).astype(np.int8), dtype=_SEX_DTYPE),
            "age_at_referral_years": self.age_years,
            "married": self.married,
            "children_0_5": self.children_0_5,
            "children_6_10": self.children_6_10,
            "children_11_17": self.children_11_17,
            "schooling": pd.Categorical.from_codes(self.schooling, dtype=_SCHOOLING_DTYPE),
            "work_experience_home": pd.Categorical.from_codes(self.work_home, dtype=_WORK_HOME_DTYPE),
            "work_experience_norway": pd.Categorical.from_codes(self.work_norway, dtype=_WORK_NORWAY_DTYPE),
            "years_in_norway": self.years_in_norway,
            "years_in_municipality": self.years_in_municipality,
            "social_assistance_years": self.social_assistance_years,
            "referral_date": origin + np.round(self.referral_day * 86400).astype("timedelta64[s]"),
        }


def _arrivals(streams: Streams, name: str, rate_per_day: float, start: float, end: float) -> np.ndarray:
    """Poisson arrival times in [start, end) as cumulative Exp(1) gaps / rate (CRN-friendly)."""
    if rate_per_day <= 0 or end <= start:
        return np.empty(0)
    gen = streams.generator(name)
    expected = rate_per_day * (end - start)
    chunk = int(expected + 6 * np.sqrt(expected) + 16)
    gaps = gen.standard_exponential(chunk)
    times = start + np.cumsum(gaps) / rate_per_day
    while times[-1] < end:  # rare: draw more from the same stream
        extra = times[-1] + np.cumsum(gen.standard_exponential(chunk)) / rate_per_day
        times = np.concatenate([times, extra])
    return times[times < end]


def referral_times(
    scenario: Scenario, params: ParameterSet, streams: Streams
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Referral days and group index per project.

    Returns:
        One ``(days, group_index)`` pair per project, days ascending, in the scenario's project order.
    """
    origin = scenario.simulation.start_date
    end = days_since(origin, scenario.simulation.referral_end_date) + 1.0  # inclusive of the end date
    multiplier = params.v("referral.intensity_multiplier")
    window = params.v("referral.group_window_weeks") * 7.0
    grouped = [p for p in scenario.projects if p.intake != "continuous"]
    group_u = streams.uniforms([(f"referral.{p.name}.groups", sum(g.referrals for g in p.groups)) for p in grouped])
    group_u = dict(zip((p.name for p in grouped), group_u, strict=True))
    out = []
    for p in scenario.projects:
        start = days_since(origin, p.intake_start_date)
        if p.intake == "continuous":
            rate = p.referrals_per_month * multiplier / DAYS_PER_MONTH
            days = _arrivals(streams, f"referral.{p.name}", rate, start, end)
            out.append((days, np.full(days.size, -1, dtype=np.int16)))
            continue
        days_list, group_list = [], []
        u = group_u[p.name]
        offset = 0
        for gi, g in enumerate(p.groups):
            g_start = days_since(origin, g.start_date)
            # A group's referrals are found in the window before it starts, also before the project's
            # intake_start_date when the first group starts on it (the referrals prepare that group).
            lo = max(g_start - window, 0.0)
            # Referrals come at least a day before the group starts, so that their assessment can end
            # before the group's places open (hazards.assessment_times).
            t = np.sort(lo + u[offset : offset + g.referrals] * max(g_start - lo - 1.0, 0.0))
            offset += g.referrals
            t = t[t < end]
            days_list.append(t)
            group_list.append(np.full(t.size, gi, dtype=np.int16))
        days = np.concatenate(days_list) if days_list else np.empty(0)
        groups = np.concatenate(group_list) if group_list else np.empty(0, dtype=np.int16)
        order = np.argsort(days, kind="stable")
        out.append((days[order], groups[order]))
    return out


def _age_quantile(u: np.ndarray, params: ParameterSet, lo: float, hi: float) -> np.ndarray:
    """Ages from the mixture 'U(18, 25) with weight p_under_25, else N(mean, sd) on [25, 67]', truncated to [lo, hi]."""
    p25 = params.v("population.share_under_25")
    mean, sd = params.v("population.age_mean_years_25_plus"), params.v("population.age_sd_years_25_plus")
    grid = np.linspace(16.0, 67.0, 1021)
    young = np.clip((grid - 18.0) / 7.0, 0.0, 1.0)
    def norm_cdf(x):  # scipy.stats.norm(mean, sd).cdf(x): the same operations, without its per-call overhead
        return special.ndtr((x - mean) / sd)

    older = np.clip((norm_cdf(grid) - norm_cdf(25.0)) / (norm_cdf(67.0) - norm_cdf(25.0)), 0.0, 1.0)
    cdf = p25 * young + (1 - p25) * older
    f_lo, f_hi = np.interp([lo, hi], grid, cdf)
    # Invert on the strictly increasing part of the CDF.
    keep = np.concatenate([[True], np.diff(cdf) > 1e-12])
    return np.interp(f_lo + u * (f_hi - f_lo), cdf[keep], grid[keep])


def _poisson_quantile(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Poisson(``mean``) quantiles of ``u``, up to ``MAX_CHILDREN`` (higher counts are capped anyway).

    The smallest k with CDF(k) ≥ u, from a CDF table per distinct mean (two: women and men); the same
    numbers as ``scipy.stats.poisson.ppf`` (pinned by a test), without its per-value root finding.
    """
    out = np.zeros(u.size, dtype=int)
    ks = np.arange(MAX_CHILDREN + 1)
    for m in np.unique(mean):
        sel = mean == m
        out[sel] = np.searchsorted(stats.poisson.cdf(ks, m), u[sel], side="left")
    return out


def _bands(u: np.ndarray, shares: list[np.ndarray]) -> np.ndarray:
    """Index of the band that ``u`` falls in, given per-person band shares (summing to 1)."""
    cum = np.cumsum(np.stack(shares, axis=1), axis=1)
    return np.minimum((u[:, None] >= cum).sum(axis=1), len(shares) - 1).astype(np.int8)


_UNIFORMS = {  # named uniform streams per project and their shape (per person)
    "sex": (),
    "age": (),
    "married": (),
    "has_children": (),
    "n_children": (),
    "child_ages": (12,),
    "schooling": (),
    "work_home": (),
    "work_norway": (),
    "residence_band": (),
    "residence_years": (),
    "municipality_short": (),
    "municipality_years": (),
    "social_assistance_band": (),
    "social_assistance_years": (),
}
MAX_CHILDREN = 12


def _uniforms(sizes: list[int], streams: Streams, prefixes: list[str]) -> dict[str, np.ndarray]:
    """The U(0,1) draws behind every attribute of the persons of several projects, concatenated in order.

    Project ``i`` has ``sizes[i]`` persons and one stream per attribute, named ``{prefixes[i]}.{attribute}``.
    All streams are drawn in one :meth:`Streams.uniforms` call (the same numbers as one
    :meth:`Streams.uniform` each, without a Generator per stream).
    """
    requests = [
        (f"{prefix}.{name}", (n, *shape)) for n, prefix in zip(sizes, prefixes, strict=True) for name, shape in _UNIFORMS.items()
    ]
    draws = streams.uniforms(requests)  # project-major: attribute i of every project at i, i + k, i + 2k, ...
    k = len(_UNIFORMS)
    return {name: np.concatenate(draws[i::k]) for i, name in enumerate(_UNIFORMS)}


def _attributes(u: dict[str, np.ndarray], scenario: Scenario, params: ParameterSet) -> dict[str, np.ndarray]:
    """Attributes from the uniforms, by inverting the reported marginals (vectorised over all persons)."""
    v = params.v
    n = u["sex"].size
    sexes = scenario.eligibility.sexes
    if sexes == ("female",):
        female = np.ones(n, dtype=bool)
    elif sexes == ("male",):
        female = np.zeros(n, dtype=bool)
    else:
        female = u["sex"] < v("population.share_female")

    def by_sex(women: str, men: str) -> np.ndarray:
        return np.where(female, v(women), v(men))

    el = scenario.eligibility
    age = _age_quantile(u["age"], params, el.min_age_years, el.max_age_years)
    married = u["married"] < by_sex("population.share_married_women", "population.share_married_men")
    has_children = u["has_children"] < by_sex("population.share_with_children_women", "population.share_with_children_men")
    mean_children = by_sex("population.children_per_parent_women", "population.children_per_parent_men")
    extra = _poisson_quantile(u["n_children"], mean_children - 1)
    n_children = np.minimum(np.where(has_children, 1 + extra, 0), MAX_CHILDREN)
    child_age = u["child_ages"] * 18.0
    present = np.arange(MAX_CHILDREN)[None, :] < n_children[:, None]
    c05 = ((child_age < 6) & present).sum(axis=1).astype(np.int8)
    c610 = ((child_age >= 6) & (child_age < 11) & present).sum(axis=1).astype(np.int8)
    c1117 = ((child_age >= 11) & present).sum(axis=1).astype(np.int8)

    none_w, one3_w, over8_w = (
        v("population.schooling_none_women"),
        v("population.schooling_1_3_women"),
        v("population.schooling_over_8_women"),
    )
    under4_m, over8_m = v("population.schooling_under_4_men"), v("population.schooling_over_8_men")
    share_none_of_under4 = none_w / (none_w + one3_w)
    s_none = np.where(female, none_w, under4_m * share_none_of_under4)
    s_13 = np.where(female, one3_w, under4_m * (1 - share_none_of_under4))
    s_over8 = np.where(female, over8_w, over8_m)
    schooling = _bands(u["schooling"], [s_none, s_13, 1 - s_none - s_13 - s_over8, s_over8])

    wh_none = by_sex("population.work_home_none_women", "population.work_home_none_men")
    wh_over2 = by_sex("population.work_home_over_2_women", "population.work_home_over_2_men")
    wh_over6 = by_sex("population.work_home_over_6_women", "population.work_home_over_6_men")
    work_home = _bands(u["work_home"], [wh_none, 1 - wh_none - wh_over2, wh_over2 - wh_over6, wh_over6])
    wn_none = by_sex("population.work_norway_none_women", "population.work_norway_none_men")
    wn_over2 = by_sex("population.work_norway_over_2_women", "population.work_norway_over_2_men")
    work_norway = _bands(u["work_norway"], [wn_none, 1 - wn_none - wn_over2, wn_over2])

    r5, r510, r20 = (
        v("population.residence_under_5_years"),
        v("population.residence_5_10_years"),
        v("population.residence_over_20_years"),
    )
    res_band = _bands(u["residence_band"], [np.full(n, x) for x in (r5, r510, 1 - r5 - r510 - r20, r20)])
    lo_edges, hi_edges = np.array([2.0, 5.0, 10.0, 20.0]), np.array([5.0, 10.0, 20.0, 30.0])
    years_norway = lo_edges[res_band] + u["residence_years"] * (hi_edges[res_band] - lo_edges[res_band])
    short_res = u["municipality_short"] < v("population.share_residence_in_municipality_under_2_years")
    u_mun = u["municipality_years"]
    years_municipality = np.where(short_res, u_mun * 2.0, 2.0 + u_mun * np.maximum(years_norway - 2.0, 0.01))

    sa510, sa1019 = v("population.social_assistance_5_10_years"), v("population.social_assistance_10_19_years")
    short_sa = v("population.share_social_assistance_under_6_months")
    sa_band = _bands(
        u["social_assistance_band"],
        [np.full(n, x) for x in (short_sa, 1 - short_sa - sa510 - sa1019, sa510, sa1019)],
    )
    lo_sa, hi_sa = np.array([0.0, 0.5, 5.0, 10.0]), np.array([0.5, 5.0, 10.0, 19.0])
    sa_years = lo_sa[sa_band] + u["social_assistance_years"] * (hi_sa[sa_band] - lo_sa[sa_band])

    return {
        "female": female,
        "age_years": age,
        "married": married,
        "children_0_5": c05,
        "children_6_10": c610,
        "children_11_17": c1117,
        "schooling": schooling,
        "work_home": work_home,
        "work_norway": work_norway,
        "years_in_norway": years_norway,
        "years_in_municipality": years_municipality,
        "social_assistance_years": sa_years,
    }


def draw_population(scenario: Scenario, params: ParameterSet, streams: Streams) -> Population:
    """Draw the referred persons of one replication.

    Args:
        scenario: the scenario (projects, intake, eligibility target group).
        params: the parameter set (``population.*`` and ``referral.*``).
        streams: the replication's named streams.

    Returns:
        The :class:`Population`, sorted by referral time.
    """
    names = []
    for p in scenario.projects:
        names.append(f"referral.{p.name}" if p.intake == "continuous" else f"referral.{p.name}.groups")
        names.extend(f"population.{p.name}.{attr}" for attr in _UNIFORMS)
    streams.prefetch(names)  # seed every stream of this function in one pass
    days_all, project_all, group_all = [], [], []
    for pi, (days, groups) in enumerate(referral_times(scenario, params, streams)):
        days_all.append(days)
        project_all.append(np.full(days.size, pi, dtype=np.int16))
        group_all.append(groups)
    u = _uniforms([d.size for d in days_all], streams, [f"population.{p.name}" for p in scenario.projects])
    merged = _attributes(u, scenario, params)
    merged["referral_day"] = np.concatenate(days_all)
    merged["project"] = np.concatenate(project_all)
    merged["group"] = np.concatenate(group_all).astype(np.int16)
    order = np.lexsort((merged["project"], merged["referral_day"]))
    return Population(**{k: merged[k][order] for k in Population.__dataclass_fields__})
