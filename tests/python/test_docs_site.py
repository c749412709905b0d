"""The documentation site documents every public name, and the docs the code cites exist.

`make docs` builds the site with `mkdocs build --strict` (and `make test` runs it), which fails on
a broken link, cross-reference or docstring; these tests cover what the build cannot see: a
public name that no page renders, and a citation of docs/*.md (with its anchor) in a comment
or docstring that no page holds.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import types
import unicodedata
from pathlib import Path
from typing import Any

import pytest

import kpikit

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# The modules whose public names are part of the API besides the package's own.
MODULES = ("clv", "formulas", "plot", "datasets")


def _resolve(identifier: str) -> Any:
    """The object Python finds under ``identifier``: attributes from the package down, else the
    longest importable module, then attributes (``kpikit.report.report``)."""
    parts = identifier.split(".")
    try:
        found: Any = importlib.import_module(parts[0])
        for name in parts[1:]:
            found = getattr(found, name)
        return found
    except (ImportError, AttributeError):
        pass
    for i in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(identifier)


def _blocks() -> list[tuple[str, str, str]]:
    """(page, identifier, options text) of every mkdocstrings block of the site's pages."""
    found = []
    for page in sorted(DOCS.glob("*.md")):
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            m = re.fullmatch(r":::\s+(\S+)\s*", line)
            if m:
                options = []
                for following in lines[i + 1 :]:
                    if following and not following.startswith(" "):
                        break
                    options.append(following)
                found.append((page.name, m.group(1), "\n".join(options)))
    return found


