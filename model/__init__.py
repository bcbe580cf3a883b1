"""nysjanse: a discrete-event simulator and social cost-benefit analysis of the Ny sjanse programme.

The public API, in the order the data flows:

- :func:`load_scenario` — a scenario TOML → a frozen :class:`Scenario`
- :func:`scenario_parameters`, :func:`default_parameters` — the parameter registry (:class:`ParameterSet`)
- :func:`draw_population` — the synthetic referred persons of one replication
- :func:`simulate` — the SimPy engine: both arms → event logs
- :func:`tidy` — event logs → persons, person-months, events, flows, state shares, and the participants'
  person-months counted by the cells the economics prices
- :func:`run_scenario`, :func:`summarize` — replications and their summary
"""

from model.engine import simulate
from model.errors import InputError
from model.outcomes import tidy
from model.parameters import Parameter, ParameterSet, default_parameters, load_parameters
from model.population import draw_population
from model.rng import Streams
from model.runner import RunResult, run_replication, run_scenario, scenario_parameters, summarize
from model.scenario import Scenario, load_scenario

__all__ = [
    "InputError",
    "Parameter",
    "ParameterSet",
    "RunResult",
    "Scenario",
    "Streams",
    "default_parameters",
    "draw_population",
    "load_parameters",
    "load_scenario",
    "run_replication",
    "run_scenario",
    "scenario_parameters",
    "simulate",
    "summarize",
    "tidy",
]
