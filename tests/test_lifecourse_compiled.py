"""The compiled life-course chains against the vectorised ones they replace, on random inputs.

:func:`model.lifecourse.run_life_courses` runs each person's chain in a compiled loop and hands the few
persons who need more spells than are pre-drawn to the vectorised step (:func:`model.lifecourse._step`).
The reference here is the vectorised step alone, from the first spell to the last, as the module ran
before: every person's records must be the same bit for bit, in the same order, and so must the number
of spell ends. Only the interleaving of different persons' records may differ. The inputs reach the
corners: zero rates (infinite waits, 0/0 shares), persons already gone, boost windows, programme jobs
with milestones, and pre-drawn spells too few for many persons (down to one column).
"""

from __future__ import annotations

import numpy as np
import pytest

from model import lifecourse as lc
from model.engine import LIFE_CODES
from model.rng import Streams

FIELDS = ("person", "day", "event", "detail", "state")


def _vectorised_reference(rates, spells, codes, person, entry, day, boost_until, via_programme, stop) -> lc.LifeCourses:
    """``run_life_courses`` as it was before the compiled loop: one vectorised step per spell, all persons."""
    rec = lc._Records()
    extra = lc._Extra(spells)
    live = entry != lc.GONE
    i, kind, t, b, via = person[live], entry[live], day[live].astype(float), boost_until[live].astype(float), via_programme[live]
    k = np.zeros(i.size, dtype=np.int64)
    spell_ends = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        while i.size:
            i, kind, t, b, via, k, ended = lc._step(rates, codes, spells, extra, rec, i, kind, t, b, via, k, stop)
            spell_ends += ended
    return lc.LifeCourses(*rec.arrays(), spell_ends)


def _inputs(seed: int, n: int, width: int, zero: bool, speed: float = 1.0):
    """Random rates, spells and entries; ``zero``: some rates zero (per person and scalar); ``speed``: rates
    multiplied and spells shortened by it (more spells per person)."""
    g = np.random.default_rng(seed)
    size = n + 7  # person ids index the rows; not every row is a person here
    job_rate = g.uniform(0.0, 0.01 * speed, size)
    if zero:
        job_rate[g.random(size) < 0.3] = 0.0
    edu_rate = 0.0 if zero else g.uniform(0.0, 0.002 * speed)
    other_rate = 0.0 if zero and seed % 2 else g.uniform(0.0, 0.002 * speed)
    boost = 0.0 if zero and seed % 3 == 0 else g.uniform(1.0, 3.0)
    base_rate = (job_rate + edu_rate) + other_rate
    rates = lc.LifeRates(
        job_rate=job_rate, edu_rate=edu_rate, other_rate=other_rate, boost=boost,
        loss_full=0.0 if zero else g.uniform(0.0005, 0.003) * speed, loss_part=g.uniform(0.0005, 0.005) * speed,
        p_full_time=g.uniform(0.3, 0.9), edu_days=g.uniform(100.0, 700.0) / speed, p_job_after_edu=g.uniform(0.2, 0.8),
        other_days=g.uniform(30.0, 300.0) / speed, milestone_days=(6 * 30.4375, 12 * 30.4375),
        base_rate=base_rate, boosted_rate=base_rate + job_rate * (boost - 1.0),
    )
    spells = lc.SpellDraws(g.standard_exponential((size, width)), g.random((size, width)), g.random((size, width)),
                           Streams(seed, 0))
    person = g.permutation(size)[:n].astype(np.int64)
    entry = g.integers(0, 5, n)  # GONE included
    day = g.uniform(0.0, 1500.0, n)
    boost_until = np.where(g.random(n) < 0.5, day + g.uniform(0.0, 400.0, n), -1.0)
    via_programme = g.random(n) < 0.5
    return rates, spells, person, entry, day, boost_until, via_programme


def _assert_same(got: lc.LifeCourses, want: lc.LifeCourses) -> None:
    assert got.spell_ends == want.spell_ends
    a, b = np.argsort(got.person, kind="stable"), np.argsort(want.person, kind="stable")
    for f in FIELDS:
        x, y = getattr(got, f)[a], getattr(want, f)[b]
        assert x.dtype == y.dtype, f
        np.testing.assert_array_equal(x.view(np.int64), y.view(np.int64), err_msg=f)  # bit for bit


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("width", [24, 4, 1])
@pytest.mark.parametrize("zero", [False, True])
def test_compiled_chains_are_the_vectorised_ones(seed: int, width: int, zero: bool) -> None:
    rates, spells, *args = _inputs(seed, 400, width, zero)
    codes = LIFE_CODES if seed % 2 else lc.Codes(*range(100, 120))
    for stop in (3000.0, 900.0):
        got = lc.run_life_courses(rates, spells, codes, *args, stop)
        _assert_same(got, _vectorised_reference(rates, spells, codes, *args, stop))
    assert got.person.size  # the inputs make records at all
    assert len(lc._chains.signatures) == 1  # one compilation for every call


def test_many_spells_and_all_kinds_of_records() -> None:
    """Short spells over a long horizon: many persons go beyond the pre-drawn spells."""
    rates, spells, *args = _inputs(11, 300, 24, False, speed=10.0)
    got = lc.run_life_courses(rates, spells, LIFE_CODES, *args, 5000.0)
    _assert_same(got, _vectorised_reference(rates, spells, LIFE_CODES, *args, 5000.0))
    c = LIFE_CODES
    # Spells each person took, at least: every job and education, and the assistance spell after each return.
    starts = np.isin(got.event, [c.job_started, c.education_started, c.job_lost, c.returned])
    starts |= (got.event == c.education_ended) & (got.detail == c.detail_assistance)
    assert np.bincount(got.person[starts]).max() > spells.e.shape[1]
    assert set(np.unique(got.event)) == {c.job_started, c.job_lost, c.milestone, c.education_started, c.education_ended,
                                         c.left_social_assistance, c.returned}


def test_nobody_left() -> None:
    rates, spells, *_ = _inputs(0, 10, 24, False)
    one = (np.array([3]), np.array([lc.GONE]), np.array([0.0]), np.array([-1.0]), np.array([False]))
    got = lc.run_life_courses(rates, spells, LIFE_CODES, *one, 2556.0)
    _assert_same(got, _vectorised_reference(rates, spells, LIFE_CODES, *one, 2556.0))
    assert got.person.size == 0 and got.spell_ends == 0