def _is_module(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def test_blocks_name_what_they_mean() -> None:
    # `kpikit.report` is the function in Python, but the submodule of that name to the static
    # reader that renders the site: such a block must name the function by its module.
    wrong = []
    for page, identifier, _ in _blocks():
        obj = _resolve(identifier)
        if not isinstance(obj, types.ModuleType) and _is_module(identifier):
            wrong.append(f"{page}: ::: {identifier} renders the module, not {obj!r}")
    assert not wrong, wrong


def _documented() -> dict[int, str]:
    """id() of every object the site renders -> the identifier it is rendered under."""
    rendered: dict[int, str] = {}
    for _, identifier, options in _blocks():
        obj = _resolve(identifier)
        rendered[id(obj)] = identifier
        if isinstance(obj, types.ModuleType):
            # A module block renders its public members unless `members:` says otherwise.
            m = re.search(r"^\s*members:\s*(.+)$", options, re.MULTILINE)
            if m is None or m.group(1).strip() == "true":
                names = list(obj.__all__)
            elif m.group(1).strip().startswith("["):
                names = [n.strip() for n in m.group(1).strip(" []").split(",")]
            else:
                names = []
            for name in names:
                rendered.setdefault(id(getattr(obj, name)), f"{identifier}.{name}")
    return rendered


def _public_names() -> list[tuple[str, Any]]:
    """(name, object) of the public API, read as Python reads it (`kpikit.report` the function)."""
    names = []
    for name in kpikit.__all__:
        obj = getattr(kpikit, name)
        if name.startswith("__"):
            continue  # __version__: a string, named on the getting-started page
        if isinstance(obj, types.ModuleType):
            assert name in MODULES or name == "dask", f"kpikit.{name}: a public module this test does not know"
            continue
        names.append((f"kpikit.{name}", obj))
    for module in MODULES:
        names += [(f"kpikit.{module}.{name}", getattr(getattr(kpikit, module), name)) for name in getattr(kpikit, module).__all__]
    return names


def test_the_site_renders_every_public_name() -> None:
    rendered = _documented()
    missing = [name for name, obj in _public_names() if id(obj) not in rendered]
    assert not missing, f"public names without a `::: name` block in docs/*.md: {missing}"


def test_the_check_sees_a_missing_name() -> None:
    # The check itself can fail: a name rendered nowhere is reported.
    rendered = _documented()
    assert id(kpikit.nps) in rendered and id(kpikit.formulas.cagr) in rendered
    assert id(kpikit._analysis.run) not in rendered


def test_every_family_page_has_its_functions() -> None:
    # One page per analysis family, each with the reference of that family's functions.
    by_page: dict[str, set[str]] = {}
    for page, identifier, _ in _blocks():
        by_page.setdefault(page, set()).add(identifier)
    expected = {
        "revenue.md": {"kpikit.mrr", "kpikit.mrr_movements", "kpikit.revenue_metrics", "kpikit.revenue_cohorts"},
        "journey.md": {"kpikit.active_users", "kpikit.stickiness", "kpikit.lifecycle", "kpikit.retention.retention",
                       "kpikit.funnel.funnel", "kpikit.funnel_from_stages", "kpikit.journey.journey"},
        "sales.md": {"kpikit.deal_metrics", "kpikit.quota_attainment", "kpikit.lead_metrics",
                     "kpikit.support_metrics", "kpikit.campaign_metrics", "kpikit.onboarding_time"},
        "survey.md": {"kpikit.nps", "kpikit.csat"},
        "clv.md": {"kpikit.rfm_summary", "kpikit.rfm_split", "kpikit.clv"},
        "kpis.md": {"kpikit.KPI", "kpikit.Scorecard", "kpikit.report.report", "kpikit.catalog.catalog", "kpikit.load_spec"},
        "cluster.md": {"kpikit.dask"},
    }
    for page, identifiers in expected.items():
        assert identifiers <= by_page.get(page, set()), f"{page} lacks {identifiers - by_page.get(page, set())}"


def _slug(heading: str) -> str:
    """The anchor MkDocs gives a heading (Python-Markdown's toc slugify)."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {_slug(m.group(1).replace("`", "")) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", text, re.MULTILINE)}


def test_slugs_are_mkdocs_anchors() -> None:
    assert _slug("Partial state → merge → finish") == "partial-state-merge-finish"
    assert _slug("Sales, marketing and support") == "sales-marketing-and-support"
    assert _slug("Charts (`kpikit.plot`)".replace("`", "")) == "charts-kpikitplot"


@pytest.mark.parametrize("tree", ["python", "src", "tests", "notebooks", "benches", "README.md", "CHANGELOG.md", "docs"])
def test_cited_docs_and_anchors_exist(tree: str) -> None:
    # Comments and docstrings cite docs/*.md by path and anchor; each must be a page of the
    # repository with that heading.
    root = ROOT / tree
    files = [root] if root.is_file() else [p for p in root.rglob("*") if p.suffix in (".py", ".rs", ".md", ".ipynb", ".pyi")]
    broken = []
    for path in files:
        for m in re.finditer(r"docs/([\w-]+\.md)(?:#([\w-]+))?", path.read_text(encoding="utf-8", errors="replace")):
            page = DOCS / m.group(1)
            if not page.is_file() or (m.group(2) and m.group(2) not in _anchors(page)):
                broken.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert not broken, f"citations of missing pages or anchors: {broken}"


def test_make_test_builds_the_site() -> None:
    # The strict build is a step of `make test`, so the site cannot rot unnoticed.
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^test:.*?\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None and re.search(r"\$\(MAKE\)[^\n]*\bdocs\b", recipe.group(1))
    assert re.search(r"mkdocs build --strict", makefile)


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md") if "```python" in p.read_text(encoding="utf-8")))
def test_the_pages_examples_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The site's own examples (the README's are run by test_readme.py, also where the site
    # includes them), in a scratch directory: one writes a report.
    monkeypatch.chdir(tmp_path)
    text = (DOCS / page).read_text(encoding="utf-8")
    for block in re.findall(r"^```python\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        exec(compile(block, page, "exec"), {})
    if page == "getting-started.md":
        assert (tmp_path / "demo-report.html").stat().st_size > 10_000


def _roles_extension() -> Any:
    pytest.importorskip("griffe")
    spec = importlib.util.spec_from_file_location("griffe_roles", DOCS / "griffe_roles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_numpydoc_bits_become_markdown() -> None:
    ext = _roles_extension()
    # A set of values is not read as "the first is the default".
    text = 'freq : {"day", "week"} or None, default "week"\n    Period.'
    assert ext._CHOICES.sub(ext._choices, text) == 'freq : "day" | "week" | None, default "week"\n    Period.'
    # A citation of docs/ becomes a link the strict build checks; a path in code stays as it is.
    assert ext._DOCS_PAGE.sub(r"[docs/\1](\1)", "(docs/conventions.md#mrr), `docs/vocabulary.md`") == (
        "([docs/conventions.md#mrr](conventions.md#mrr)), `docs/vocabulary.md`"
    )
    # An example's comment line is prose; a doctest's comment is code.
    assert ext._no_headings("# 3 / 4 = 0.75\n>>> f()  # no\n# out\n\n## two") == "3 / 4 = 0.75\n>>> f()  # no\n# out\n\ntwo"
    # A doctest outside Examples is fenced, one inside is left to numpydoc.
    fenced = ext._fence_doctests("Text.\n\n>>> [1][:1]\n[1]\n\nExamples\n--------\n>>> 2\n2")
    assert fenced == "Text.\n\n```pycon\n>>> [1][:1]\n[1]\n```\n\nExamples\n--------\n>>> 2\n2"
