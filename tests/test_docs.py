"""The documentation stays true to the code: every variable the code reads is in
docs/configuration.md and the reference names none it does not read; the README stays short;
every relative link in README.md, CONTRIBUTING.md and docs/ leads somewhere.

Read from the files (AST and Markdown), no process started.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = ROOT / "docs" / "configuration.md"
README_MAX_LINES = 250

# What reads the environment: the settings, their parsers, gunicorn's configuration, and the
# apps (a management command reading a password, say). Not the tests, the bench or the demo
# scripts, whose variables are their own (docs/performance.md lists the bench's).
APPS = ["accounts", "appointments", "bookingportal", "business", "flg", "flg_sandbox", "outbox"]
APPS += ["precompiled", "privacy"]
# A variable is only written (os.environ.setdefault / pop), or named for another program.
NOT_READS = {"DJANGO_SETTINGS_MODULE"}
# The reference's section for what the deploy files read, not the portal (docker-compose.yml).
NOT_THE_CODES = "Read by the deploy files only"


def source_files() -> list[Path]:
    files = [ROOT / "gunicorn.conf.py"]
    for app in APPS:
        files += [p for p in sorted((ROOT / app).rglob("*.py")) if "migrations" not in p.parts]
    return files


def _is_environ(node: ast.expr) -> bool:
    """os.environ, or a bare environ imported from os."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id == "environ"


def _reader(func: ast.expr) -> bool:
    """A call that reads a variable named by its first argument."""
    if isinstance(func, ast.Attribute):
        if _is_environ(func.value):
            return func.attr in {"get", "__getitem__"}
        if isinstance(func.value, ast.Name) and func.value.id == "os":
            return func.attr == "getenv"
        # django-environ's reader, however it is named: env.str("X"), env.bool("X"), env("X").
        return isinstance(func.value, ast.Name) and func.value.id == "env"
    if isinstance(func, ast.Name):
        # env("X"), getenv("X") and bookingportal.env's readers: env_bool("X"), env_int("X")...
        return func.id in {"env", "getenv"} or func.id.startswith(("env_", "parse_", "read_"))
    return False


VARIABLE = re.compile(r"[A-Z][A-Z0-9_]*")


def variables_read(source: str) -> set[str]:
    """The environment variables a module reads, by name (constants resolved)."""
    tree = ast.parse(source)
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if (
                    isinstance(item, ast.Assign)
                    and isinstance(item.value, ast.Constant)
                    and isinstance(item.value.value, str)
                ):
                    for target in item.targets:
                        if isinstance(target, ast.Name):
                            constants.setdefault(target.id, item.value.value)

    def name_of(arg: ast.expr) -> str | None:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
        if isinstance(arg, ast.Name):
            return constants.get(arg.id)
        return None

    found: set[str] = set()
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Call) and node.args and _reader(node.func):
            name = name_of(node.args[0])
        elif (
            isinstance(node, ast.Subscript)
            and _is_environ(node.value)
            and isinstance(node.ctx, ast.Load)
        ):
            name = name_of(node.slice)
        elif (
            isinstance(node, ast.Compare)
            and isinstance(node.ops[0], ast.In)
            and _is_environ(node.comparators[0])
        ):
            name = name_of(node.left)  # "X" in os.environ
        if name and VARIABLE.fullmatch(name) and name not in NOT_READS:
            found.add(name)
    return found


def variables_in_the_code() -> set[str]:
    found: set[str] = set()
    for path in source_files():
        found |= variables_read(path.read_text(encoding="utf-8"))
    return found


def documented(markdown: str) -> tuple[set[str], set[str]]:
    """The variables the reference's tables name: (the portal's, the deploy files' only)."""
    portal: set[str] = set()
    deploy_only: set[str] = set()
    section = ""
    for line in markdown.splitlines():
        if line.startswith("#"):
            section = line
        elif line.startswith("| `"):
            first_cell = line.split("|")[1]
            names = set(re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell))
            (deploy_only if NOT_THE_CODES in section else portal).update(names)
    return portal, deploy_only


