"""The command line never ends in a traceback: every failure of ``kpikit report`` exits 2 with
one line per problem, ``kpikit: error: FILE:LINE: key: message``, and nothing else on stderr.

Each case runs ``python -m kpikit report SPEC -o OUT`` in a subprocess, as an analyst would,
on small specs over the demo company's tables (scale 0.02, written to Parquet)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest

import kpikit
from kpikit.__main__ import main

TABLES = ("subscriptions", "leads", "events")
STAGES = '["visited_at", "signed_up_at", "pql_at", "customer_at"]'
SUBSCRIPTIONS = """
[sources.subscriptions]
path = "subscriptions.parquet"
customer = "customer_id"
period = "month"
mrr = "mrr"
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    demo = kpikit.datasets.demo(scale=0.02)
    for name in TABLES:
        getattr(demo, name).to_parquet(d / f"{name}.parquet")
    return d


def _run(spec: Path, out: Path | str, *extra: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(Path(kpikit.__file__).parent.parent),
                                                                  os.environ.get("PYTHONPATH", "")) if p)}
    env.pop("KPIKIT_TRACEBACK", None)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kpikit", "report", str(spec), "-o", str(out), *extra],
                          capture_output=True, text=True, timeout=timeout, env=env)
    return done, time.perf_counter() - began


