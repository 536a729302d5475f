"""The session's phases run in plain Python, one dyad at a time: for reading and debugging.

:func:`run_steps` walks a composition's session (:data:`sim.core.equations.SESSION` and any
extensions' steps) on a dict of one dyad's values, calling each phase's plain-Python function
(``phase.py_func``, with the jitted helpers it calls swapped for their own ``py_func``), so a
researcher can step through the model with ``pdb`` or print any intermediate value. It is also
the independent check of the generated drivers: with the counter-based generator's draws it
gives their numbers (``tests/test_interpret.py``), and with Python's ``random`` it is the
benchmarks' per-agent Mesa peer (``benchmarks/mesa_peer.py``).
"""

from __future__ import annotations

import functools
import math
import operator
import types
from collections.abc import Callable
from typing import Any

import numpy as np
from numba.core.dispatcher import Dispatcher

from sim.core.composition import CORE, Composition
from sim.core.fields import ACTIVE
from sim.core.phase import Draw, Event, Phase
from sim.core.rng import counter, normal_np, uniform_np


def sigmoid(x: float) -> float:
    """Return the logistic function of ``x``."""
    return 1.0 / (1.0 + math.exp(-x))


def plain(function: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``function`` with the jitted helpers it calls replaced by their Python functions.

    A phase calls small helpers (``clip01``, ``symptom_score``, ...) that are Numba dispatchers
    so that the drivers inline them; called from Python each would go through Numba's dispatch.
    The same code object runs against globals in which every dispatcher is its ``py_func``.
    """
    namespace = dict(function.__globals__)
    for name in function.__code__.co_names:
        helper = namespace.get(name)
        if isinstance(helper, Dispatcher):
            namespace[name] = plain(helper.py_func)
    return types.FunctionType(
        function.__code__, namespace, function.__name__, function.__defaults__, function.__closure__
    )


@functools.cache
def _plan(steps: tuple[Phase | Event, ...], draws: tuple[Draw, ...]) -> tuple[tuple[Any, ...], ...]:
    """Return each step ready to run: an event, or (function, arguments, draws, writes)."""
    by_argument = {d.argument: d for d in draws}
    by_name = {d.name: d for d in draws}
    plan: list[tuple[Any, ...]] = []
    for step in steps:
        if isinstance(step, Event):
            plan.append((None, step, by_name[step.draw], (), None))
            continue
        getter = operator.itemgetter(*step.reads)
        arguments = getter if len(step.reads) > 1 else (lambda values, get=getter: (get(values),))
        plan.append(
            (
                plain(step.py_func),
                arguments,
                tuple(by_argument[n] for n in step.reads if n in by_argument),
                step.writes[0] if len(step.writes) == 1 else step.writes,
                step,
            )
        )
    return tuple(plan)


def run_steps(
    steps: tuple[Phase | Event, ...],
    values: dict[str, Any],
    draw: Callable[[Draw], float],
    composition: Composition = CORE,
) -> None:
    """Run ``steps`` (phases and chance events, in order) on one dyad's ``values``.

    Parameters
    ----------
    steps : tuple of Phase or Event
        Typically :func:`session_steps` or :func:`ended_steps` of a composition.
    values : dict
        Everything a phase may read, by name: the parameters, overlaid by the clinician's
        traits, overlaid by the dyad's fields and this session's values, and ``session`` (a
        field or trait shadows the parameter of the same name: ``pressure`` is the clinician's,
        not the population median). Updated in place with what each step writes.
    draw : callable
        Return a value of a :class:`~sim.core.phase.Draw` (a uniform on [0, 1) or a standard
        normal, by ``draw.kind``).
    composition : Composition
        The model the steps belong to (its draws).
    """
    for function, arguments, draws, writes, step in _plan(tuple(steps), composition.draws):
        if function is None:  # a chance event: 1 with probability sigmoid(logit), or chance
            event = arguments
            happens = event.only_if is None or values[event.only_if]
            chance = (
                sigmoid(values[event.logit]) if event.logit is not None else values[event.chance]
            )
            values[event.name] = int(bool(happens) and draw(draws) < chance)
            continue
        if step.only_if and not values[step.only_if]:  # the step does not run
            values.update(step.otherwise)  # (outputs that are arguments keep their values)
            continue
        for d in draws:
            values[d.argument] = draw(d)
        result = function(*arguments(values))
        if type(writes) is str:
            values[writes] = result
        else:
            values.update(zip(writes, result, strict=True))


def session_steps(composition: Composition = CORE) -> tuple[Phase | Event, ...]:
    """Return the steps every active dyad runs every session."""
    return tuple(s for s in composition.session if isinstance(s, Event) or s.when == "session")


def ended_steps(composition: Composition = CORE) -> tuple[Phase, ...]:
    """Return the phases run once for a dyad whose course has just ended."""
    return tuple(s for s in composition.session if isinstance(s, Phase) and s.when == "ended")


def keyed_draw(key: int, session: int) -> Callable[[Draw], float]:
    """Return the draws of dyad ``key`` in ``session`` from the counter-based generator.

    The numbers the compiled drivers draw (to a few ulp on the ziggurat's rare paths, where
    NumPy's ``exp``/``log1p`` may differ in the last bit from the C library's).
    """
    keys = np.array([key], dtype=np.uint64)

    def draw(d: Draw) -> float:
        at = counter(session, d.slot)
        return float((uniform_np if d.kind == "uniform" else normal_np)(keys, at)[0])

    return draw


def advance(
    values: dict[str, Any],
    session: int,
    draw: Callable[[Draw], float],
    composition: Composition = CORE,
) -> None:
    """Run one session (and, if the course ends, its closing steps) on one dyad's values."""
    values["session"] = session
    run_steps(session_steps(composition), values, draw, composition)
    if values["status"] != ACTIVE:
        run_steps(ended_steps(composition), values, draw, composition)
