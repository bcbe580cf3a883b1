"""Per-person hazards and the times they imply, computed up front with NumPy.

Everything here is a pure function of the scenario, the parameters, the persons and their pre-drawn
random numbers. The engine then only schedules what these functions return. Competing risks use one
Exp(1) draw per person and phase (the event happens when the cumulative total hazard reaches it) and one
U(0,1) draw to pick the cause in proportion to the cause-specific hazards at that moment; piecewise-constant
hazards over months in the programme are inverted exactly.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from model.parameters import ParameterSet
from model.population import DAYS_PER_MONTH, DAYS_PER_YEAR, Population
from model.scenario import Scenario

# Causes ---------------------------------------------------------------------------------------------
ASSESSMENT_COMPETING = ("work_or_education", "self_supporting", "no_show", "moved")
DECISION_REJECTIONS = ("other_measures", "no_childcare", "disability_pension", "no_need", "other")
NOT_ADMITTED_REASONS = (
    "other_measures",
    "work_or_education",
    "self_supporting",
    "no_show",
    "moved",
    "no_childcare",
    "disability_pension",
    "residence_under_2_years",
    "social_assistance_under_6_months",
    "no_need",
    "other",
)
BROKE_OFF_REASONS = (
    "birth",
    "invalid_absence",
    "moved",
    "other_measures",
    "full_time_not_feasible",
    "other",
)
# Causes of leaving the programme early, in the order of the hazard columns.
PROGRAMME_EXITS = ("work_or_education", *BROKE_OFF_REASONS, "discharged_other")
BREAKOFF_CAUSES = ("invalid_absence", "moved", "other_measures", "full_time_not_feasible", "other")
BEHAVIOURAL_BREAKOFFS = ("invalid_absence", "full_time_not_feasible", "other")
MEN_BREAKOFF_HR = ("moved", "other_measures", "full_time_not_feasible", "other")

WORK_PROFILE_EDGES_MONTHS = (0.0, 6.0, 12.0, 24.0)
MIN_STIPEND_RELATIVE = 0.05  # floor of the stipend relative to 2 G in the behavioural response


def work_hazard_ratio(pop: Population, params: ParameterSet) -> np.ndarray:
    """Person-level hazard ratio of exit to work (schooling, work experience, sex)."""
    v = params.v
    hr = np.ones(pop.size)
    hr *= np.where(pop.schooling == 3, v("participation.work_hr_schooling_over_8"), 1.0)
    hr *= np.where(pop.work_home >= 2, v("participation.work_hr_home_work_over_2"), 1.0)
    hr *= np.where(pop.work_norway >= 1, v("participation.work_hr_norway_work"), 1.0)
    hr *= np.where(pop.female, 1.0, v("participation.work_hr_men"))
    hr *= np.where(pop.married, v("participation.work_hr_married"), 1.0)
    return hr


def mean_work_hazard_ratio(params: ParameterSet) -> float:
    """Expected work hazard ratio over the national referred population (attributes independent given sex).

    Used to read ``life.sa_to_job_per_year`` as the average exit rate of long-term recipients.
    """
    v = params.v
    total = 0.0
    for female, p_sex in ((True, v("population.share_female")), (False, 1 - v("population.share_female"))):
        s = "women" if female else "men"
        over8 = v(f"population.schooling_over_8_{s}")
        home2 = v(f"population.work_home_over_2_{s}")
        nor = 1 - v(f"population.work_norway_none_{s}")
        married = v(f"population.share_married_{s}")
        e = (1 - married + married * v("participation.work_hr_married")) * (1 - over8 + over8 * v("participation.work_hr_schooling_over_8")) * (
            1 - home2 + home2 * v("participation.work_hr_home_work_over_2")
        ) * (1 - nor + nor * v("participation.work_hr_norway_work"))
        total += p_sex * e * (1.0 if female else v("participation.work_hr_men"))
    return total


def stipend_relative(scenario: Scenario, params: ParameterSet, pop: Population) -> np.ndarray:
    """The stipend each person would get, relative to the reference 2 G a year (a ratio, not money)."""
    st = scenario.stipend
    if st.level == "social_assistance":
        base = params.v("stipend.social_assistance_level_relative_to_2g")
    else:
        base = st.g_multiple_per_year / 2.0
    return np.where(pop.age_years < 25.0, base * st.under_25_fraction, base)


def assessment_times(
    scenario: Scenario,
    params: ParameterSet,
    pop: Population,
    group_start_day: np.ndarray,
    u_duration: np.ndarray,
    e_competing: np.ndarray,
    u_reason: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Assessment durations and the competing events during assessment and waiting.

    Args:
        group_start_day: per person, the start day of their intake group (NaN for continuous intake);
            a group's assessments end by its start.

    Returns:
        ``(duration_days, competing_days, competing_reason)``: the assessment duration, the time from
        referral to a competing event (work, self-supporting, no-show, moved), and that event's index into
        ``ASSESSMENT_COMPETING``. The competing clock runs on through the waiting period.
    """
    v = params.v
    shape = v("assessment.duration_shape")
    duration = stats.gamma.ppf(u_duration, shape, scale=v("assessment.duration_mean_days") / shape)
    until_group = group_start_day - pop.referral_day
    # A group's assessments end before its places open on the start day: half a day before it (or half
    # the time left, for a referral less than a day before the start).
    cap = np.where(until_group > 1.0, until_group - 0.5, 0.5 * until_group)
    duration = np.where(np.isnan(until_group), duration, np.minimum(duration, cap))
    rates = np.array([v(f"assessment.hazard_{c}_per_year") for c in ASSESSMENT_COMPETING]) / DAYS_PER_YEAR
    total = rates.sum()
    if total <= 0:
        return duration, np.full(pop.size, np.inf), np.zeros(pop.size, dtype=np.int64)
    competing = e_competing / total
    reason = np.searchsorted(np.cumsum(rates) / total, u_reason, side="right").clip(0, len(rates) - 1)
    return duration, competing, reason