def _errors(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The error lines, after checking the failure's form: exit 2, no traceback, and every line
    of stderr an error line."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert lines and all(line.startswith("kpikit: error: ") for line in lines), done.stderr
    return lines


def _one_error(done: subprocess.CompletedProcess[str], file: str, line: int, key: str) -> str:
    lines = _errors(done)
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("kpikit: error: ") and f"{file}:{line}: {key}: " in lines[0], lines[0]
    return lines[0]


def test_a_valid_spec_writes_the_report_with_names_as_text(data: Path) -> None:
    # Leads with stages only (the journey view and the funnel read them; nothing asks for
    # `created`), a TOML date-time as as_of, a name with $…$ that matplotlib would read as maths
    # (with an unknown command, which failed the chart) and a name with an ANSI escape sequence.
    spec = data / "ok.toml"
    spec.write_text(f"""title = "Acme"
as_of = 2026-10-31T00:00:00Z
{SUBSCRIPTIONS}
[sources.leads]
path = "leads.parquet"
stages = {STAGES}

[[kpi]]
metric = "mrr"
name = 'Spend ($k) per logo ($k) $\\undefinedcmd$'
target = 1000

[[kpi]]
metric = "signups"
name = "\\u001b[31mSignups\\u001b[0m"
target = 10
""")
    out = data / "ok.html"
    done, _ = _run(spec, out, "-q")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "\x1b" not in done.stdout and "\\x1b[31mSignups\\x1b[0m" in done.stdout
    assert "Spend ($k) per logo ($k) $\\undefinedcmd$" in done.stdout
    page = out.read_text()
    assert "Spend ($k) per logo ($k) $\\undefinedcmd$" in page and "Funnel" in page


def test_spec_problems_are_all_listed_one_line_each(data: Path) -> None:
    # The spec's own name carries an escape sequence: it is shown escaped, never raw.
    spec = data / "bad\x1b[2J.toml"
    text = f"""as_of = "yesterday"
{SUBSCRIPTIONS}
[sources.leads]
path = "leads.parquet"
stages = {STAGES}

[[kpi]]
metric = 5
target = 1

[[kpi]]
metric = ["mrr", "arr"]
target = 1

[[kpi]]
metric = "mrr"
name = 7
target = 1
pace_periods = "x"

[[kpi]]
metric = "mrr"
target = 1
pace_periods = -1
anomaly_periods = 100000000000000000000

[[kpi]]
metric = "leads"
target = 10
"""
    spec.write_text(text)
    lines = _errors(_run(spec, data / "bad.html")[0])
    shown = "bad\\x1b[2J.toml"
    assert all("\x1b" not in line and f"{shown}:" in line for line in lines), lines
    found = [re.match(rf"kpikit: error: .*{re.escape(shown)}:(\d+): ([\w\[\].]+): ", line) for line in lines]
    assert all(found), lines
    where = [(int(m.group(1)), m.group(2)) for m in found if m is not None]
    numbered = text.splitlines()
    expected = [("as_of", "as_of ="), ("kpi[0].metric", "metric = 5"), ("kpi[1].metric", "metric = [\"mrr\""),
                ("kpi[2].name", "name = 7"), ("kpi[2].pace_periods", "pace_periods = \"x\""),
                ("kpi[3].pace_periods", "pace_periods = -1"), ("kpi[3].anomaly_periods", "anomaly_periods ="),
                ("kpi[4].metric", "metric = \"leads\"")]
    assert where == [(1 + next(i for i, t in enumerate(numbered) if t.startswith(start)), key)
                     for key, start in expected]
    assert "'created'" in lines[-1] and "lead_metrics" in lines[-1]  # leads declared with stages only


def _spec(tmp_path: Path, data: Path, kpi: str = "", top: str = "", sources: str = SUBSCRIPTIONS) -> Path:
    spec = tmp_path / "s.toml"
    text = f"{top}\n{sources}\n[[kpi]]\nmetric = \"mrr\"\ntarget = 1000\n{kpi}\n"
    spec.write_text(text.replace('path = "subscriptions.parquet"', f'path = "{data}/subscriptions.parquet"'))
    return spec


def _line(spec: Path, start: str) -> int:
    return 1 + next(i for i, t in enumerate(spec.read_text().splitlines()) if t.startswith(start))


@pytest.mark.parametrize(
    ("top", "kpi", "key", "start", "words"),
    [
        ('as_of = "yesterday"', "", "as_of", "as_of", ["'yesterday'", "2026-10-31"]),
        ("", 'name = 7', "kpi[0].name", "name", ["7"]),
        ("", "pace_periods = \"x\"", "kpi[0].pace_periods", "pace_periods", ["'x'", "2 to 10,000"]),
        ("", f"anomaly_periods = {10**20}", "kpi[0].anomaly_periods", "anomaly_periods", [str(10**20)]),
        # 3,000 nested arrays: tomllib recurses, and the RecursionError is a line, not a traceback.
        ("", "notes = " + "[" * 3000 + "]" * 3000, "notes", "notes", ["nested too deeply"]),
    ],
)
def test_one_problem_one_line(tmp_path: Path, data: Path, top: str, kpi: str, key: str, start: str,
                              words: list[str]) -> None:
    spec = _spec(tmp_path, data, kpi=kpi, top=top)
    line = _one_error(_run(spec, tmp_path / "out.html", "-q")[0], "s.toml", _line(spec, start), key)
    for w in words:
        assert w in line, line


def test_a_kpi_without_a_complete_period_is_no_data_with_its_reason(tmp_path: Path, data: Path) -> None:
    # No month has ended by as_of: the report is written, the KPI shown as no data, saying why.
    spec = _spec(tmp_path, data, top="as_of = 1990-01-01")
    done = _run(spec, tmp_path / "out.html", "-q")[0]
    assert done.returncode == 0, done.stderr
    line = next(t for t in done.stdout.splitlines() if t.startswith("  mrr"))
    assert line.split()[1:5] == ["–", "no", "data", "target"] and line.endswith("no data (no complete month by 1 Jan 1990)")


def test_a_fifo_source_is_refused_not_read(tmp_path: Path, data: Path) -> None:
    fifo = tmp_path / "events.parquet"
    os.mkfifo(fifo)
    sources = SUBSCRIPTIONS + f'\n[sources.events]\npath = "{fifo}"\nuser = "user_id"\ntime = "time"\n'
    spec = _spec(tmp_path, data, sources=sources)
    done, _ = _run(spec, tmp_path / "out.html", timeout=30)  # reading it would wait forever
    line = _one_error(done, "s.toml", _line(spec, f'path = "{fifo}"'), "sources.events.path")
    assert "FIFO" in line and "regular files" in line


def test_errors_do_not_print_lines_of_files_outside_the_spec(tmp_path: Path, data: Path) -> None:
    # Two CSV sources that are links to another file: one whose rows do not parse, one whose
    # header is not the columns asked for. The messages say which source and what is wrong,
    # without quoting the file.
    secret = tmp_path / "secret.txt"
    secret.write_text("alpha,beta\nSECRET-ROW,2,3\n")
    header = tmp_path / "header.txt"
    header.write_text("SECRET-HEADER:x:0:0\n1\n")
    (tmp_path / "events.csv").symlink_to(secret)
    (tmp_path / "responses.csv").symlink_to(header)
    sources = (SUBSCRIPTIONS + f'\n[sources.events]\npath = "{tmp_path}/events.csv"\nuser = "alpha"\ntime = "beta"\n'
               f'\n[sources.responses]\npath = "{tmp_path}/responses.csv"\nscore = "score"\ntime = "time"\n')
    spec = _spec(tmp_path, data, sources=sources)
    lines = _errors(_run(spec, tmp_path / "out.html")[0])
    assert "SECRET" not in "".join(lines)
    assert len(lines) == 3, lines
    assert "sources.events.path: cannot read" in lines[0] and "Expected 2 columns, got 3" in lines[0]
    assert "sources.responses.score: responses.csv has no column 'score'" in lines[1]
    assert "sources.responses.time" in lines[2]


@pytest.fixture(scope="module")
def startup(data: Path) -> float:
    """How long the interpreter takes to start and import kpikit, to judge "fails fast"."""
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import kpikit.__main__"], check=True, timeout=60,
                   env={**os.environ, "PYTHONPATH": str(Path(kpikit.__file__).parent.parent)})
    return time.perf_counter() - began


