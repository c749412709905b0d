"""The wheel alone: python tests/wheel/check_wheel.py DIR (the directory `make test-wheel` filled).

1. DIR holds one wheel and one sdist; auditwheel shows a manylinux tag (glibc <= 2.28) and the
   wheel is abi3; wheel and sdist carry the licence and what they need, and no tests.
2. A fresh virtual environment, made by the same CPython with only /usr/bin:/bin on PATH (no
   Rust toolchain), installs the wheel from the file with its core dependencies from the index
   and runs tests/wheel/test_wheel_smoke.py; then the same file with the `plot` and `polars`
   extras, and the smoke test again (now with the polars quick start and the demo report).
3. Prints the figures: wheel size, extension size, import time.

Extra interpreters (say a newer CPython, to show the abi3 wheel installs there too) can be named
in KPIKIT_WHEEL_PYTHONS (space-separated paths); each gets its own fresh environment.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SMOKE = HERE / "test_wheel_smoke.py"
# What pip needs from the caller's environment to reach the package index (certificates,
# proxies, its own settings); nothing that could lead to a compiler.
PASS_THROUGH = re.compile(r"^(HOME|LANG|LC_ALL|TMPDIR|PIP_\w+|SSL_CERT_\w+|REQUESTS_CA_BUNDLE|(HTTPS?|NO|ALL)_PROXY)$", re.IGNORECASE)
CLEAN_PATH = "/usr/bin:/bin"
RUST_TOOLS = ("cargo", "rustc", "rustup")

results: list[tuple[str, bool]] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    results.append((name, ok))
    print(f"{'ok    ' if ok else 'FAILED'} {name}{'' if ok else ': ' + detail}", flush=True)


def one(directory: Path, pattern: str) -> Path:
    found = sorted(directory.glob(pattern))
    if len(found) != 1:
        sys.exit(f"check_wheel: expected one {pattern} in {directory}, found {[p.name for p in found]}")
    return found[0]


def check_wheel_file(wheel: Path) -> None:
    check("wheel is abi3 for CPython >= 3.11", "-cp311-abi3-" in wheel.name, wheel.name)
    shown = subprocess.run([sys.executable, "-m", "auditwheel", "show", str(wheel)], capture_output=True, text=True)
    text = " ".join(shown.stdout.split())
    tag = re.search(r'consistent with the following platform tag: "(manylinux_(\d+)_(\d+)_\w+)"', text)
    print(f"       auditwheel show: {tag.group(1) if tag else text or shown.stderr.strip()}")
    check("auditwheel: manylinux tag, glibc <= 2.28", tag is not None and (int(tag.group(2)), int(tag.group(3))) <= (2, 28), text)
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = z.read(meta_name).decode()
    for needed in ("kpikit/__init__.py", "kpikit/_kpikit.abi3.so", "kpikit/_kpikit.pyi", "kpikit/py.typed"):
        check(f"wheel contains {needed}", needed in names)
    check("wheel carries LICENSE (PEP 639)", any(n.endswith(".dist-info/licenses/LICENSE") for n in names))
    check("wheel has no tests", not any(n.startswith(("tests/", "notebooks/")) for n in names))
    headers = dict(re.findall(r"^([\w-]+): (.*)$", meta.split("\n\n", 1)[0], flags=re.MULTILINE))
    check("METADATA: License-Expression MIT", headers.get("License-Expression") == "MIT", str(headers.get("License-Expression")))
    check("METADATA: Requires-Python >=3.11", headers.get("Requires-Python") == ">=3.11", str(headers.get("Requires-Python")))
    check("METADATA: no licence classifier beside the expression", "Classifier: License ::" not in meta)


def check_sdist(sdist: Path) -> None:
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    for needed in ("LICENSE", "Cargo.toml", "Cargo.lock", "pyproject.toml", "README.md", "src/lib.rs", "python/kpikit/__init__.py"):
        check(f"sdist contains {needed}", needed in names)
    check("sdist has no tests, notebooks or benchmarks", not any(n.startswith(("tests/", "notebooks/", "benches/")) for n in names))


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if PASS_THROUGH.match(k)}
    env["PATH"] = CLEAN_PATH
    env.update(extra or {})
    return env


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    print(f"       $ {' '.join(cmd)}", flush=True)
    return subprocess.run(cmd, env=env, cwd=cwd, text=True, capture_output=True)


def import_time(python: Path, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall-clock seconds of `python -c "import kpikit"` (median of 5, after a warm-up run, so
    .pyc files exist) and the cumulative import time that `-X importtime` gives kpikit."""
    run([str(python), "-c", "import kpikit"], env, cwd)
    walls = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([str(python), "-c", "import kpikit"], env=env, cwd=cwd, check=True)
        walls.append(time.perf_counter() - started)
    traced = subprocess.run([str(python), "-X", "importtime", "-c", "import kpikit"], env=env, cwd=cwd, text=True, capture_output=True)
    cumulative = [int(m.group(1)) for m in re.finditer(r"\|\s*(\d+) \| kpikit$", traced.stderr, flags=re.MULTILINE)]
    return statistics.median(walls), (cumulative[0] / 1e6 if cumulative else float("nan"))