def decisions(scenario: Scenario, params: ParameterSet, pop: Population, u: np.ndarray) -> np.ndarray:
    """The outcome of each assessment: -1 = admit, else an index into ``NOT_ADMITTED_REASONS``.

    Eligibility is checked first against the scenario's rules; then the assessment may turn a person
    down (other measures, no childcare for a pre-school child, disability pension, no need, other).
    """
    v = params.v
    el = scenario.eligibility
    idx = {r: i for i, r in enumerate(NOT_ADMITTED_REASONS)}
    out = np.full(pop.size, -1, dtype=np.int16)
    p = np.stack(
        [
            np.full(pop.size, v("decision.p_other_measures")),
            np.where(pop.children_0_5 > 0, v("decision.p_no_childcare_if_child_0_5"), 0.0),
            np.full(pop.size, v("decision.p_disability_pension")),
            np.full(pop.size, v("decision.p_no_need")),
            np.full(pop.size, v("decision.p_other")),
        ],
        axis=1,
    )
    cum = np.cumsum(p, axis=1)
    k = (u[:, None] >= cum).sum(axis=1)
    rejected = k < p.shape[1]
    codes = np.array([idx[r] for r in DECISION_REJECTIONS], dtype=np.int16)
    out[rejected] = codes[k[rejected]]
    out[pop.social_assistance_years * 12.0 < el.min_social_assistance_months] = idx["social_assistance_under_6_months"]
    out[pop.years_in_municipality < el.min_years_in_municipality] = idx["residence_under_2_years"]
    return out


