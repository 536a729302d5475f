"""What every session driver shares: lanes, blocks of dyads, stream tables, chance settling.

A driver (generated from the model's phases by :mod:`sim.core.codegen`) runs up to :data:`LANES`
dyads of one parameter row together: their values sit in *lanes*, one flat float buffer (a
*page*) in which row ``r`` of lane ``j`` is element ``r * LANES + j``. The offsets are constants,
so the compiler sees that rows never overlap and vectorises a loop that reads some rows and
writes others. A block of the course drivers holds up to :data:`PAGES` pages, refilled as dyads
end. Nothing here knows an equation.
"""

from __future__ import annotations

import numpy as np

from sim.core.chance import sigmoid
from sim.core.fields import ACTIVE
from sim.core.jit import jit
from sim.core.rng import SLOTS_PER_SESSION, normals_into, session_streams, uniforms_into

LANES = 64
"""Dyads advanced together: the lane buffer (~100 rows of 64 eight-byte values) stays in a
core's L1/L2 cache; 128 lanes measured no faster, 256 (the buffers in L2) 15% slower."""


PAGES = 8
"""Lane buffers (pages) of one block of the course drivers: a dyad that ends leaves its lane and
the block's last dyad moves in, so every page but the last stays full (a session call has a
fixed cost of ~0.5 us, ~7 lane-sessions). 4 to 16 pages measured alike; 8 pages (~340 KB)
stay in a core's L2."""


@jit
def course_blocks(dyads, capacity=LANES):
    """Return the dyad ranges run as blocks by the course drivers, as ``(n, 2)`` bounds.

    A block holds at most ``capacity`` active dyads, consecutive in the table (ended ones in
    between are skipped), of one parameter row and at the same session.
    """
    n = dyads.shape[0]
    bounds = np.empty((n, 2), dtype=np.int64)
    blocks = 0
    i = 0
    while i < n:
        if dyads[i].status != ACTIVE:
            i += 1
            continue
        start = i
        row = dyads[i].row
        session = dyads[i].sessions
        active = 0
        while i < n and active < capacity:
            d = dyads[i]
            if d.status == ACTIVE:
                if d.row != row or d.sessions != session:
                    break
                active += 1
            i += 1
        bounds[blocks, 0] = start
        bounds[blocks, 1] = i
        blocks += 1
    return bounds[:blocks]


@jit
def stream_table(dyads, params):
    """Return every session's streams (row ``s``: :func:`sim.core.rng.session_streams` of ``s``).

    Rows run to the longest course, or one past the furthest dyad if a parameter row was
    shortened mid-course.
    """
    last = 0
    for r in range(params.shape[0]):
        last = max(last, int(params[r].max_sessions))
    for i in range(dyads.shape[0]):
        last = max(last, int(dyads[i].sessions) + 1)
    table = np.zeros((last + 1, SLOTS_PER_SESSION), dtype=np.uint64)
    for session in range(1, last + 1):
        table[session] = session_streams(session)
    return table


@jit
def fill_draws(
    keys, streams, lanes, bits, normal_slots, normal_rows, uniform_slots, uniform_rows, m
):
    """Fill this session's draws of lanes ``0 .. m-1``.

    Slot ``normal_slots[k]`` goes into lane row ``normal_rows[k]``, and the same for uniforms
    (the numbers ``normal_at``/``uniform_at`` draw).
    """
    for k in range(normal_slots.shape[0]):
        normals_into(keys, streams[normal_slots[k]], lanes, normal_rows[k] * LANES, bits, m)
    for k in range(uniform_slots.shape[0]):
        uniforms_into(keys, streams[uniform_slots[k]], lanes, uniform_rows[k] * LANES, m)


@jit
def settle(lanes, row, draw_row, logit_row, m):
    """Decide with the exponential the events that the logistic's bounds left open (value 2)."""
    for j in range(m):
        if lanes[row * LANES + j] == 2.0:
            chance = sigmoid(lanes[logit_row * LANES + j])
            lanes[row * LANES + j] = 1.0 if lanes[draw_row * LANES + j] < chance else 0.0


@jit
def move(source_lanes, source, target_lanes, target, rows):
    """Move lane ``source`` of one page into lane ``target`` of another (or the same) page.

    The target's dyad has ended and been written back. Only rows ``0 .. rows-1`` move: those
    that carry a dyad from one session to the next.
    """
    for row in range(rows):
        target_lanes[row * LANES + target] = source_lanes[row * LANES + source]
