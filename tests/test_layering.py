"""The dependency rules of docs/ARCHITECTURE.md, checked by reading the package's imports.

- probes import nothing from the app (outside inventory.probes), nor Flask or SQLAlchemy;
- services import no views module, and no request-bound object (request, g, session,
  current_user), so the CLI, the scheduler and a worker can call them unchanged;
- models import no services and no views.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import inventory

PACKAGE = "inventory"
ROOT = Path(inventory.__file__).parent
REQUEST_BOUND = {"request", "g", "session", "current_user"}
REQUEST_MODULES = {"flask", "flask_login", "flask.globals", "flask_login.utils"}


@dataclass(frozen=True)
class Import:
    """One import in a module: the module named, the names taken from it, where it is."""

    module: str
    names: tuple[str, ...]
    line: int
    top_level: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve(module: str | None, level: int, importer: str, is_package: bool) -> str:
    """The absolute module of `from <dots><module> import ...` written in `importer`."""
    if level == 0:
        return module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: -(level - 1)]
    return ".".join([*base, module] if module else base)


def imports_of(source: str, importer: str, is_package: bool = False) -> list[Import]:
    """Every import in the source, at any depth (a function-level import counts too)."""
    tree = ast.parse(source)
    top = {id(node) for node in _top_level_statements(tree.body)}
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(alias.name, (), node.lineno, id(node) in top))
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(node.module, node.level, importer, is_package)
            names = tuple(alias.name for alias in node.names)
            found.append(Import(module, names, node.lineno, id(node) in top))
    return found


def _top_level_statements(body):
    """Statements that run on import: the module body, and inside its if/try/with blocks."""
    for node in body:
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            children = getattr(node, field, None)
            if isinstance(children, list) and not isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
            ):
                yield from _top_level_statements(children)


def _attribute_uses(source: str) -> set[tuple[str, str]]:
    """`flask.request`-style uses: (module alias, attribute)."""
    tree = ast.parse(source)
    return {
        (node.value.id, node.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }


def targets(imp: Import, known: set[str]) -> set[str]:
    """The modules an import loads: `from a.b import c` loads a.b, and a.b.c if that is one."""
    loaded = {imp.module}
    loaded.update(f"{imp.module}.{name}" for name in imp.names if f"{imp.module}.{name}" in known)
    return loaded


def is_views(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return module.startswith(PACKAGE + ".") and (last == "views" or last.endswith("_views"))


def is_services(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return module.startswith(PACKAGE + ".") and (last == "services" or last.endswith("_services"))


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


# The rules, as functions from a module's source to a list of violations.


def probe_violations(source: str, name: str, is_package: bool = False) -> list[str]:
    problems = []
    for imp in imports_of(source, name, is_package):
        root = imp.module.split(".")[0]
        if _in(imp.module, PACKAGE) and not _in(imp.module, f"{PACKAGE}.probes"):
            problems.append(
                f"{name}:{imp.line} imports {imp.module} (probes know nothing of the app)"
            )
        if root == "flask" or root.startswith("flask_") or root == "sqlalchemy":
            problems.append(f"{name}:{imp.line} imports {imp.module} (probes are plain I/O)")
    return problems


def services_violations(
    source: str, name: str, known: set[str] = frozenset(), is_package: bool = False
) -> list[str]:
    problems = []
    aliases = set()
    for imp in imports_of(source, name, is_package):
        for target in targets(imp, known):
            if is_views(target):
                problems.append(f"{name}:{imp.line} imports the views module {target}")
        if imp.module in REQUEST_MODULES:
            bound = REQUEST_BOUND.intersection(imp.names)
            if bound:
                problems.append(f"{name}:{imp.line} imports {sorted(bound)} from {imp.module}")
            if not imp.names:
                aliases.add(imp.module.split(".")[0])
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in REQUEST_MODULES:
                    aliases.add(alias.asname or alias.name.split(".")[0])
    for alias, attribute in _attribute_uses(source):
        if alias in aliases and attribute in REQUEST_BOUND:
            problems.append(f"{name} uses {alias}.{attribute}")
    return problems


def models_violations(
    source: str, name: str, known: set[str] = frozenset(), is_package: bool = False
) -> list[str]:
    problems = []
    for imp in imports_of(source, name, is_package):
        for target in targets(imp, known):
            if is_views(target) or is_services(target):
                problems.append(f"{name}:{imp.line} imports {target}")
    return problems


def package_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for path in sorted(ROOT.rglob("*.py"))
        if "migrations" not in path.relative_to(ROOT).parts
    }


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# Tests of the checker itself, so that a rule that never fires is not mistaken for one kept.


def test_checker_catches_probe_violations():
    bad = (
        "import socket\n"
        "from flask import current_app\n"
        "import sqlalchemy as sa\n"
        "from inventory.extensions import db\n"
        "from ..assets import models\n"
        "from . import base\n"
        "from inventory.probes.base import Target\n"
    )
    problems = probe_violations(bad, "inventory.probes.snmp")
    assert len(problems) == 4, problems
    assert any("flask" in p for p in problems)
    assert any("sqlalchemy" in p for p in problems)
    assert any("inventory.extensions" in p for p in problems)
    assert any("inventory.assets" in p for p in problems)
    good = "import asyncio\nfrom dataclasses import dataclass\nfrom .base import Target\n"
    assert probe_violations(good, "inventory.probes.tcp") == []


def test_checker_catches_services_violations():
    known = {"inventory.assets.views", "inventory.assets.import_views"}
    cases = {
        "from flask import request\n": "request",
        "from flask import current_app, g\n": "g",
        "from flask import session as s\n": "session",
        "from flask_login import current_user\n": "current_user",
        "import flask\ndef f():\n    return flask.request.args\n": "flask.request",
        "def f():\n    from inventory.assets.views import bp\n": "views",
        "from inventory.assets import views\n": "views",
        "from . import import_views\n": "views",
    }
    for source, word in cases.items():
        problems = services_violations(source, "inventory.assets.services", known)
        assert problems and word in " ".join(problems), (source, problems)
    fine = "from flask import current_app\nfrom flask_babel import gettext as _\n"
    assert services_violations(fine, "inventory.assets.services", known) == []


def test_checker_catches_models_violations():
    known = {"inventory.sites.services", "inventory.sites.views"}
    assert models_violations("from inventory.sites.services import x\n", "inventory.a.models")
    assert models_violations("from ..sites import views\n", "inventory.a.models", known)
    assert models_violations("from inventory.extensions import db\n", "inventory.a.models") == []


# The rules, applied to the package as it is.


def test_probes_import_nothing_from_the_app():
    modules = package_modules()
    probes = {name: path for name, path in modules.items() if _in(name, f"{PACKAGE}.probes")}
    problems = [
        problem
        for name, path in probes.items()
        for problem in probe_violations(_read(path), name, _is_package(path))
    ]
    assert problems == []


def test_services_import_no_views_and_no_request_objects():
    modules = package_modules()
    known = set(modules)
    services = {name: path for name, path in modules.items() if is_services(name)}
    assert len(services) >= 5, sorted(services)  # the rule has something to hold
    problems = [
        problem
        for name, path in services.items()
        for problem in services_violations(_read(path), name, known, _is_package(path))
    ]
    assert problems == []


def test_importing_a_service_loads_no_views_module():
    """Through other modules too: what a services module pulls in when it is imported."""
    modules = package_modules()
    known = set(modules)
    graph = {
        name: {
            target
            for imp in imports_of(_read(path), name, _is_package(path))
            if imp.top_level
            for target in targets(imp, known)
            if target in known
        }
        for name, path in modules.items()
    }

    def parents(module: str) -> set[str]:
        parts = module.split(".")
        return {".".join(parts[:i]) for i in range(1, len(parts))} & known

    problems = []
    for start in (name for name in modules if is_services(name)):
        seen, stack, via = {start}, [start], {start: None}
        while stack:
            current = stack.pop()
            for nxt in graph[current] | parents(current):
                if nxt not in seen:
                    seen.add(nxt)
                    via[nxt] = current
                    stack.append(nxt)
        for module in sorted(filter(is_views, seen)):
            chain, step = [], module
            while step is not None:
                chain.append(step)
                step = via[step]
            problems.append(" <- ".join(chain))
    assert problems == []


def test_models_import_no_services_and_no_views():
    modules = package_modules()
    known = set(modules)
    models = {
        name: path
        for name, path in modules.items()
        if name.rsplit(".", 1)[-1] in ("models", "models_base")
    }
    assert len(models) >= 6, sorted(models)
    problems = [
        problem
        for name, path in models.items()
        for problem in models_violations(_read(path), name, known, _is_package(path))
    ]
    assert problems == []
