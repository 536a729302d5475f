"""The building blocks of a session: phases (equations), events (chances) and draws.

A *phase* is a small scalar function of named inputs that returns named outputs: one step of
the session for one dyad. Its arguments are found by name among the dyad's fields, its
clinician's fields, values computed by earlier phases of the same session, the parameters, the
session number (``session``) and this session's random draws (``u_<draw>`` for a uniform on
[0, 1), ``z_<draw>`` for a standard normal). Its outputs (``writes``) are fields of the dyad or
new values for later phases. Phases are jitted with ``inline="always"``, so a driver that calls
one per lane (:mod:`sim.core.codegen`) compiles to the same loop as if the equations were written in
it; the plain-Python function stays available as ``phase.py_func`` (:mod:`sim.core.interpret`).

An *event* happens with probability ``sigmoid(logit)``, or with a probability ``chance`` a phase
computed: the driver compares it with a uniform draw (a logit mostly without the exponential,
see :mod:`sim.core.chance`) and the event's 0/1 value is an input of later phases. A *draw* names
one slot of a session's counter space (:mod:`sim.core.rng`).

Example
-------
>>> from sim.core.phase import phase
>>> @phase(writes=("trust",), after="alliance_growth")
... def trust_decay(trust, trust_decay_rate):
...     return trust * (1.0 - trust_decay_rate)
"""

from __future__ import annotations

import hashlib
import inspect
import marshal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numba

WHEN = ("session", "ended")


@dataclass(frozen=True, eq=False)
class Phase:
    """One step of a session: a scalar function of named inputs returning named outputs.

    Attributes
    ----------
    name : str
        The function's name; extensions place their phases relative to it.
    py_func : callable
        The plain-Python function.
    reads : tuple of str
        Its argument names, in order.
    writes : tuple of str
        Names of the values it returns, in the order it returns them.
    flags : tuple of str
        Those of ``writes`` that are true/false (stored as 0/1).
    when : str
        ``session``: every active dyad in every session; ``ended``: once, for each dyad in the
        session it ends (after its status is set), in a scalar loop.
    vector : bool
        False for a phase that calls a function LLVM cannot vectorise (``math.exp``): it gets a
        loop of its own so that its neighbours' loops still run several dyads at a time.
    after, before : str or None
        Where an extension's phase goes: after or before the phase or event of that name.
    only_if : str or None
        A flag computed earlier: where it is 0 the phase does not run, and each output keeps
        its value on the way in (an output that is also an argument) or takes its value in
        ``otherwise``.
    otherwise : tuple of (str, value)
        Those values, for outputs that are not arguments.
    """

    name: str
    py_func: Callable[..., Any]
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    flags: tuple[str, ...] = ()
    when: str = "session"
    vector: bool = True
    after: str | None = None
    before: str | None = None
    only_if: str | None = None
    otherwise: tuple[tuple[str, Any], ...] = ()
    kernel: Any = field(default=None, repr=False)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the plain-Python function."""
        return self.py_func(*args, **kwargs)

    @property
    def module(self) -> str:
        """The module that defines the function."""
        return self.py_func.__module__

    def source_hash(self) -> str:
        """Return a hash of the function's source (or, without source, of its bytecode)."""
        try:
            text = inspect.getsource(self.py_func).encode()
        except (OSError, TypeError):
            text = marshal.dumps(self.py_func.__code__)
        return hashlib.sha256(text).hexdigest()

    def fallback(self, name: str) -> str:
        """Return the expression an output takes where ``only_if`` is 0 (see the class)."""
        values = dict(self.otherwise)
        return repr(values[name]) if name in values else name