@pytest.mark.parametrize(
    ("output", "words"),
    [
        (lambda d: d / "missing" / "out.html", "does not exist"),
        (lambda d: d, "is a directory"),
        (lambda d: d / "pipe.html", "not a regular file"),
    ],
)
def test_the_output_is_checked_before_anything_is_computed(tmp_path: Path, data: Path, startup: float,
                                                           output: Callable[[Path], Path], words: str) -> None:
    os.mkfifo(tmp_path / "pipe.html")
    # The spec is wrong too: the -o problem is the only one reported, so it came first.
    spec = _spec(tmp_path, data, kpi="name = 7")
    out = output(tmp_path)
    done, took = _run(spec, out)
    lines = _errors(done)
    assert len(lines) == 1 and f"{out}: -o: " in lines[0] and words in lines[0], lines
    assert took < startup + 2.0, (took, startup)
    assert not (tmp_path / "missing").exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_one_line(tmp_path: Path, data: Path) -> None:
    spec = _spec(tmp_path, data)
    line = _errors(_run(spec, "/dev/full", "-q")[0])
    assert len(line) == 1 and "/dev/full: -o: cannot write the report: No space left on device" in line[0]


def test_an_unexpected_exception_is_one_line(tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    # The last guard: a bug anywhere below the command line still answers with one line.
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("kpikit.spec.load_spec", broken)
    monkeypatch.delenv("KPIKIT_TRACEBACK", raising=False)
    spec = _spec(tmp_path, data)
    assert main(["report", str(spec), "-o", str(tmp_path / "out.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"kpikit: error: {spec}: internal error (RuntimeError: boom second line)")
    assert not (tmp_path / "out.html").exists()  # the output check's empty file is removed


def test_kpi_names_are_drawn_as_text() -> None:
    import io

    import pandas as pd

    history = pd.DataFrame({"period": pd.date_range("2026-01-01", periods=3, freq="MS"), "m": [1.0, 2.0, 3.0]})
    judged = kpikit.KPI("m", target=2.0, direction="increase").evaluate(history)
    ax = kpikit.plot.kpi_trend(judged, "Spend ($k) per logo ($k) $\\undefinedcmd$ \x1b[31m")
    ax.figure.savefig(io.BytesIO(), format="png")  # mathtext would fail on the unknown command
    title = ax.title
    assert title.get_text() == r"Spend (\$k) per logo (\$k) \$\undefinedcmd\$ \x1b[31m — on track"
    # Drawn without maths: the text has no math part once its escapes are read.
    assert not title._preprocess_math(title.get_text())[1]
