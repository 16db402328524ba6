"""The rooms keep their doors: which app may import which (README, "Project layout")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ["accounts", "appointments", "business", "flg", "flg_sandbox", "outbox"]
OURS = {*APPS, "bookingportal"}

# What each room may not import (module prefixes), and why.
FORBIDDEN = {
    "flg": (
        {"accounts", "appointments", "business", "flg_sandbox", "bookingportal", "outbox"},
        "flg imports no app",
    ),
    "flg_sandbox": (
        {"accounts", "appointments", "business", "flg", "bookingportal", "outbox"},
        "a stand-alone FLG",
    ),
    # Email and background work: generic, so accounts and appointments may use it.
    "outbox": (
        {"accounts", "appointments", "business", "flg", "flg_sandbox", "bookingportal"},
        "the outbox imports no app of ours",
    ),
    # The business's settings: used by accounts and appointments, so it uses neither.
    "business": (
        {"accounts", "appointments", "flg", "flg_sandbox", "bookingportal"},
        "the business's settings import only the outbox",
    ),
    "accounts": ({"appointments.views", "flg_sandbox", "bookingportal"}, "sign-in stays apart"),
    "appointments": ({"flg_sandbox", "bookingportal", "flg.transport"}, "flg's public API only"),
}

# The demo seed wires the portal to its stand-in, so it alone may fill the sandbox's tables.
EXCEPTIONS = {"appointments/demo.py": {"flg_sandbox"}}


def imports_of(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) for every import in the file, those inside functions included."""
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


def sources(app: str) -> list[Path]:
    return [p for p in sorted((ROOT / app).rglob("*.py")) if "migrations" not in p.parts]


def breaks(module: str, names: list[str], forbidden: set[str]) -> list[str]:
    """The forbidden modules this import reaches (`from flg import transport` is flg.transport)."""
    targets = [module] + [f"{module}.{name}" for name in names]
    return sorted(
        {
            rule
            for target in targets
            for rule in forbidden
            if target == rule or target.startswith(rule + ".")
        }
    )


@pytest.mark.parametrize("app", APPS)
def test_each_app_imports_only_what_its_room_allows(app):
    forbidden, why = FORBIDDEN[app]
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module} ({why})"
        for path in sources(app)
        for line, module, names in imports_of(path)
        if breaks(module, names, forbidden - EXCEPTIONS.get(str(path.relative_to(ROOT)), set()))
    ]
    assert wrong == []


def test_no_app_takes_a_private_name_from_flg():
    wrong = [
        f"{path.relative_to(ROOT)}:{line} takes {name} from {module}"
        for app in ["accounts", "appointments", "bookingportal"]
        for path in sources(app)
        for line, module, names in imports_of(path)
        if module.split(".")[0] == "flg"
        for name in names
        if name.startswith("_")
    ]
    assert wrong == []


def test_the_rule_catches_a_forbidden_import(tmp_path):
    # The check above must be able to fail: a file of flg importing the product is caught.
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from appointments.models import Customer\n")
    [(_line, module, names)] = imports_of(bad)
    assert breaks(module, names, FORBIDDEN["flg"][0]) == ["appointments"]
    assert breaks("flg.sessions", ["create"], FORBIDDEN["appointments"][0]) == []
    assert breaks("flg", ["transport"], FORBIDDEN["appointments"][0]) == ["flg.transport"]
    # The outbox stays generic: accounts may use it, never the other way round.
    assert breaks("accounts", ["links"], FORBIDDEN["outbox"][0]) == ["accounts"]
    assert breaks("outbox", ["services"], FORBIDDEN["accounts"][0]) == []
