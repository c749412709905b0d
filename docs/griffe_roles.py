"""A griffe extension for the documentation site: numpydoc's reStructuredText bits as Markdown.

kpikit's docstrings are numpydoc and name other objects with Sphinx roles (``:func:`nps```,
``:class:`~kpikit.InputError```), which Markdown would show as raw text. Each role is rewritten
before the docstring is parsed: to a cross-reference (``[`nps`][kpikit.survey.nps]``) when its
target is a public kpikit object, which the site documents (tests/python/test_docs_site.py), so
that `mkdocs build --strict` fails on a reference the site cannot resolve; to plain code
otherwise (private helpers, other libraries). A role naming ``kpikit.…`` that does not exist is
reported as a warning, which fails the strict build.

A parameter's set of values, ``{"raise", "skip"}, default "raise"``, becomes
``"raise" | "skip", default "raise"``: numpydoc reads the first value of a set as the default,
which kpikit's docstrings do not mean (the default is the signature's, or stated).

A citation of the project's docs, ``docs/conventions.md#mrr``, becomes a link to that page of
the site, so a strict build fails when the page or the anchor it cites does not exist.

A comment line in an example's prose (``# 3 / 4 = 0.75``) stays a sentence, not a Markdown
heading.

A doctest outside an ``Examples`` section (numpydoc renders any ``>>>`` block as code) is fenced
as a code block, so that its brackets are not read as Markdown links.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(func|meth|class|mod|data|attr|obj|exc):`(~?)([\w.]+)(?:\(\))?`")
_LOGGER = griffe.get_logger("griffe_roles")


def _lookup(package: Any, path: str) -> Any:
    """The object at the dotted ``path`` inside ``package``, or None."""
    if path == package.path:
        return package
    if not path.startswith(package.path + "."):
        return None
    try:
        return package[path[len(package.path) + 1 :]]
    except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None


def _not_the_module(target: Any, path: str) -> tuple[Any, str]:
    """A function or class named like its module (``kpikit.report``, ``kpikit.check``): griffe
    finds the submodule under that path, Python the function the package imports over it."""
    if target.is_module and target.name in target.members:
        return target.members[target.name], f"{path}.{target.name}"
    return target, path


# The modules whose public names (``__all__``) the site documents, each in a ``:::`` block.
_DOCUMENTED_MODULES = ("", "clv", "formulas", "plot", "datasets", "dask")


def _documented_roots(package: Any) -> set[str]:
    """Canonical paths of the objects the site renders with their public members."""
    roots = set()
    for name in _DOCUMENTED_MODULES:
        module = package[name] if name else package
        roots.add(module.canonical_path)
        for export in module.exports or ():
            if isinstance(export, str) and export in module.members and not export.startswith("__"):
                try:
                    member, _ = _not_the_module(module.members[export], "")
                    roots.add(member.canonical_path)
                except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                    continue
    return roots


def _documented(target: Any, roots: set[str]) -> bool:
    """Whether the site renders ``target``: a documented object or a public member of one."""
    try:
        path = target.canonical_path
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return False
    if path in roots:
        return True
    parent, _, name = path.rpartition(".")
    return parent in roots and not name.startswith("_") and target.parent.kind.value == "class"


_DOCS_PAGE = re.compile(r"(?<![`/\w])docs/([\w-]+\.md(?:#[\w-]+)?)")
_CHOICES = re.compile(r"^(\s*[\w*]+(?:, [\w*]+)* : )\{([^{}]*)\}( or None)?", re.MULTILINE)


def _choices(match: re.Match[str]) -> str:
    values = [v.strip() for v in match.group(2).split(",")] + (["None"] if match.group(3) else [])
    return match.group(1) + " | ".join(values)


def _no_headings(text: str) -> str:
    """Lines of prose that start with ``#`` (comments introducing an example), without it."""
    out, in_code, fenced = [], False, False
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("```"):
            fenced = not fenced
        in_code = bool(stripped) and (in_code or stripped.startswith(">>>"))
        if not fenced and not in_code and re.match(r"#+ ", stripped):
            line = line[: len(line) - len(stripped)] + stripped.lstrip("#").lstrip()
        out.append(line)
    return "\n".join(out)


def _fence_doctests(text: str) -> str:
    """``>>>`` blocks outside the Examples section, fenced as Python console code."""
    out: list[str] = []
    lines = text.split("\n")
    section, i = "", 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip()) and line.strip():
            section = line.strip()
        if section != "Examples" and line.lstrip().startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out += [f"{indent}```pycon", *block, f"{indent}```"]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


class SphinxRoles(griffe.Extension):
    """Rewrites the Sphinx roles of every docstring of the package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._roots = _documented_roots(pkg)
        self._walk(pkg, pkg, set())

    def _walk(self, package: Any, obj: Any, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            text = _ROLE.sub(lambda m: self._link(package, obj, m), obj.docstring.value)
            text = _DOCS_PAGE.sub(r"[docs/\1](\1)", _CHOICES.sub(_choices, text))
            obj.docstring.value = _fence_doctests(_no_headings(text))
        for member in obj.members.values():
            if not member.is_alias:
                self._walk(package, member, seen)

    def _link(self, package: Any, obj: Any, match: re.Match[str]) -> str:
        role, short, name = match.group(1), match.group(2) == "~", match.group(3)
        shown = name.rsplit(".", 1)[-1] if short else name
        # Where a name is looked for: as written, then from the object's class, its module and
        # the package (a docstring may name a sibling without its module).
        scopes = [obj.path] if obj.kind.value in ("module", "class") else []
        scopes += [p.path for p in (obj.parent, obj.module) if p is not None] + [package.path]
        candidates = [name] + [f"{scope}.{name}" for scope in scopes]
        for path in candidates:
            target = _lookup(package, path)
            if target is not None and role != "mod":
                target, path = _not_the_module(target, path)
            if target is not None:
                if _documented(target, self._roots):
                    return f"[`{shown}`][{path}]"
                return f"`{shown}`"
        if name.startswith(package.path + "."):
            _LOGGER.warning("%s: the docstring names %s, which does not exist", obj.path, name)
        return f"`{shown}`"
