"""The rooms keep their doors and their size: which app may import which, how long a file may be.

README, "Project layout"; CONTRIBUTING.md, "Layout rules".
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = [
    "accounts",
    "appointments",
    "business",
    "flg",
    "flg_sandbox",
    "outbox",
    "precompiled",
    "privacy",
]
OURS = {*APPS, "bookingportal"}

# What each room may not import (module prefixes), and why.
FORBIDDEN = {
    "flg": (
        {
            "accounts",
            "appointments",
            "business",
            "flg_sandbox",
            "bookingportal",
            "outbox",
            "privacy",
        },
        "flg imports no app",
    ),
    "flg_sandbox": (
        {"accounts", "appointments", "business", "flg", "bookingportal", "outbox", "privacy"},
        "a stand-alone FLG",
    ),
    # Email and background work: generic, so accounts and appointments may use it.
    "outbox": (
        {"accounts", "appointments", "business", "flg", "flg_sandbox", "bookingportal", "privacy"},
        "the outbox imports no app of ours",
    ),
    # Queries built once per process: a tool of the ORM's, so every room may use it.
    "precompiled": (
        {
            "accounts",
            "appointments",
            "business",
            "flg",
            "flg_sandbox",
            "bookingportal",
            "outbox",
            "privacy",
        },
        "a generic ORM tool imports no app",
    ),
    # The business's settings: used by accounts and appointments, so it uses neither.
    "business": (
        {"accounts", "appointments", "flg", "flg_sandbox", "bookingportal", "privacy"},
        "the business's settings import only the outbox",
    ),
    "accounts": (
        {"appointments", "flg_sandbox", "bookingportal", "privacy"},
        "sign-in stays apart",
    ),
    "appointments": (
        {"flg_sandbox", "bookingportal", "flg.transport", "privacy"},
        "flg's public API only; privacy is on top",
    ),
    # Retention, erasure, the customer's data and the audit trail: on top of the product.
    "privacy": ({"flg_sandbox", "bookingportal"}, "privacy uses the apps, not the frame"),
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


# --- Size: a module a reader can hold in mind -----------------------------------------------

MODULE_LIMIT = 400  # lines of a Python file outside tests/ and migrations
TEST_LIMIT = 500  # lines of a file under tests/
# Not ours, or generated: never counted.
SKIPPED_DIRS = {".git", ".venv", "node_modules", "migrations", "__pycache__"}

# Files allowed over their limit for now, each with why and the issue that shrinks it; empty
# since issue 23 shrank the last ones. The test below fails once an entry is no longer needed,
# and a file not listed here may never pass its limit.
TOO_LONG_FOR_NOW: dict[str, str] = {}


def python_files(root: Path) -> list[Path]:
    """Every .py file under root, without virtualenvs, node_modules, hidden folders, migrations."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        found += [Path(folder) / name for name in files if name.endswith(".py")]
    return sorted(found)


def too_long(root: Path) -> dict[str, int]:
    """{path relative to root: lines} for each Python file over its limit."""
    over: dict[str, int] = {}
    for path in python_files(root):
        relative = path.relative_to(root)
        limit = TEST_LIMIT if relative.parts[0] == "tests" else MODULE_LIMIT
        lines = len(path.read_text().splitlines())
        if lines > limit:
            over[relative.as_posix()] = lines
    return over


def test_no_python_file_is_over_its_limit():
    found = too_long(ROOT)
    new = {path: lines for path, lines in found.items() if path not in TOO_LONG_FOR_NOW}
    assert new == {}, (
        f"Split these by concern: modules at most {MODULE_LIMIT} lines, tests {TEST_LIMIT}"
    )


def test_the_allow_list_names_only_files_still_too_long():
    # Once a file is short enough (or gone), its entry goes, so it cannot grow back unnoticed.
    shrunk = sorted(set(TOO_LONG_FOR_NOW) - set(too_long(ROOT)))
    assert shrunk == [], "Take these off TOO_LONG_FOR_NOW in tests/test_layout.py"


@pytest.mark.parametrize("package", ["appointments/admin", "appointments/views"])
def test_the_admin_and_the_views_are_packages_of_short_modules(package):
    assert (ROOT / package / "__init__.py").is_file()
    # A module of the old name beside the package would shadow it or be dead code.
    assert not (ROOT / f"{package}.py").exists()
    over = {
        path: lines
        for path, lines in too_long(ROOT).items()
        if path.startswith(package + "/") and path not in TOO_LONG_FOR_NOW
    }
    assert over == {}


def test_the_size_rule_catches_a_long_file(tmp_path):
    # The checks above must be able to fail: each limit is exact, and only our code counts.
    def write(relative: str, lines: int) -> None:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n" * lines)

    write("app/ok.py", MODULE_LIMIT)
    write("app/big.py", MODULE_LIMIT + 1)
    write("tests/test_ok.py", TEST_LIMIT)
    write("tests/test_big.py", TEST_LIMIT + 1)
    write("app/migrations/0001_initial.py", 2000)
    write(".venv/lib/site.py", 2000)
    write("node_modules/x/gyp.py", 2000)
    assert too_long(tmp_path) == {
        "app/big.py": MODULE_LIMIT + 1,
        "tests/test_big.py": TEST_LIMIT + 1,
    }
