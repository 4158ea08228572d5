"""One archive per test module, for the tests that only read it.

An archive takes a whole `archive` run (every entity, the JSONL, the files step, the site), so
the tests that only look at what a run wrote share one, built by the first of them to ask. A
test that changes an archive works on a copy (`copy_of` in tests/support/archives.py); a test
that needs a run of its own (a kill mid-run, a changed account, a refusal) makes its own in
tmp_path. After the module's tests the shared archive is checked, file by file, against what
the run wrote: no test can pass or fail because of another's changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gorgias_sim import Simulator
from tests.support.archives import tree_digest
from tests.support.cli import run_ok
from tests.support.simulator import SimSpec


@pytest.fixture(scope="module")
def _module_archives() -> Iterator[dict[int, tuple[Path, dict[str, str]]]]:
    """The archives `built` made in this module, each checked unchanged at the end."""
    archives: dict[int, tuple[Path, dict[str, str]]] = {}
    yield archives
    for out, digest in archives.values():
        assert tree_digest(out) == digest, f"a test changed the shared archive {out}"


@pytest.fixture
def built(
    request: pytest.FixtureRequest,
    sim: Simulator,
    tmp_path_factory: pytest.TempPathFactory,
    _module_archives: dict[int, tuple[Path, dict[str, str]]],
) -> Path:
    """The archive of the module's simulator (`pytest.mark.sim(..., scope="module")`), made
    once for the module; read it, or change a `copy_of` it."""
    if SimSpec.for_test(request).scope != "module":
        raise pytest.UsageError("`built` shares one archive: the module's simulator must be too")
    if id(sim) not in _module_archives:
        out = tmp_path_factory.mktemp("built") / "archive"
        result = run_ok(sim, "archive", "--out-dir", str(out))
        assert f"Done: archive with {len(sim.dataset.tickets)} tickets" in result.stderr
        _module_archives[id(sim)] = (out, tree_digest(out))
    return _module_archives[id(sim)][0]
