"""The session drivers, generated from the model's phases: loops only, no equations.

:func:`source` writes a Python module for a :class:`~sim.core.composition.Composition`; :func:`load`
writes it to a cache directory under a name made of the composition's fingerprint and imports
it, so Numba caches its compiled code like any module's and a change to any equation, field or
extension gives a new module. The module holds:

``run_courses(dyads, clinicians, params)`` / ``run_courses_parallel``
    every active dyad to the end of its course (batch path, sweeps);
``run_session(dyads, clinicians, params, session)`` / ``run_session_parallel``
    one session for every active dyad (Mesa model, per-session panel).

The course drivers run blocks of up to :data:`~sim.core.lanes.PAGES` pages of
:data:`~sim.core.lanes.LANES` dyads of one parameter row, each page a lane buffer; a dyad that
ends leaves its lane and the block's last dyad moves in, so every page but the last stays full.
Each session is a few loops over each page's lanes. Consecutive phases share a loop (their values
stay in registers); a chance event decided by a logit ends a loop (the logistic's bounds decide
most lanes inside it, :func:`~sim.core.lanes.settle` the rest after it), and so does a phase
marked ``vector=False``. A value is stored into its lane row only when a later
loop, the end of a course or the dyad's record needs it; a dyad field is loaded once per block
and written back when the dyad ends. The session drivers run the same phases on each dyad's
record (``_advance``), each value read at first use, each field written back after the last
step that changes it, steps marked ``only_if`` skipped where their flag is 0. Every lane row,
the load and store lists and the row count come from the registries: nothing here is kept by
hand.

``python -m sim.core.composition`` prints the core model's driver module.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.core.phase import Draw, Event, Phase

if TYPE_CHECKING:  # composition imports this module lazily, for its kernels
    from sim.core.composition import Composition


@dataclass
class _Layout:
    """Lane rows and what each name of the session is."""

    composition: Composition
    rows: dict[str, int] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        c = self.composition
        self.dyad = {f.name: f for f in c.dyad_fields}
        self.clinician = {f.name for f in c.clinician_fields}
        self.draws = {d.argument: d for d in c.draws}
        for step in c.session:
            self.flags |= {step.name} if isinstance(step, Event) else set(step.flags)

    def row(self, name: str) -> int:
        """Return the lane row of ``name``, giving it one on first use."""
        if name not in self.rows:
            self.rows[name] = len(self.rows)
        return self.rows[name]

    def source_of(self, name: str) -> str:
        """``dyad``, ``clinician``, ``param``, ``draw``, ``session`` or ``value``."""
        if name == "session":
            return "session"
        if name in self.dyad:
            return "dyad"
        if name in self.clinician:
            return "clinician"
        if name in self.draws:
            return "draw"
        if name in self.composition.params:
            return "param"
        return "value"


def _const(name: str) -> str:
    return f"R_{name.upper()}"


def _loops(session: tuple[Phase | Event, ...]) -> list[list[Phase | Event]]:
    """Cut the session into loops.

    An event decided by a logit ends one (the draws its bounds leave open are settled after it);
    a scalar phase is one.
    """
    loops: list[list[Phase | Event]] = [[]]
    for step in session:
        if isinstance(step, Phase) and step.when == "ended":
            continue
        if isinstance(step, Phase) and not step.vector and loops[-1]:
            loops.append([])
        loops[-1].append(step)
        if (isinstance(step, Event) and step.logit) or (
            isinstance(step, Phase) and not step.vector
        ):
            loops.append([])
    return [loop for loop in loops if loop]


def draw_expression(draw: Draw) -> str:
    """Return the expression of one dyad's draw on a session's streams (``key``, ``streams``)."""
    fn = "normal_at" if draw.kind == "normal" else "uniform_at"
    return f"{fn}(key, streams[{draw.slot}])"


def _inputs(step: Phase | Event) -> tuple[str, ...]:
    """Return the names a step reads: its arguments, and its ``only_if`` flag."""
    if isinstance(step, Event) or not step.only_if:
        return step.reads
    return (*step.reads, step.only_if)


def _phase_name(step: Phase) -> str:
    return f"PHASE_{step.name}"


def source(composition: Composition) -> str:
    """Return the driver module's source for ``composition``."""
    layout = _Layout(composition)
    ended_steps = [s for s in composition.session if isinstance(s, Phase) and s.when == "ended"]
    session_steps = [
        s for s in composition.session if not (isinstance(s, Phase) and s.when == "ended")
    ]
    loops = _loops(composition.session)

    # Which names each loop reads before writing (needs from a row) and writes.
    def reads_writes(steps: list[Phase | Event]) -> tuple[list[str], list[str]]:
        bound: set[str] = set()
        reads: list[str] = []
        writes: list[str] = []
        for step in steps:
            for name in _inputs(step):
                if name not in bound and name not in reads:
                    reads.append(name)
            out = (step.name,) if isinstance(step, Event) else step.writes
            for name in out:
                bound.add(name)
                if name not in writes:
                    writes.append(name)
        return reads, writes

    loop_io = [reads_writes(loop) for loop in loops]
    ended_reads, ended_writes = reads_writes(ended_steps)

    # Dyad fields: loaded if a step reads them before any step writes them, written back when
    # the dyad's course ends if a step writes them.
    loaded: list[str] = []
    written_fields: list[str] = []
    for reads, writes in [*loop_io, (ended_reads, ended_writes)]:
        for name in reads:
            if (
                layout.source_of(name) == "dyad"
                and name not in loaded
                and name not in written_fields
            ):
                loaded.append(name)
        for name in writes:
            if layout.source_of(name) == "dyad" and name not in written_fields:
                written_fields.append(name)
    if not any("status" in writes for _, writes in loop_io):
        raise ValueError("no phase of the session sets 'status': a course could never end")
    touched = loaded + [n for n in written_fields if n not in loaded]
    clinician_read = [
        n
        for reads, _ in [*loop_io, (ended_reads, [])]
        for n in reads
        if layout.source_of(n) == "clinician"
    ]
    clinician_read = list(dict.fromkeys(clinician_read))
    for name in touched + clinician_read:  # the rows a dyad carries from session to session
        layout.row(name)
    field_rows = len(layout.rows)

    # Values (non-field outputs) that a later loop or the ended phases read need rows; so do
    # events (settled in their own loop) and their logits and draws.
    later_reads: list[set[str]] = []
    for k in range(len(loops)):
        later = set(ended_reads)
        for reads, _ in loop_io[k + 1 :]:
            later |= set(reads)
        later_reads.append(later)
    stored_by_loop: list[list[str]] = []
    for k, loop in enumerate(loops):
        _, writes = loop_io[k]
        keep = []
        settled = {
            part for s in loop if isinstance(s, Event) and s.logit for part in (s.name, s.logit)
        }  # read again by the settling loop
        for name in writes:
            if layout.source_of(name) == "dyad" or name in later_reads[k] or name in settled:
                keep.append(name)
                layout.row(name)
        stored_by_loop.append(keep)
    used_draws = [d for d in composition.draws if any(d.argument in reads for reads, _ in loop_io)]
    for d in used_draws:
        layout.row(d.argument)
    for step in ended_steps:  # rows the ended steps read (or write) from lanes
        for name in (*step.reads, *step.writes):
            if layout.source_of(name) not in ("param", "session", "draw"):
                layout.row(name)
    params_session = sorted(
        {n for reads, _ in loop_io for n in reads if layout.source_of(n) == "param"}
    )
    params_ended = sorted({n for n in ended_reads if layout.source_of(n) == "param"})

    out: list[str] = []
    emit = out.append
    emit('"""Session drivers generated by sim.core.codegen from the model\'s phases: do not edit.')
    emit("")
    emit(f"Fingerprint {composition.fingerprint}.")
    emit("Extensions: " + (", ".join(e.name for e in composition.extensions) or "none") + ".")
    emit("Names PHASE_<name> are the phases' jitted functions (sim.core.equations or an")
    emit("extension's module), put into this module's namespace by sim.core.codegen.load:")
    for step in composition.session:
        if isinstance(step, Phase):
            emit(f"    PHASE_{step.name}: {step.module}.{step.name}")
    emit('"""')
    emit("")
    emit("import numba")
    emit("import numpy as np")
    emit("")
    emit("from sim.core.chance import below, below_sigmoid, sigmoid_bounds")
    emit("from sim.core.fields import ACTIVE")
    emit("from sim.core.jit import jit, jit_parallel")
    emit(
        "from sim.core.lanes import LANES, PAGES, course_blocks, fill_draws, move, settle, "
        "stream_table"
    )
    emit("from sim.core.rng import normal_at, session_streams, uniform_at")
    emit("")
    emit("# Lane rows: row r of lane j is lanes[r * LANES + j].")
    for name, r in layout.rows.items():
        emit(f"{_const(name)} = {r}")
    emit(f"ROWS = {len(layout.rows)}")
    emit(f"FIELD_ROWS = {field_rows}  # rows 0 .. FIELD_ROWS-1 hold fields; the rest, values of")
    emit("# one session and its draws, are written before they are read in every session")
    normals = [d for d in used_draws if d.kind == "normal"]
    uniforms = [d for d in used_draws if d.kind == "uniform"]
    emit(
        "NORMAL_SLOTS = np.array([" + ", ".join(str(d.slot) for d in normals) + "], dtype=np.int64)"
    )
    emit(
        "NORMAL_ROWS = np.array(["
        + ", ".join(_const(d.argument) for d in normals)
        + "], dtype=np.int64)"
    )
    emit(
        "UNIFORM_SLOTS = np.array(["
        + ", ".join(str(d.slot) for d in uniforms)
        + "], dtype=np.int64)"
    )
    emit(
        "UNIFORM_ROWS = np.array(["
        + ", ".join(_const(d.argument) for d in uniforms)
        + "], dtype=np.int64)"
    )
    emit("")
    emit("")

    # Load and store.
    emit("@jit")
    emit("def _load(dyads, clinicians, i, j, lanes, keys, dyad):")
    emit('    """Copy dyad ``i`` (and its clinician\'s traits) into lane ``j``."""')
    emit("    d = dyads[i]")
    if clinician_read:
        emit("    c = clinicians[d.clinician]")
    emit("    keys[j] = d.key")
    emit("    dyad[j] = i")
    for name in loaded:
        emit(f"    lanes[{_const(name)} * LANES + j] = d.{name}")
    for name in clinician_read:
        emit(f"    lanes[{_const(name)} * LANES + j] = c.{name}")
    emit("")
    emit("")
    emit("@jit")
    emit("def _store(dyads, j, lanes, dyad):")
    emit('    """Write lane ``j``, a dyad whose course has ended, back into its record."""')
    emit("    d = dyads[dyad[j]]")
    for name in written_fields:
        value = f"lanes[{_const(name)} * LANES + j]"
        emit(f"    d.{name} = {'int(' + value + ')' if layout.dyad[name].integer else value}")
    emit("")
    emit("")

    def load_line(name: str, indent: str) -> str:
        value = f"lanes[{_const(name)} * LANES + j]"
        if name in layout.flags:
            value += " != 0.0"
        return f"{indent}{name} = {value}"

    def call_line(step: Phase, indent: str, prefix: str = "") -> str:
        targets = ", ".join(prefix + name for name in step.writes)
        return f"{indent}{targets} = {_phase_name(step)}({', '.join(step.reads)})"

    # One session over lanes 0 .. m-1.
    emit("@jit")
    emit("def _session(lanes, p, session, m):")
    emit('    """Advance lanes ``0 .. m-1`` through one session (every per-session step)."""')
    emit("    # Parameters read once: a read inside a loop would be repeated after every store.")
    for name in params_session:
        emit(f"    {name} = p.{name}")
    for k, loop in enumerate(loops):
        emit("")
        emit("    # " + ", ".join(s.name for s in loop))
        events = [s for s in loop if isinstance(s, Event) and s.logit]
        for event in events:
            emit(f"    open_{event.name} = 0")
        emit("    for j in range(m):")
        bound: set[str] = set()
        for step in loop:
            for name in _inputs(step):
                kind = layout.source_of(name)
                if name in bound or kind in ("param", "session"):
                    continue
                emit(load_line(name, "        "))
                bound.add(name)
            if isinstance(step, Event) and step.chance:  # decided here, no exponential
                test = f"u_{step.draw} < {step.chance}"
                emit(
                    f"        {step.name} = "
                    + (f"{step.only_if} & ({test})" if step.only_if else test)
                )
                bound.add(step.name)
            elif isinstance(step, Event):
                emit(f"        {step.name} = sigmoid_bounds(u_{step.draw}, {step.logit})")
                if step.only_if:
                    emit(f"        {step.name} = {step.name} if {step.only_if} else 0")
                emit(f"        open_{step.name} += {step.name} == 2")
                bound.add(step.name)
            elif step.only_if:  # computed everywhere, kept only where the flag holds
                emit(call_line(step, "        ", prefix="new_"))
                for name in step.writes:
                    emit(
                        f"        {name} = new_{name} if {step.only_if} else {step.fallback(name)}"
                    )
                bound |= set(step.writes)
            else:
                emit(call_line(step, "        "))
                bound |= set(step.writes)
        for name in stored_by_loop[k]:
            emit(f"        lanes[{_const(name)} * LANES + j] = {name}")
        for event in events:
            emit(f"    if open_{event.name}:")
            emit(
                f"        settle(lanes, {_const(event.name)}, {_const('u_' + event.draw)}, "
                f"{_const(event.logit)}, m)"
            )
    emit("")
    emit("")

    # Steps when a course ends (one dyad, scalar).
    emit("@jit")
    emit("def _ended(lanes, p, key, streams, j):")
    emit('    """Run the steps of a course\'s end for lane ``j`` (its status is set)."""')
    if not ended_steps:
        emit("    return")
    for name in params_ended:
        emit(f"    {name} = p.{name}")
    bound = set()
    for step in ended_steps:
        for name in step.reads:
            kind = layout.source_of(name)
            if name in bound or kind in ("param", "session"):
                continue
            if kind == "draw":
                emit(f"    {name} = {draw_expression(layout.draws[name])}")
            else:
                layout.row(name)
                emit(load_line(name, "    "))
            bound.add(name)
        emit(call_line(step, "    "))
        bound |= set(step.writes)
        for name in step.writes:
            layout.row(name)
            emit(f"    lanes[{_const(name)} * LANES + j] = {name}")
    emit("")
    emit("")

    # One session for one dyad, on its record (the single-session drivers): each value read
    # at first use, each field written back once at the end.
    emit("@jit")
    emit("def _advance(d, c, p, session, streams):")
    emit('    """Advance dyad ``d`` (clinician ``c``, parameter row ``p``) by one session."""')
    emit("    key = d.key")
    bound = set()
    last_writer = {
        name: step for step in session_steps if isinstance(step, Phase) for name in step.writes
    }

    def scalar_read(name: str, indent: str = "    ") -> None:
        """Emit the first read of ``name``: a draw, or the record it lives in."""
        if name in bound or name == "session":
            return
        kind = layout.source_of(name)
        value = (
            draw_expression(layout.draws[name])
            if kind == "draw"
            else {"dyad": "d", "clinician": "c", "param": "p"}[kind] + f".{name}"
        )
        emit(f"{indent}{name} = {value}")
        bound.add(name)

    for step in session_steps:
        if isinstance(step, Event):
            scalar_read(step.probability)
            if step.only_if:
                scalar_read(step.only_if)
                emit(f"    {step.name} = False")
                emit(f"    if {step.only_if}:")
                indent = "        "
            else:
                indent = "    "
            draw = layout.draws["u_" + step.draw]
            decide = "below_sigmoid" if step.logit else "below"
            emit(
                f"{indent}{step.name} = {decide}(uniform_at(key, streams[{draw.slot}]), "
                f"{step.probability})"
            )
            bound.add(step.name)
            continue
        for name in _inputs(step):
            scalar_read(name)
        if step.only_if:  # the step's work is skipped where its flag is 0
            for name in step.writes:
                if name not in step.reads:
                    emit(f"    {name} = {step.fallback(name)}")
            emit(f"    if {step.only_if}:")
            emit(call_line(step, "        "))
        else:
            emit(call_line(step, "    "))
        bound |= set(step.writes)
        # A field is written back right after the last step that changes it, so that its
        # value need not stay in a register (or on the stack) to the end of the session.
        for name in step.writes:
            if layout.source_of(name) == "dyad" and last_writer[name] is step:
                emit(f"    d.{name} = {name}")
    if ended_steps:
        emit("    if status != ACTIVE:")
        ended_written: list[str] = []
        for step in ended_steps:
            for name in step.reads:
                scalar_read(name, "        ")
            emit(call_line(step, "        "))
            ended_written += [n for n in step.writes if layout.source_of(n) == "dyad"]
        for name in ended_written:
            emit(f"        d.{name} = {name}")
    emit("")
    emit("")
    emit("@jit")
    emit("def _buffers():")
    emit('    """Return fresh lane buffers: lanes, the normals\' bits, keys, dyad indices."""')
    emit("    return (np.zeros(PAGES * ROWS * LANES), np.zeros(LANES, dtype=np.uint64),")
    emit("            np.zeros(PAGES * LANES, dtype=np.uint64),")
    emit("            np.zeros(PAGES * LANES, dtype=np.int64))")
    emit("")
    emit("")
    emit("@jit")
    emit("def _block(dyads, clinicians, params, start, stop, table, buffers):")
    emit('    """Run the active dyads among ``dyads[start:stop]`` (one parameter row, at one')
    emit("    session) to the end of their courses; return the dyad-sessions run.")
    emit("")
    emit("    Dyad ``g`` of the block sits in lane ``g % LANES`` of page ``g // LANES`` (a page is")
    emit("    one lane buffer). Pages are full but the last: a dyad that ends leaves its lane and")
    emit("    the block's last dyad moves in, so a lane emptied by an early end is refilled.")
    emit("    ``buffers`` (:func:`_buffers`) may hold another block's stale values: lanes are")
    emit("    loaded before they are read, and lanes past the live ones are never stored.")
    emit('    """')
    emit("    lanes, bits, keys, dyad = buffers")
    emit("    size = ROWS * LANES")
    emit("    p = params[dyads[start].row]")
    emit("    m = 0")
    emit("    for i in range(start, stop):")
    emit("        if dyads[i].status == ACTIVE:")
    emit("            q = m // LANES")
    emit("            _load(dyads, clinicians, i, m - q * LANES, lanes[q * size : (q + 1) * size],")
    emit("                  keys[q * LANES : (q + 1) * LANES], dyad[q * LANES : (q + 1) * LANES])")
    emit("            m += 1")
    emit("    session = dyads[start].sessions")
    emit("    run = 0")
    emit("    while m > 0:")
    emit("        session += 1")
    emit("        streams = table[session]")
    emit("        for q in range((m + LANES - 1) // LANES):")
    emit("            page = lanes[q * size : (q + 1) * size]")
    emit("            # Lanes up to a multiple of 4: the few past the live ones hold stale copies,")
    emit("            # computed and never stored, and no loop needs a scalar remainder.")
    emit("            width = min(LANES, (m - q * LANES + 3) // 4 * 4)")
    emit("            fill_draws(keys[q * LANES : (q + 1) * LANES], streams, page, bits,")
    emit("                       NORMAL_SLOTS, NORMAL_ROWS, UNIFORM_SLOTS, UNIFORM_ROWS, width)")
    emit("            _session(page, p, session, width)")
    emit("        run += m")
    emit("        g = 0")
    emit("        while g < m:  # dyads that end leave their lane; the block's last moves in")
    emit("            q = g // LANES")
    emit("            j = g - q * LANES")
    emit(f"            if lanes[q * size + {_const('status')} * LANES + j] == ACTIVE:")
    emit("                g += 1")
    emit("                continue")
    emit("            page = lanes[q * size : (q + 1) * size]")
    emit("            _ended(page, p, keys[g], streams, j)")
    emit("            _store(dyads, j, page, dyad[q * LANES : (q + 1) * LANES])")
    emit("            m -= 1")
    emit("            if g < m:")
    emit("                s = m // LANES")
    emit("                source = lanes[s * size : (s + 1) * size]")
    emit("                move(source, m - s * LANES, page, j, FIELD_ROWS)")
    emit("                keys[g] = keys[m]")
    emit("                dyad[g] = dyad[m]")
    emit("    return run")
    for name, parallel in (("run_courses", False), ("run_courses_parallel", True)):
        emit("")
        emit("")
        emit("@jit_parallel" if parallel else "@jit")
        emit(f"def {name}(dyads, clinicians, params):")
        emit(
            '    """:func:`run_courses` with blocks shared among threads (same numbers)."""'
            if parallel
            else '    """Run every active dyad to the end of its course; return the dyad-sessions'
            ' run."""'
        )
        emit("    blocks = course_blocks(dyads, PAGES * LANES)")
        emit("    table = stream_table(dyads, params)")
        if parallel:
            emit("    run = np.zeros(blocks.shape[0], dtype=np.int64)")
            emit("    for b in numba.prange(blocks.shape[0]):")
            emit("        buffers = _buffers()")
            target = "run[b] = "
        else:
            emit("    buffers = _buffers()")
            emit("    run = 0")
            emit("    for b in range(blocks.shape[0]):")
            target = "run += "
        emit(
            f"        {target}_block(dyads, clinicians, params, blocks[b, 0], blocks[b, 1], "
            "table, buffers)"
        )
        emit("    return run.sum()" if parallel else "    return run")
    for name, loop in (("run_session", "range"), ("run_session_parallel", "numba.prange")):
        parallel = loop != "range"
        emit("")
        emit("")
        emit("@jit_parallel" if parallel else "@jit")
        emit(f"def {name}(dyads, clinicians, params, session):")
        if parallel:
            emit('    """:func:`run_session` with dyads shared among threads (same numbers)."""')
        else:
            emit(
                '    """Advance every active dyad by session ``session``; return how many '
                'advanced."""'
            )
        emit("    streams = session_streams(session)")
        emit("    advanced = 0")
        emit(f"    for i in {loop}(dyads.shape[0]):")
        emit("        d = dyads[i]")
        emit("        if d.status == ACTIVE:")
        emit("            _advance(d, clinicians[d.clinician], params[d.row], session, streams)")
        emit("            advanced += 1")
        emit("    return advanced")
    return "\n".join(out) + "\n"


def cache_directory() -> Path:
    """Return the directory of generated drivers (``ALLIANCE_CACHE_DIR`` or the user cache)."""
    configured = os.environ.get("ALLIANCE_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "working-alliance" / "drivers"


def load(composition: Composition) -> Any:
    """Write (once) and import the driver module of ``composition``; return the module."""
    name = f"alliance_drivers_{composition.fingerprint[:24]}"
    if name in sys.modules:
        return sys.modules[name]
    text = source(composition)
    directory = cache_directory()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.py"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, path)
    except OSError:  # an unwritable cache: a private temporary directory (no reuse)
        directory = Path(tempfile.mkdtemp(prefix="alliance-drivers-"))
        path = directory / f"{name}.py"
        path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    for step in composition.session:
        if isinstance(step, Phase):
            setattr(module, _phase_name(step), step.kernel)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