def group_pools(
    scenario: Scenario,
    pop: Population,
    u_pool: np.ndarray,
    assessment_days: np.ndarray,
    competing_days: np.ndarray,
    decision: np.ndarray,
    give_up_days: np.ndarray,
) -> None:
    """Group intakes: ``size`` is the number who start; ``referrals`` is a pre-screened pool (in place).

    The national assessment (its eligibility rules, rejections and competing events) describes referrals
    that nobody has screened; it turns most of them down. A group's referrals were found for that group's
    places, so the rule for a group with ``referrals`` R and ``size`` S is: exactly ``min(S, R)`` of its R
    referrals start, drawn at random (the smallest ``u_pool``); they are admitted, and neither a competing
    event nor giving up takes them away before the group starts. The other ``R - S`` leave at the end of
    their assessment for the reason the national assessment gave them (a rejection, or a competing event
    before the assessment ended), or ``other`` if it would have admitted them. In expectation (here:
    exactly) S of R start, so both numbers hold; with R = S everyone referred starts. Seats can still stay
    empty when R < S or when the project's places (advisers × caseload) are full on the group date;
    ``summary.json`` reports such groups under ``unfilled_groups``.
    """
    other = NOT_ADMITTED_REASONS.index("other")
    for pi, project in enumerate(scenario.projects):
        for gi, g in enumerate(project.groups):
            members = np.flatnonzero((pop.project == pi) & (pop.group == gi))
            if members.size == 0:
                continue
            order = members[np.argsort(u_pool[members], kind="stable")]
            start, rest = order[: min(g.size, members.size)], order[min(g.size, members.size) :]
            decision[start] = -1
            competing_days[start] = np.inf
            give_up_days[start] = np.inf
            admitted_anyway = rest[(decision[rest] < 0) & (competing_days[rest] >= assessment_days[rest])]
            decision[admitted_anyway] = other


def project_multipliers(params: ParameterSet, z: np.ndarray) -> np.ndarray:
    """The project random effect: per project, log-normal multipliers (work, break-off), mean one.

    ``z`` holds standard normals of shape (projects, 2), drawn per replication from the stream
    ``projects.random_effect``. With sd ``s`` on the log scale the multiplier is ``exp(s z - s²/2)``: mean
    one on the hazard scale (its median is ``exp(-s²/2)``). An sd of 0 gives exactly 1.
    """
    sd = np.array([params.v("projects.work_hazard_sd_log"), params.v("projects.breakoff_hazard_sd_log")])
    if z.size == 0:
        return np.ones((0, 2))
    return np.where(sd > 0, np.exp(sd * z - 0.5 * sd * sd), 1.0)


def programme_segments(scenario: Scenario) -> np.ndarray:
    """Segment edges in months in the programme: the work-hazard profile, the stage end and the length."""
    length = scenario.programme.length_months
    stage_end = sum(s.length_weeks for s in scenario.programme.stages) * 7.0 / DAYS_PER_MONTH
    edges = {0.0, length, *(e for e in WORK_PROFILE_EDGES_MONTHS if e < length)}
    if 0 < stage_end < length:
        edges.add(stage_end)
    return np.array(sorted(edges))


