"""The public surface: every extension function is wrapped, every public function documented."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import kpikit
from kpikit import _kpikit

PACKAGE = Path(kpikit.__file__).parent
# Module attributes of the extension that are not functions to wrap, and the diagnostics that
# only the zero-copy tests call.
NOT_FUNCTIONS = {"__version__", "debug_build", "table_buffer_addresses", "column_buffer_addresses"}


def _wrapper_sources() -> str:
    return "\n".join(p.read_text() for p in PACKAGE.glob("*.py"))


def test_every_extension_function_is_used_by_the_package() -> None:
    sources = _wrapper_sources()
    exported = [n for n in _kpikit.__all__ if n not in NOT_FUNCTIONS]
    unused = [n for n in exported if not re.search(rf"_kpikit\.{n}\b", sources)]
    assert exported, "the extension exports nothing"
    assert unused == []


def test_every_public_function_has_a_formula_and_an_example() -> None:
    def public_functions() -> list[tuple[str, object]]:
        found = []
        for name in kpikit.__all__:
            obj = getattr(kpikit, name)
            if inspect.isfunction(obj):
                found.append((name, obj))
            elif inspect.ismodule(obj):
                found += [(f"{name}.{n}", getattr(obj, n)) for n in getattr(obj, "__all__", [])]
        return found

    functions = [(n, f) for n, f in public_functions() if inspect.isfunction(f)]
    assert len(functions) >= 2
    for name, f in functions:
        doc = inspect.getdoc(f) or ""
        assert ">>>" in doc, f"{name} has no runnable example"
        assert "=" in doc, f"{name} does not state its formula"


def test_exceptions_inherit_from_the_builtins_analysts_catch() -> None:
    assert issubclass(kpikit.SchemaError, TypeError)
    assert issubclass(kpikit.InputError, ValueError)
    assert issubclass(kpikit.ParameterError, ValueError)
    for cls in (kpikit.SchemaError, kpikit.InputError, kpikit.ParameterError):
        assert issubclass(cls, kpikit.KpikitError)


def test_typing_marker_and_stub_ship_with_the_package() -> None:
    assert (PACKAGE / "py.typed").exists()
    assert (PACKAGE / "_kpikit.pyi").exists()


def test_module_namespaces_hold_only_the_public_api() -> None:
    # dir() of a public module lists its __all__, dunder names and its own submodules; helpers
    # it imports (sys, typing.Any, __future__'s annotations) are not part of the API.
    import importlib

    for name in ["kpikit", "kpikit.formulas", "kpikit.clv", "kpikit.dask", "kpikit.datasets", "kpikit.plot"]:
        module = importlib.import_module(name)
        public = set(module.__all__)

        def allowed(attr: str, module: object = module, public: set[str] = public, name: str = name) -> bool:
            value = getattr(module, attr, None)
            submodule = inspect.ismodule(value) and value.__name__.startswith(f"{name}.")
            return attr in public or (attr.startswith("__") and attr.endswith("__")) or submodule

        extra = sorted(a for a in dir(module) if not allowed(a))
        assert extra == [], f"dir({name}) lists {extra}"
        assert public <= set(dir(module)), f"dir({name}) misses {sorted(public - set(dir(module)))}"
