"""Serving the dashboard: which address to bind, and running the Solara server on it.

The dashboard listens on 127.0.0.1 unless ``--host`` names another address explicitly. Solara's
and uvicorn's own conventions (``HOST``, ``SOLARA_HOST``, ``$PORT``) are *not* followed: an
environment variable left over in a shell or a container must never make a teaching tool with a
live model reachable from other machines. :func:`serve` refuses a non-loopback address unless
the caller says it was given explicitly.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import warnings
from collections.abc import Callable, Mapping

from sim.cli import UsageError

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


def resolve_host(cli_host: str | None,
                 environ: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
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
                notes.append(f"note: ignoring {name}={value}; the dashboard listens on "
                             f"{DEFAULT_HOST} unless --host is given")
        return DEFAULT_HOST, notes
    if not cli_host.strip():
        raise UsageError("--host must name an address, e.g. 127.0.0.1")
    if not is_loopback(cli_host):
        notes.append(f"warning: listening on {cli_host}: anyone who can reach this machine "
                     "can open the dashboard")
    return cli_host, notes


def bind(host: str, port: int, *, allow_remote: bool = False) -> socket.socket:
    """Return a listening socket on ``host:port`` (port 0: a free port).

    Raises
    ------
    UsageError
        If ``host`` is not a loopback address and ``allow_remote`` is false, or the address
        cannot be bound (in use, not an address of this machine).
    """
    if not is_loopback(host) and not allow_remote:
        raise UsageError(f"refusing to listen on {host}: the dashboard listens on this machine "
                         "only unless --host is given explicitly")
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be a whole number from 0 to 65535, got {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, socket.gaierror) as exc:
        raise UsageError(f"--host {host} is not an address of this machine ({exc})") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another "
                         "--port") from None
    return sock


def url_of(sock: socket.socket) -> str:
    """Return the page's address for a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(sock: socket.socket, *, scenario: str, seed: int,
          announce: Callable[[str], None] | None = None) -> None:
    """Serve the dashboard (:mod:`sim.app`) on a bound socket until interrupted.

    Parameters
    ----------
    sock : socket.socket
        From :func:`bind` (which applies the local-only rule).
    scenario, seed : str, int
        What the page opens with.
    announce : callable, optional
        Called with the page's address once the socket is ready (default: print it).
    """
    from sim.app import SCENARIO_ENV, SEED_ENV

    # Solara reads these when its server modules are imported, so set them first.
    os.environ["SOLARA_APP"] = "sim.app"
    os.environ[SCENARIO_ENV] = scenario
    os.environ[SEED_ENV] = str(seed)
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    import uvicorn
    from solara.server import settings

    from sim.dashboard.assets import ensure_frontend_assets, missing

    settings.telemetry.mixpanel_enable = False  # no usage reports from a classroom
    # Served over plain http on loopback, Solara falls back to a SameSite=Lax session cookie,
    # which is right here, and warns on every page load; this is that warning only.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https",
                            category=UserWarning)
    if missing():
        try:
            ensure_frontend_assets()
        except UsageError as exc:
            print(f"note: {exc}; Solara will try to fetch the page files from its CDN",
                  file=sys.stderr)
    config = uvicorn.Config("solara.server.starlette:app", log_level="warning",
                            access_log=False, loop="asyncio")
    server = uvicorn.Server(config)
    (announce or _print)(url_of(sock))
    server.run(sockets=[sock])


def _print(url: str) -> None:
    print(f"The working alliance dashboard: {url}  (Ctrl+C stops it)", flush=True)