def programme_hazards(
    scenario: Scenario, params: ParameterSet, pop: Population, multipliers: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Cause-specific exit hazards per person and segment of months in the programme.

    ``multipliers`` (projects × 2, from :func:`project_multipliers`) scale each project's work-or-education
    hazard (column 0) and its break-off hazards (column 1: every exit but work, birth and discharge).

    Returns:
        ``(edges_months, hazards)``: segment edges (S+1) and hazards per year of shape (persons, S, causes)
        with causes in ``PROGRAMME_EXITS`` order.
    """
    v = params.v
    edges = programme_segments(scenario)
    starts = edges[:-1]
    stage_end = sum(s.length_weeks for s in scenario.programme.stages) * 7.0 / DAYS_PER_MONTH
    profile = np.select(
        [starts < 6.0, starts < 12.0, starts < 24.0],
        [v("participation.work_hr_months_0_6"), v("participation.work_hr_months_6_12"), 1.0],
        v("participation.work_hr_after_24_months"),
    )
    profile = profile * np.where(starts < stage_end, v("participation.work_hr_in_stage"), 1.0)

    ratio = scenario.follow_up.caseload_per_adviser / v("follow_up.reference_caseload_per_adviser")
    work_follow = ratio ** (-v("follow_up.work_elasticity"))
    breakoff_follow = ratio ** v("follow_up.breakoff_elasticity")
    # A stipend near zero would make the response infinite; below 5 % of 2 G it is held at 5 % (far outside
    # anything observed, so only the direction of the answer means anything there).
    stipend_factor = np.maximum(stipend_relative(scenario, params, pop), MIN_STIPEND_RELATIVE) ** (
        -v("stipend.breakoff_elasticity")
    )
    strict = scenario.stipend.absence_deduction == "strict"
    male = ~pop.female

    n, s = pop.size, starts.size
    h = np.zeros((n, s, len(PROGRAMME_EXITS)))
    col = {c: i for i, c in enumerate(PROGRAMME_EXITS)}
    h[:, :, col["work_or_education"]] = (
        v("participation.hazard_work_or_education_per_year")
        * work_hazard_ratio(pop, params)[:, None]
        * work_follow
        * profile[None, :]
    )
    h[:, :, col["birth"]] = np.where(pop.female & (pop.age_years < 45), v("participation.hazard_birth_per_year_women"), 0.0)[:, None]
    ia = v("participation.hazard_invalid_absence_per_year") * np.where(male, v("participation.invalid_absence_hr_men"), 1.0)
    if strict:
        ia = ia * v("stipend.strict_absence_invalid_absence_hr")
    h[:, :, col["invalid_absence"]] = ia[:, None]
    men_hr = np.where(male, v("participation.breakoff_hr_men"), 1.0)
    for cause in ("moved", "other_measures", "full_time_not_feasible", "other"):
        rate = v(f"participation.hazard_{cause}_per_year") * men_hr
        if cause in BEHAVIOURAL_BREAKOFFS and strict:
            rate = rate * v("stipend.strict_absence_breakoff_hr")
        h[:, :, col[cause]] = rate[:, None]
    for cause in BEHAVIOURAL_BREAKOFFS:
        h[:, :, col[cause]] *= (stipend_factor * breakoff_follow)[:, None]
    h[:, :, col["discharged_other"]] = v("participation.hazard_discharged_other_per_year")
    if multipliers is not None and multipliers.size and not np.all(multipliers == 1.0):
        m = multipliers[pop.project.astype(np.intp)]
        h[:, :, col["work_or_education"]] *= m[:, 0:1]
        for cause in BREAKOFF_CAUSES:
            h[:, :, col[cause]] *= m[:, 1:2]
    return edges, h


def first_passage(
    edges_months: np.ndarray, hazards: np.ndarray, e: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Invert piecewise-constant competing hazards.

    Args:
        edges_months: segment edges, shape (S+1,).
        hazards: per year, shape (n, S, causes).
        e: Exp(1) draws, shape (n,).
        u: U(0,1) draws, shape (n,), for the cause.

    Returns:
        ``(time_days, cause)``: days from the start to the event and the cause index; ``inf`` and -1 if
        the cumulative hazard never reaches ``e`` before the last edge.
    """
    width_years = np.diff(edges_months) / 12.0
    total = hazards.sum(axis=2)  # (n, S)
    cum = np.cumsum(total * width_years[None, :], axis=1)
    seg = (cum < e[:, None]).sum(axis=1)  # first segment where cum >= e
    n = e.size
    time = np.full(n, np.inf)
    cause = np.full(n, -1, dtype=np.int16)
    hit = seg < width_years.size
    if hit.any():
        rows = np.nonzero(hit)[0]
        s = seg[hit]
        before = np.where(s > 0, cum[rows, np.maximum(s - 1, 0)], 0.0)
        rate = total[rows, s]
        years = edges_months[s] / 12.0 + (e[hit] - before) / rate
        time[hit] = years * DAYS_PER_YEAR
        shares = np.cumsum(hazards[rows, s, :], axis=1) / rate[:, None]
        cause[hit] = np.minimum((u[hit][:, None] >= shares).sum(axis=1), hazards.shape[2] - 1)
    return time, cause
