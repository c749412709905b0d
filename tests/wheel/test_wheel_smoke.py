"""What a user who ran `pip install kpikit` gets: run against an installed wheel, never the checkout.

Runs under pytest (the release workflow, on every platform it builds) or as a plain script in an
environment without pytest (tests/wheel/check_wheel.py, in a fresh virtual environment without
Rust). Everything it reads comes from the installed package: the README's quick start is taken
from the wheel's own metadata (the README is the package's long description).

With only the core dependencies installed, the checks that need an extra check the other side:
the polars example is skipped, and the report must fail with the message naming `kpikit[plot]`.
KPIKIT_EXPECT_NO_RUST=1 also asserts that no Rust toolchain is on PATH.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import kpikit

HAS_POLARS = importlib.util.find_spec("polars") is not None
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The `kpikit` console script the wheel installed, not `python -m` (both must work)."""
    name = "kpikit.exe" if os.name == "nt" else "kpikit"
    script = Path(sysconfig.get_path("scripts")) / name
    assert script.is_file(), f"the wheel installed no console script at {script}"
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=600)


def _quick_start_blocks() -> list[str]:
    description = importlib.metadata.metadata("kpikit").get_payload()  # type: ignore[attr-defined]
    assert isinstance(description, str) and description, "the wheel's metadata has no long description"
    section = re.search(r"^## Quick start\n(.*?)(?=^## )", description, flags=re.DOTALL | re.MULTILINE)
    assert section is not None, "the README (long description) has no '## Quick start' section"
    blocks = re.findall(r"```python\n(.*?)```", section.group(1), flags=re.DOTALL)
    assert blocks, "the quick start has no Python example"
    return blocks


def test_imported_from_the_installed_wheel() -> None:
    package = Path(kpikit.__file__).resolve().parent
    site = {Path(sysconfig.get_path(k)).resolve() for k in ("purelib", "platlib")}
    assert package.parent in site, f"kpikit was imported from {package}, not from site-packages {site}"
    extension = [p.name for p in package.iterdir() if p.name.startswith("_kpikit.")]
    assert any(n.endswith((".abi3.so", ".pyd")) for n in extension), extension
    assert (package / "py.typed").is_file()


def test_metadata() -> None:
    meta = importlib.metadata.metadata("kpikit")
    assert meta["Version"] == kpikit.__version__
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    files = importlib.metadata.files("kpikit") or []
    licence = [f for f in files if f.name == "LICENSE"]
    assert licence and "MIT License" in licence[0].read_text()


def test_no_rust_toolchain() -> None:
    if os.environ.get("KPIKIT_EXPECT_NO_RUST") != "1":
        return
    found = {tool: shutil.which(tool) for tool in ("cargo", "rustc", "rustup")}
    assert not any(found.values()), f"a Rust toolchain is on PATH: {found}"


def test_version() -> None:
    expected = f"kpikit {kpikit.__version__}"
    assert _cli("--version").stdout.strip() == expected
    by_module = subprocess.run([sys.executable, "-m", "kpikit", "--version"], capture_output=True, text=True)
    assert by_module.stdout.strip() == expected


def test_help_lists_the_commands() -> None:
    result = _cli("--help")
    assert result.returncode == 0
    commands = re.search(r"\{([a-z,]+)\}", result.stdout)
    assert commands is not None, result.stdout
    assert {"demo", "report"} <= set(commands.group(1).split(","))


def test_readme_quick_start() -> None:
    ran = 0
    for code in _quick_start_blocks():
        if "import polars" in code and not HAS_POLARS:
            continue
        exec(compile(code, "README.md (quick start)", "exec"), {})
        ran += 1
    assert ran >= 1


def test_report_demo() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo report.html"
        result = _cli("report", "--demo", "-q", "-o", str(out))
        if not HAS_MATPLOTLIB:
            assert result.returncode == 2, result
            assert "pip install 'kpikit[plot]'" in result.stderr, result.stderr
            assert not out.exists()
            return
        assert result.returncode == 0, result.stderr
        page = out.read_text(encoding="utf-8")
        assert page.startswith(("<!DOCTYPE html>", "<html")), page[:80]
        assert "Demo company" in page
        assert "data:image/png;base64," in page  # the charts are embedded, so it opens offline
        assert "report written to" in result.stdout


if __name__ == "__main__":
    failed = 0
    tests = [f for name, f in sorted(globals().items()) if name.startswith("test_") and callable(f)]
    for test in tests:
        try:
            test()
        except Exception as e:  # noqa: BLE001 - a script runner: report every failure, then exit 1
            failed += 1
            print(f"FAILED {test.__name__}: {type(e).__name__}: {e}")
        else:
            print(f"ok     {test.__name__}")
    print(f"{len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
