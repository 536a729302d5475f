"""Serving the dashboard: which address to bind, and running the Solara server on it.

The dashboard listens on 127.0.0.1 unless ``--host`` names another address explicitly. Solara's
and uvicorn's own conventions (``HOST``, ``SOLARA_HOST``, ``$PORT``) are *not* followed: an
environment variable left over in a shell or a container must never make a teaching tool with a
live model reachable from other machines. :func:`serve` refuses a non-loopback address unless
the caller says it was given explicitly.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import IO

from sim.dashboard.errors import DashboardError

DEFAULT_HOST = "127.0.0.1"
IGNORED_HOST_VARIABLES = ("HOST", "SOLARA_HOST", "UVICORN_HOST")
"""Environment variables other servers take a bind address from; the dashboard does not."""


def is_loopback(host: str) -> bool:
    """Return whether ``host`` is an address of this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to a public interface


def resolve_host(
    cli_host: str | None, environ: Mapping[str, str] | None = None
) -> tuple[str, list[str]]:
    """Return the address to bind and notes for the user (one sentence each).

    Parameters
    ----------
    cli_host : str or None
        The ``--host`` option as given, ``None`` if it was not.
    environ : mapping, optional
        Environment to check for variables that are ignored (default ``os.environ``).

    Returns
    -------
    host : str
        ``cli_host`` if given, else :data:`DEFAULT_HOST`.
    notes : list of str
        A note per ignored non-local environment variable, and a warning when an explicit host
        makes the dashboard reachable from other machines.
    """
    environ = os.environ if environ is None else environ
    notes = []
    if cli_host is None:
        for name in IGNORED_HOST_VARIABLES:
            value = environ.get(name, "")
            if value and not is_loopback(value):
                notes.append(
                    f"note: ignoring {name}={value}; the dashboard listens on "
                    f"{DEFAULT_HOST} unless --host is given"
                )
        return DEFAULT_HOST, notes
    if not cli_host.strip():
        raise DashboardError("--host must name an address, e.g. 127.0.0.1")
    if not is_loopback(cli_host):
        notes.append(
            f"warning: listening on {cli_host}: anyone who can reach this machine "
            "can open the dashboard"
        )
    return cli_host, notes


def bind(host: str, port: int, *, allow_remote: bool = False) -> socket.socket:
    """Return a listening socket on ``host:port`` (port 0: a free port).

    Raises
    ------
    DashboardError
        If ``host`` is not a loopback address and ``allow_remote`` is false, or the address
        cannot be bound (in use, not an address of this machine).
    """
    if not is_loopback(host) and not allow_remote:
        raise DashboardError(
            f"refusing to listen on {host}: the dashboard listens on this machine "
            "only unless --host is given explicitly"
        )
    if not 0 <= port <= 65535:
        raise DashboardError(f"--port must be a whole number from 0 to 65535, got {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, socket.gaierror) as exc:
        raise DashboardError(f"--host {host} is not an address of this machine ({exc})") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise DashboardError(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port"
        ) from None
    return sock


def url_of(sock: socket.socket) -> str:
    """Return the page's address for a bound socket (on this machine, for a wildcard bind)."""
    host, port = sock.getsockname()[:2]
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(
    sock: socket.socket, *, scenario: str, seed: int, announce: Callable[[str], None] | None = None
) -> None:
    """Serve the dashboard (:mod:`sim.dashboard.app`) on a bound socket until interrupted.

    Parameters
    ----------
    sock : socket.socket
        From :func:`bind` (which applies the local-only rule).
    scenario, seed : str, int
        What the page opens with.
    announce : callable, optional
        Called with the page's address once the socket is ready (default: print it).
    """
    from sim.dashboard.app import SCENARIO_ENV, SEED_ENV

    # Solara reads these when its server modules are imported, so set them first.
    os.environ["SOLARA_APP"] = "sim.dashboard.app"
    os.environ[SCENARIO_ENV] = scenario
    os.environ[SEED_ENV] = str(seed)
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    import uvicorn
    from solara.server import settings

    from sim.dashboard.assets import missing

    settings.telemetry.mixpanel_enable = False  # no usage reports from a classroom
    # Served over plain http on loopback, Solara falls back to a SameSite=Lax session cookie,
    # which is right here, and warns on every page load; this is that warning only.
    warnings.filterwarnings(
        "ignore", message="Cookies with samesite=none require https", category=UserWarning
    )
    absent = missing()
    if absent:
        # Installing them is a set-up step (make does it), never a download at run time.
        print(
            f"note: {len(absent)} of the page's front-end packages are not installed "
            "locally; Solara will fetch them from its CDN (offline, run `python -m "
            "sim.dashboard.assets` once)",
            file=sys.stderr,
        )
    config = uvicorn.Config(
        "solara.server.starlette:app", log_level="warning", access_log=False, loop="asyncio"
    )
    server = uvicorn.Server(config)
    (announce or _print)(url_of(sock))
    server.run(sockets=[sock])


def _print(url: str) -> None:
    print(f"The working alliance dashboard: {url}  (Ctrl+C stops it)", flush=True)


@contextlib.contextmanager
def running_dashboard(
    *, scenario: str = "psychotherapy", seed: int = 2026, timeout: float = 60.0
) -> Iterator[str]:
    """Run ``alliance dashboard --port 0`` in a child process; yield its address once it serves.

    For tests and benchmarks. The child is stopped (SIGTERM, then SIGKILL) on exit.

    Raises
    ------
    RuntimeError
        If the server does not answer within ``timeout`` seconds (with its stderr).
    """
    command = [
        sys.executable,
        "-m",
        "sim.cli.dashboard",
        "dashboard",
        "--port",
        "0",
        "--scenario",
        scenario,
        "--seed",
        str(seed),
    ]
    env = {k: v for k, v in os.environ.items() if k not in IGNORED_HOST_VARIABLES}
    # stderr to a file: a pipe nobody reads would block the server once its buffer is full
    errors = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
    deadline = time.monotonic() + timeout
    try:
        url = _read_address(process, errors, deadline)
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the dashboard did not answer at {url}: {_stderr_of(process, errors)}"
                )
            time.sleep(0.1)  # polling a server that is starting, not waiting for a result
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        errors.close()


def _read_address(process: subprocess.Popen, errors: IO[str], deadline: float) -> str:
    assert process.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if not line:
                break
            match = re.search(r"http://\S+/", line)
            if match:
                return match.group(0)
    raise RuntimeError(f"the dashboard did not start: {_stderr_of(process, errors)}")


def _stderr_of(process: subprocess.Popen, errors: IO[str]) -> str:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    errors.seek(0)
    return errors.read().strip() or f"exit status {process.returncode}"
