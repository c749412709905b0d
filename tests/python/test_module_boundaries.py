"""Module boundaries inside the package: no module of kpikit reaches into another's private
(underscore) names. Shared helpers live under public names, in a private module when they are
not part of the API (``_render``, ``_history``, ``_convert``…); only the compiled extension
``_kpikit`` is exempt, since its names are the binding layer itself.

The check reads the source with ``ast`` (nothing is imported), so it also sees imports inside
functions and attribute access through a module bound to a name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "python" / "kpikit"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py"))
# Every module of the package, the extension (known by its stub) included.
SUBMODULES = set(MODULES) | {p.stem for p in PACKAGE.glob("*.pyi")}
EXEMPT = {"_kpikit"}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _target(module: str | None, level: int) -> str | None:
    """The kpikit module an import names (``"kpikit"`` for the package), or None."""
    if level == 1:
        return module.split(".")[0] if module else "kpikit"
    if level == 0 and module is not None and (module == "kpikit" or module.startswith("kpikit.")):
        parts = module.split(".")
        return parts[1] if len(parts) > 1 else "kpikit"
    return None


def violations(source: str, filename: str) -> list[str]:
    """Each place ``source`` (a module of the package named ``filename``) uses another kpikit
    module's private name, as ``"file:line: what"``."""
    tree = ast.parse(source, filename)
    own = Path(filename).stem
    found: list[str] = []
    # Names bound to a kpikit module (or the package), to catch ``module._name``.
    modules: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _target(node.module, node.level)
            if target is None:
                continue
            for alias in node.names:
                if target == "kpikit" and alias.name in SUBMODULES:
                    modules[alias.asname or alias.name] = alias.name  # ``from . import plot``
                    continue
                if target in EXEMPT or target == own:
                    continue
                if _private(alias.name):
                    found.append(f"{filename}:{node.lineno}: imports {alias.name} from {target}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                target = _target(alias.name, 0)
                if target is None:
                    continue
                if alias.asname is not None:
                    modules[alias.asname] = target
                else:
                    modules["kpikit"] = "kpikit"

    def module_of(expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Name):
            return modules.get(expr.id)
        if isinstance(expr, ast.Attribute) and module_of(expr.value) == "kpikit" and expr.attr in SUBMODULES:
            return expr.attr
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            target = module_of(node.value)
            if target is not None and target not in EXEMPT and target != own and node.attr not in SUBMODULES:
                found.append(f"{filename}:{node.lineno}: uses {target}.{node.attr}")
    return found


# The Dask driver is being rebuilt over one declaration per analysis (see docs); until then its
# reach into the analyses' private helpers is listed here. Each entry must still be a real
# violation, so the list shrinks with the code and cannot hide a new one.
KNOWN: set[str] = set()


def _without_line(v: str) -> str:
    file, _, rest = v.split(":", 2)
    return f"{file}:{rest}"


def test_no_module_uses_another_modules_private_names() -> None:
    found = [v for name in MODULES for v in violations((PACKAGE / f"{name}.py").read_text(), f"{name}.py")]
    assert len(MODULES) > 10
    new = [v for v in found if _without_line(v) not in KNOWN]
    assert new == [], "\n".join(new)
    stale = KNOWN - {_without_line(v) for v in found}
    assert stale == set(), f"no longer violations, drop them from KNOWN: {sorted(stale)}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from .scorecard import _format, Scorecard\n", ["m.py:1: imports _format from scorecard"]),
        ("def f():\n    from kpikit.catalog import _all\n", ["m.py:2: imports _all from catalog"]),
        ("from . import plot\nx = plot._axes\n", ["m.py:2: uses plot._axes"]),
        ("import kpikit\nx = kpikit.report._png\n", ["m.py:2: uses report._png"]),
        ("import kpikit.journey as j\nj._STAGE_RATE\n", ["m.py:2: uses journey._STAGE_RATE"]),
        ("import kpikit\nkpikit._secret\n", ["m.py:2: uses kpikit._secret"]),
        # Allowed: the extension, public names of private modules, dunders, one's own names,
        # private attributes of objects that are not modules.
        ("from . import _kpikit\n_kpikit.catalog()\nfrom ._kpikit import _x\n", []),
        ("from ._render import format_value\nfrom . import _render\n_render.STATUS_COLOURS\n", []),
        ("from . import __version__\nfrom .m import _mine\n", []),
        ("result._repr_html_()\n", []),
    ],
)
def test_the_check_itself(source: str, expected: list[str]) -> None:
    assert violations(source, "m.py") == expected