def test_every_variable_the_code_reads_is_in_the_configuration_reference():
    portal, _ = documented(CONFIGURATION.read_text(encoding="utf-8"))
    missing = variables_in_the_code() - portal
    assert not missing, (
        f"read by the code but not in docs/configuration.md's table: {sorted(missing)}; "
        "add a row (name, default, meaning) for each"
    )


def test_the_configuration_reference_names_no_variable_the_code_does_not_read():
    portal, deploy_only = documented(CONFIGURATION.read_text(encoding="utf-8"))
    stale = portal - variables_in_the_code()
    assert not stale, (
        f"in docs/configuration.md but read by no code: {sorted(stale)}; remove the row, or "
        f'move it under "{NOT_THE_CODES}" if a deploy file reads it'
    )
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert all(name in compose for name in deploy_only)


FAKE_SETTINGS = """
import os
from os import environ
PASSWORD_VARIABLE = "FAKE_PASSWORD"
DEBUG = env_bool("FAKE_DEBUG", False)
KEY = env.str("FAKE_KEY", default="")
TOKEN = os.environ.get("FAKE_TOKEN", "")
NAME = os.environ["FAKE_NAME"]
OTHER = os.getenv("FAKE_OTHER")
URL = parse_database_url("FAKE_URL", os.environ.get("FAKE_URL", ""))
PASSWORD = os.environ.get(PASSWORD_VARIABLE)
HAS = "FAKE_FLAG" in environ
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x")
os.environ["FAKE_WRITTEN"] = "1"
label = str("not a variable")
"""


def test_the_scan_finds_every_way_of_reading_a_variable():
    assert variables_read(FAKE_SETTINGS) == {
        "FAKE_DEBUG",
        "FAKE_KEY",
        "FAKE_TOKEN",
        "FAKE_NAME",
        "FAKE_OTHER",
        "FAKE_URL",
        "FAKE_PASSWORD",
        "FAKE_FLAG",
    }


def test_the_checks_fail_on_an_undocumented_or_stale_variable():
    table = "## Variables\n\n| variable | default | meaning |\n| --- | --- | --- |\n"
    table += "| `FAKE_DEBUG` | `False` | x |\n| `FAKE_GONE` | none | y |\n"
    table += f"\n## {NOT_THE_CODES}\n\n| `PORTAL_PUBLISH` | `127.0.0.1:8000` | z |\n"
    portal, deploy_only = documented(table)
    read = variables_read(FAKE_SETTINGS)
    assert read - portal == {
        "FAKE_KEY",
        "FAKE_TOKEN",
        "FAKE_NAME",
        "FAKE_OTHER",
        "FAKE_URL",
        "FAKE_PASSWORD",
        "FAKE_FLAG",
    }
    assert portal - read == {"FAKE_GONE"}
    assert deploy_only == {"PORTAL_PUBLISH"}


def test_the_readme_stays_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines, over {README_MAX_LINES}: move reference to docs/"
    )


# --- Links ------------------------------------------------------------------------------------

LINKED_FILES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    kept = "".join(
        c for c in text if c in " -" or unicodedata.category(c)[0] in {"L", "N"} or c == "_"
    )
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if fenced or not line.startswith("#"):
            continue
        base = anchor(line.lstrip("#"))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto:
    ]


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in relative_links(path):
        file_part, _, fragment = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            broken.append(f"{target} (no such heading)")
    return broken


@pytest.mark.parametrize("path", LINKED_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_somewhere(path):
    assert broken_links(path) == []


def test_the_link_check_can_fail(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## A `code` heading, too\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[ok](other.md) [ok](other.md#a-code-heading-too) [ok](#page) "
        "[web](https://example.com/x.md)\n[gone](missing.md) [bad](other.md#nowhere) "
        "[bad](#nowhere)\n```\n[in code](ignored.md)\n```\n"
    )
    assert broken_links(page) == [
        "missing.md (no such file)",
        "other.md#nowhere (no such heading)",
        "#nowhere (no such heading)",
    ]