def fresh_environment(base_python: str, wheel: Path, work: Path, label: str) -> None:
    venv = work / f"venv-{label}"
    env = clean_env()
    made = run([base_python, "-m", "venv", str(venv)], env, work)
    check(f"[{label}] fresh venv from {base_python}", made.returncode == 0, made.stderr)
    if made.returncode:
        return
    python = venv / "bin" / "python"
    path = f"{venv / 'bin'}:{CLEAN_PATH}"
    on_path = {tool: shutil.which(tool, path=path) for tool in RUST_TOOLS}
    check(f"[{label}] no Rust toolchain on PATH ({path})", not any(on_path.values()), str(on_path))
    venv_env = clean_env({"PATH": path, "VIRTUAL_ENV": str(venv), "KPIKIT_EXPECT_NO_RUST": "1"})

    for stage, target in (("core", str(wheel)), ("plot,polars", f"{wheel}[plot,polars]")):
        started = time.perf_counter()
        installed = run([str(python), "-m", "pip", "install", "-q", target], venv_env, work)
        check(f"[{label}] pip install {'the wheel' if stage == 'core' else 'the wheel [plot,polars]'} "
              f"({time.perf_counter() - started:.0f} s)", installed.returncode == 0, installed.stdout + installed.stderr)
        if installed.returncode:
            return
        smoke = run([str(python), str(SMOKE)], venv_env, work)
        print("\n".join("         " + line for line in smoke.stdout.splitlines()))
        check(f"[{label}] smoke test, {stage} install", smoke.returncode == 0, smoke.stderr[-3000:])
        if stage == "core":
            wall, cumulative = import_time(python, venv_env, work)
            print(f"       import kpikit ({label}, core dependencies): {wall:.2f} s wall (python start included), "
                  f"{cumulative:.2f} s by -X importtime")


def main() -> int:
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "target/test-wheel").resolve()
    wheel = one(directory, "kpikit-*.whl")
    sdist = one(directory, "kpikit-*.tar.gz")
    with zipfile.ZipFile(wheel) as z:
        so = next(i for i in z.infolist() if i.filename.endswith(".abi3.so"))
    print(f"wheel: {wheel.name}: {wheel.stat().st_size / 1e6:.1f} MB "
          f"(extension {so.file_size / 1e6:.1f} MB unpacked); sdist {sdist.stat().st_size / 1e6:.2f} MB")
    check_wheel_file(wheel)
    check_sdist(sdist)
    # The interpreter this venv was made from: the same CPython, outside any virtual environment.
    pythons = [getattr(sys, "_base_executable", sys.executable)] + os.environ.get("KPIKIT_WHEEL_PYTHONS", "").split()
    with tempfile.TemporaryDirectory(prefix="kpikit-wheel-") as tmp:
        for base in pythons:
            version = subprocess.run([base, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                     capture_output=True, text=True, env=clean_env()).stdout.strip()
            fresh_environment(base, wheel, Path(tmp), f"python{version}")
    failed = sum(not ok for _, ok in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
