"""The page's front-end files, for machines that cannot reach a CDN.

A Solara page loads its JavaScript and CSS (the Vuetify app, RequireJS, Font Awesome, Vega for
the charts) through the Solara server's CDN proxy, which fetches each file from a public CDN on
first use and caches it in ``<prefix>/share/solara/cdn``. Where no CDN is reachable (CI, a
locked-down classroom) the page stays blank. :func:`ensure_frontend_assets` fills that cache from
the npm registry instead, with ``npm pack``: a CDN path ``name@version/file`` is the file
``file`` of the npm package ``name@version``, so unpacking the package under ``name@version/`` is
what the proxy would have cached.

Run ``python -m sim.dashboard.assets`` once after installing (``alliance dashboard`` also tries
when files are missing).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from sim.dashboard.errors import DashboardError

_CDN_REFERENCE = re.compile(r"\{\{\s*cdn\s*\}\}/((?:@[\w.-]+/)?[\w.-]+@[\w.+-]+)/([\w./{}-]+)")
_GET_CDN_REFERENCE = re.compile(
    r"\$\{this\.getCdn\(\)\}/((?:@[\w.-]+/)?[\w.-]+@[\w.+-]+)/([\w./-]+)"
)


def cache_dir() -> Path:
    """Return the directory the Solara server's CDN proxy serves from."""
    import solara.settings
    from solara.server import settings

    if not solara.settings.assets.proxy:
        raise DashboardError(
            "Solara's CDN proxy is off (SOLARA_ASSETS_PROXY=false); the page would "
            "load its files from the CDN directly"
        )
    return Path(settings.assets.proxy_cache_dir)


def _add(files: dict[str, list[str]], package: str, path: str) -> None:
    if path not in files.setdefault(package, []):
        files[package].append(path)


def required_files() -> dict[str, list[str]]:
    """Return, by ``name@version``, the files the page will ask the proxy for.

    Read from Solara's own page template and its Vega-Lite widget's template (whose files and
    module names :mod:`sim.dashboard.vega` shares), so a Solara upgrade that moves to new
    versions is followed.
    """
    import ipyvue
    import solara

    root = Path(solara.__file__).parent
    vue3 = ipyvue.__version__.startswith("3")
    files: dict[str, list[str]] = {}
    template = (root / "server/templates/solara.html.j2").read_text()
    for package, path in _CDN_REFERENCE.findall(template):
        if ("vuetify3-app" in package) != vue3:
            continue  # the template names both Vue 2 and Vue 3 apps; one is used
        path = path.replace("{{ipywidget_major_version}}", "8")
        _add(files, package, path)
    text = (root / "widgets/vue/vegalite.vue").read_text()
    for package, path in _GET_CDN_REFERENCE.findall(text):
        _add(files, package, path)
    _add(files, "font-awesome@4.5.0", "css/font-awesome.min.css")
    return files


def missing(directory: Path | None = None) -> dict[str, list[str]]:
    """Return the required files not yet in the cache, by package."""
    directory = cache_dir() if directory is None else directory
    absent = {}
    for package, paths in required_files().items():
        gone = [p for p in paths if not (directory / package / p).is_file()]
        if gone:
            absent[package] = gone
    return absent


def _npm_pack(spec: str, workdir: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise DashboardError(
            "npm is not installed; install Node.js and npm to fetch the dashboard's "
            "page files, or give the machine access to a CDN"
        )
    result = subprocess.run(
        [npm, "pack", "--json", "--pack-destination", str(workdir), spec],
        capture_output=True,
        text=True,
        cwd=workdir,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise DashboardError(f"npm pack {spec} failed: {last}")
    return workdir / json.loads(result.stdout)[0]["filename"]


def _unpack(tarball: Path, target: Path) -> None:
    """Unpack an npm tarball's ``package/`` into ``target``, all or nothing.

    The files go to a staging directory first, which is then renamed to ``target``, so a page
    never sees half a package; when two processes fetch at once (tests under pytest-xdist), the
    second rename fails on the first one's complete copy, which is kept.
    """
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        with tarfile.open(tarball) as archive:
            members = []
            for member in archive.getmembers():
                _, _, inner = member.name.partition("/")
                if not inner:
                    continue
                member.name = inner
                members.append(member)
            archive.extractall(staging, members=members, filter="data")
        if target.exists():  # an incomplete copy: set it aside, then remove it
            aside = Path(tempfile.mkdtemp(prefix=".stale-", dir=target.parent))
            target.rename(aside / "package")
            shutil.rmtree(aside)
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def ensure_frontend_assets(directory: Path | None = None) -> list[str]:
    """Fetch any missing page files from the npm registry into the proxy's cache.

    Returns
    -------
    list of str
        The packages fetched (empty if everything was there).

    Raises
    ------
    DashboardError
        If npm is missing or a package cannot be fetched.
    """
    directory = cache_dir() if directory is None else directory
    absent = missing(directory)
    if not absent:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        for package in absent:
            target = directory / package
            target.parent.mkdir(parents=True, exist_ok=True)
            _unpack(_npm_pack(package, Path(work)), target)
    still = missing(directory)
    if still:
        raise DashboardError(f"after npm pack, files are still missing: {still}")
    return list(absent)


def main() -> int:
    """Fetch the page files if missing; print what was done."""
    try:
        fetched = ensure_frontend_assets()
    except DashboardError as exc:
        print(f"dashboard assets: error: {exc}", file=sys.stderr)
        return 2
    where = cache_dir()
    print(
        f"fetched {', '.join(fetched)} into {where}"
        if fetched
        else f"all dashboard page files are in {where}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