def phase(
    *,
    writes: Sequence[str],
    flags: Sequence[str] = (),
    when: str = "session",
    vector: bool = True,
    after: str | None = None,
    before: str | None = None,
    only_if: str | None = None,
    otherwise: dict[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], Phase]:
    """Declare a phase: decorate a scalar function returning the values named in ``writes``.

    Parameters
    ----------
    writes : sequence of str
        Names of the returned values, in order (one name: the function returns one value).
    flags : sequence of str
        Names among ``writes`` that are true/false values.
    when : {"session", "ended"}
        Every session, or once when a dyad's course ends.
    vector : bool
        Whether the phase is cheap, branch-light arithmetic (the default), or calls a function
        that stops vectorisation and gets a loop of its own.
    after, before : str, optional
        For an extension's phase: the phase or event it follows or precedes.
    only_if : str, optional
        A flag: the phase runs only where it is 1 (a session with a rupture, say). Drivers then
        skip its work (the single-session driver) or keep its outputs only there (the lanes).
    otherwise : dict, optional
        With ``only_if``: the value of each output that is not also an argument where the phase
        does not run (an output that is an argument keeps its value).

    Returns
    -------
    callable
        A decorator that turns the function into a :class:`Phase`.
    """
    writes = tuple(writes)
    if not writes:
        raise ValueError("a phase must write at least one value")
    if when not in WHEN:
        raise ValueError(f"phase 'when' must be one of {', '.join(WHEN)}, not '{when}'")
    unknown = set(flags) - set(writes)
    if unknown:
        raise ValueError(f"flags {sorted(unknown)} are not among the phase's writes")

    def decorate(function: Callable[..., Any]) -> Phase:
        signature = inspect.signature(function)
        for p in signature.parameters.values():
            if (
                p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                or p.default is not p.empty
            ):
                raise ValueError(
                    f"phase '{function.__name__}': argument '{p.name}' must be a "
                    "plain positional name (no defaults, *args or **kwargs)"
                )
        reads = tuple(signature.parameters)
        missing = [n for n in writes if only_if and n not in reads and n not in (otherwise or {})]
        if missing:
            raise ValueError(
                f"phase '{function.__name__}' runs only_if '{only_if}': give the "
                f"value of {missing} where it does not run (otherwise=...)"
            )
        kernel = numba.njit(inline="always", error_model="numpy")(function)
        return Phase(
            name=function.__name__,
            py_func=function,
            reads=reads,
            writes=writes,
            flags=tuple(flags),
            when=when,
            vector=vector,
            after=after,
            before=before,
            only_if=only_if,
            otherwise=tuple((otherwise or {}).items()),
            kernel=kernel,
        )

    return decorate


@dataclass(frozen=True)
class Event:
    """A chance event: ``name`` is 1 with probability ``sigmoid(logit)`` or ``chance``.

    Attributes
    ----------
    name : str
        The event's 0/1 value, an input of later phases.
    logit : str or None
        The log-odds, computed by an earlier phase of the same session.
    chance : str or None
        Instead of ``logit``: the probability itself, computed by an earlier phase.
    draw : str
        The uniform draw it is decided by (a :class:`Draw` of kind ``uniform``).
    only_if : str or None
        A flag computed earlier: where it is 0, the event is 0 without being decided.
    after, before : str or None
        For an extension's event: where it goes.
    """

    name: str
    logit: str | None = None
    draw: str = ""
    only_if: str | None = None
    chance: str | None = None
    after: str | None = None
    before: str | None = None

    def __post_init__(self) -> None:
        if (self.logit is None) == (self.chance is None):
            raise ValueError(f"event '{self.name}' needs exactly one of logit= or chance=")
        if not self.draw:
            raise ValueError(f"event '{self.name}' needs the uniform draw it is decided by")

    @property
    def probability(self) -> str:
        """The name of the value the event is decided by (its logit or its chance)."""
        return self.logit if self.logit is not None else self.chance

    @property
    def reads(self) -> tuple[str, ...]:
        """The names the event reads: its logit or chance, its draw, its ``only_if`` flag."""
        return (self.probability, "u_" + self.draw) + ((self.only_if,) if self.only_if else ())


@dataclass(frozen=True)
class Draw:
    """A random draw of every session: slot ``slot`` of the session's counter space.

    Attributes
    ----------
    name : str
        Phases read it as ``u_<name>`` (uniform) or ``z_<name>`` (normal).
    kind : str
        ``uniform`` (on [0, 1)) or ``normal`` (standard).
    slot : int
        Counter slot within the session, 0-31 (:data:`sim.core.rng.SLOTS_PER_SESSION`); the core
        uses 0-14, extensions take the free ones.
    """

    name: str
    kind: str
    slot: int

    def __post_init__(self) -> None:
        if self.kind not in ("uniform", "normal"):
            raise ValueError(f"draw '{self.name}': kind must be uniform or normal")

    @property
    def argument(self) -> str:
        """The name phases read this draw by."""
        return ("u_" if self.kind == "uniform" else "z_") + self.name
