"""The import contracts of pyproject.toml ([tool.importlinter]) hold, and a wrong-way import breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services.settings import REPO

PACKAGES = ("app", "flows", "tasks", "services", "integrations", "sop", "prefect_plumbing")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the packages under ``root`` (and the installed sandbox package)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), str(root / "pyproject.toml")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A copy of the project's packages, to break on purpose."""
    root = tmp_path_factory.mktemp("tree")
    for name in PACKAGES:
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_contracts_hold():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("sop/rules.py", "import prefect", "The SOP's domain is pure"),
    ("integrations/hubspot.py", "import tasks.base", "Layers, top down"),
    ("tasks/gmail.py", "import vendor_sandbox", "Production code never imports the sandbox"),
    ("flows/people/waits.py", "import flows.engagement.record", "Flows: the new-client phases"),
    ("sop/plan.py", "import sop.client_ids", "No import circles"),
])
def test_a_wrong_way_import_breaks_a_contract(tree, module, line, contract):
    path = tree / module
    original = path.read_text()
    if module == "sop/plan.py":  # a circle: sop.client_ids -> sop.plan -> sop.client_ids
        (tree / "sop/client_ids.py").write_text((REPO / "sop/client_ids.py").read_text() + "\nimport sop.plan\n")
    path.write_text(original + f"\n{line}\n")
    try:
        result = lint_imports(tree)
    finally:
        path.write_text(original)
        shutil.copy(REPO / "sop/client_ids.py", tree / "sop/client_ids.py")
    assert result.returncode != 0
    broken = result.stdout[result.stdout.index("Broken contracts"):]
    assert contract in broken, broken[:2000]
