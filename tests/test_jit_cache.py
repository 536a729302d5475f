"""The Numba cache is dropped when the model's sources change (Numba itself only checks a
function's own file, so an edited generator would otherwise hide behind stale kernels), and the
one fingerprint covers every module with jitted code."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from sim.core import jit as sim_jit
from sim.core.composition import CORE
from sim.core.fingerprint import MODEL_SOURCES, SIM


def fake_dispatcher(directory: Path) -> SimpleNamespace:
    return SimpleNamespace(_cache=SimpleNamespace(_cache_path=str(directory)))


@pytest.fixture
def unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim_jit, "_checked", set())


@pytest.mark.usefixtures("unchecked")
def test_stale_cache_is_dropped_and_a_current_one_kept(tmp_path: Path) -> None:
    (tmp_path / "kernels.run_session-1.py312.nbi").write_bytes(b"index")
    (tmp_path / "kernels.run_session-1.py312.1.nbc").write_bytes(b"code")
    (tmp_path / "kernels.cpython-312.pyc").write_bytes(b"bytecode")
    sim_jit._drop_stale_cache(fake_dispatcher(tmp_path))  # no stamp yet: stale
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "alliance-sources.sha256",
        "kernels.cpython-312.pyc",
    ]
    assert (tmp_path / "alliance-sources.sha256").read_text() == sim_jit.sources_fingerprint()

    (tmp_path / "kernels.run_session-1.py312.nbi").write_bytes(b"index")
    sim_jit._checked.clear()
    sim_jit._drop_stale_cache(fake_dispatcher(tmp_path))  # same sources: kept
    assert (tmp_path / "kernels.run_session-1.py312.nbi").exists()

    (tmp_path / "alliance-sources.sha256").write_text("an older fingerprint")
    sim_jit._checked.clear()
    sim_jit._drop_stale_cache(fake_dispatcher(tmp_path))  # sources changed: dropped
    assert not (tmp_path / "kernels.run_session-1.py312.nbi").exists()


def test_fingerprint_covers_every_module_with_jitted_code() -> None:
    jitted = {
        path.name
        for path in SIM.glob("*.py")
        if "@jit" in path.read_text(encoding="utf-8")
        or "import jit" in path.read_text(encoding="utf-8")
    }
    assert jitted, "no module with jitted code found"
    assert jitted <= set(MODEL_SOURCES), sorted(jitted - set(MODEL_SOURCES))
    assert all((SIM / name).exists() for name in MODEL_SOURCES)
    assert len(sim_jit.sources_fingerprint()) == 64


def test_interface_files_are_not_in_the_fingerprint() -> None:
    """Editing the CLI or the dashboard changes no number and must not drop compiled kernels."""
    assert not {"cli.py", "app.py", "narrate.py", "plots.py", "model.py"} & set(MODEL_SOURCES)


def test_real_dispatchers_expose_their_cache_directory() -> None:
    """The check reads Numba's cache locator; a Numba upgrade that moves it must fail here."""
    run_session = CORE.kernels.run_session
    directory = Path(run_session._cache._cache_path)
    assert directory.name == "__pycache__" or directory.exists()
    assert str(directory) in sim_jit._checked
