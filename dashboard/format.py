"""Shared wording and formatting of the page: the glossary, labels, the page's CSS, the scenario
letter, the reading sentence, the error guard, and the number formats (from ``figures``)."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

import figures as fg
from model.errors import InputError

GLOSSARY = {
    "Ny sjanse": "“New chance”: IMDi's 2005–2007 trial of a paid, full-time, two-year qualification programme "
    "for immigrants who had lived on social assistance for years.",
    "IMDi": "The Directorate of Integration and Diversity, which ran Ny sjanse and wrote report 4-2007.",
    "kvalifiseringsstønad": "The qualification stipend: 2 G a year (2/3 for participants under 25), paid "
    "instead of social assistance while in the programme.",
    "sosialhjelp": "Financial social assistance: the municipality's means-tested, last-resort income support.",
    "kartlegging": "Mapping: the assessment of a referred person (background, skills, goals) before admission.",
    "G (grunnbeløp)": "The National Insurance basic amount, adjusted every 1 May (NOK 62 892 from 1 May 2006). "
    "Stipends are set as multiples of G.",
    "kontaktperson": "The participant's one fixed contact person, a programme adviser (programrådgiver). "
    "Close follow-up (tett oppfølging) meant about ten participants per adviser.",
    "NAV": "The Norwegian Labour and Welfare Administration, which buys labour-market courses and pays "
    "wage subsidies.",
    "introduksjonsprogram": "The introduction programme for newly arrived refugees (Introduction Act 2003). "
    "Ny sjanse copied its methods and its rules for deductions for invalid absence.",
    "samfunnsøkonomisk analyse": "Social cost-benefit analysis, following the Ministry of Finance circular "
    "R-109: every krone counted once for Norway as a whole, discounted, with a cost of tax financing.",
    "individuell plan": "The written individual plan of each participant.",
    "Jobbsjansen": "IMDi's successor grant scheme (target: 60 % into work or education).",
    "aktivitetsplikt": "Activity duty: social assistance conditional on taking part in activity.",
}
G = GLOSSARY

LEVEL_LABELS = {
    "g_multiple": "fixed, in G",
    "social_assistance": "social-assistance level",
}
ABSENCE_LABELS = {
    "none": "none",
    "introduction_act": "introduction act",
    "strict": "strict",
}
SOURCE_HELP = {
    "calibrated": "fitted to the reported 2005–2006 flows (IMDi 4-2007)",
    "literature": "taken from a published source",
    "assumption": "a graded assumption: the data cannot tell; its range feeds the uncertainty",
}

CSS = """
<style>
.block-container {padding-top: 2.2rem; padding-bottom: 3rem;}
div[data-testid="stMetric"] {background: #f6f8fb; border: 1px solid #e4e7eb; border-radius: 10px;
  padding: .6rem .9rem;}
div[data-testid="stMetricValue"] {font-size: 1.65rem;}
p.reading {color: #3e4c59; font-size: .95rem; margin: -.2rem 0 1.3rem 0; padding: .35rem .8rem;
  border-left: 4px solid #0072B2; background: #f6f8fb; border-radius: 0 6px 6px 0;}
[data-testid="stSidebar"] {min-width: 330px;}
p.reading b {color: #1f2933;}
span.tag {display: inline-block; min-width: 1.5em; text-align: center; border-radius: 6px; color: white;
  font-weight: 700; padding: 0 .35em; margin-right: .35em;}
.lede {font-size: 1.08rem; color: #3e4c59; max-width: 62rem;}
</style>
"""


# ================================================================================ small helpers
def tag(i: int) -> str:
    """The coloured scenario letter (A, B, …) as HTML."""
    return f"<span class='tag' style='background:{fg.color(i)}'>{fg.LETTERS[i]}</span>"


def reading(text: str) -> None:
    """One plain-language sentence under a chart."""
    st.markdown(f"<p class='reading'>{text}</p>", unsafe_allow_html=True)


@contextmanager
def guard(what: str) -> Iterator[dict]:
    """Run library calls; show bad input as the CLI's one-line message and anything else as a short
    error with the details in an expander. Never lets an exception blank the page."""
    state = {"ok": True}
    try:
        yield state
    except InputError as err:
        state["ok"] = False
        st.error(str(err), icon=":material/error:")
    except Exception as err:  # noqa: BLE001 — a page must survive any library failure
        state["ok"] = False
        st.error(
            f"{what} did not work: {type(err).__name__}: {err}. This may be an extreme setting the model "
            "cannot handle, or a bug; the details below help to report it.",
            icon=":material/report:",
        )
        with st.expander("Technical details (for a bug report)"):
            text = "".join(traceback.format_exception(err))
            st.code(
                text.replace(
                    "Traceback (most recent call last):", "Call stack (most recent call last):"
                )
            )

