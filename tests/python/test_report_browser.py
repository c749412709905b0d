"""The demo report in a real browser (Debian's Chromium, headless): at 1400, 800 and 390 px wide
nothing overflows the page sideways, no journey stage overflows its box, and every section and
chart is there and loaded. Screenshots of each width go to target/report-screenshots/ (test
artifacts, not part of the repository)."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import kpikit
import kpikit._render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "target" / "report-screenshots"
WIDTHS = [1400, 800, 390]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make system-packages installs it)")

# Run in the page once it has loaded: the layout measurements the test asserts on, written into
# the DOM, which --dump-dom prints.
_PROBE = """<script>
window.addEventListener('load', () => {
  const width = window.innerWidth;
  const images = [...document.querySelectorAll('img.chart')];
  const wide = [...document.querySelectorAll('body *')].filter(e => {
    if (e.closest('.scroll')) return false;
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > width + 1;
  }).map(e => e.tagName + '.' + e.className + '#' + (e.id || ''));
  const card = document.querySelector('#scorecard .scroll');
  const cardFits = card.scrollWidth <= card.clientWidth + 1;
  const stages = [...document.querySelectorAll('.stage')].filter(s => s.scrollWidth > s.clientWidth + 1)
    .map(s => s.textContent.slice(0, 30));
  const out = {width: width, scrollWidth: document.documentElement.scrollWidth,
    sections: [...document.querySelectorAll('section')].map(s => s.id),
    images: images.map(i => ({alt: i.alt, loaded: i.complete && i.naturalWidth > 0,
                              right: i.getBoundingClientRect().right, shown: i.getBoundingClientRect().width})),
    wide: wide.slice(0, 10), stages: stages, cardFits: cardFits};
  // The report runs in an iframe of the width under test: the result goes to the page around it.
  const top = window.parent.document;
  const pre = top.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  top.body.appendChild(pre);
});
</script>"""


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--no-first-run", "--disable-extensions", *args], capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, kpikit.Report]:
    import matplotlib

    matplotlib.use("Agg")
    sources = kpikit.Sources.demo(scale=0.3)
    report = kpikit.report(sources, title="Demo company — KPI report", as_of=sources.data_end(), currency="USD")
    path = tmp_path_factory.mktemp("browser") / "report.html"
    path.write_text(report.html, encoding="utf-8")
    return path, report


def _framed(path: Path, report: kpikit.Report, width: int, height: int, probe: bool) -> Path:
    """A page holding the report in an iframe ``width`` px wide: headless Chromium's window is
    at least 500 px wide, an iframe is as narrow as asked (a 390 px phone), media queries
    included. ``srcdoc`` keeps the frame in the page's origin, so the probe can report to it."""
    document = report.html.replace("</body>", _PROBE + "</body>") if probe else report.html
    framed = path.with_name(f"framed-{width}{'-probe' * probe}.html")
    framed.write_text(f"<!DOCTYPE html><html><body style='margin:0'><iframe width='{width}' height='{height}' "
                      f"style='border:0;display:block' srcdoc=\"{html.escape(document, quote=True)}\"></iframe>"
                      "</body></html>", encoding="utf-8")
    return framed


@pytest.mark.parametrize("width", WIDTHS)
def test_the_report_fits_the_screen_with_every_section_and_chart(page: tuple[Path, kpikit.Report], width: int) -> None:
    path, report = page
    framed = _framed(path, report, width, 1200, probe=True)
    done = _chromium(f"--window-size={max(width, 500)},1200", "--virtual-time-budget=10000", "--dump-dom", framed.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, flags=re.S)
    assert found is not None, done.stderr[-2000:]
    probe = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    assert probe["width"] == width
    # No horizontal overflow: the page is as wide as the window, and no element sticks out of
    # it (wide tables scroll inside their own box).
    assert probe["scrollWidth"] <= width, probe["wide"]
    assert probe["wide"] == [] and probe["stages"] == []
    # The scorecard itself fits, without scrolling, at every width (a phone shows fewer columns).
    assert probe["cardFits"]
    # Every section, in order, and every chart loaded, inside the window, with an alt text
    # saying what it shows (not "chart").
    assert probe["sections"] == report.sections
    charts = probe["images"]
    assert len(charts) == sum(s in report.sections for s in ("kpi_trends", "mrr_movements", "funnel", "retention",
                                                             "active_users"))
    for chart in charts:
        assert chart["loaded"] and chart["right"] <= width + 1 and chart["shown"] > 0.5 * min(width, 1000) - 60
        assert len(chart["alt"]) > 40 and chart["alt"] != "chart"
    # A screenshot of the whole page at this width, kept as a test artifact.
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"report-{width}px.png"
    height = 7000 if width < 600 else 5200
    _chromium(f"--window-size={max(width, 500)},{height}", f"--screenshot={shot}",
              _framed(path, report, width, height, probe=False).as_uri())
    assert shot.exists() and shot.stat().st_size > 10_000


def test_alt_texts_state_the_latest_values(page: tuple[Path, kpikit.Report]) -> None:
    _, report = page
    alts = {}
    for chunk in report.html.split("<section id='")[1:]:
        name, body = chunk.split("'", 1)
        found = re.search(r'<img class="chart" alt="([^"]*)"', body.split("</section>", 1)[0])
        if found:
            alts[name] = html.unescape(found.group(1))
    rows = report.scorecard.to_frame().set_index("kpi")
    churn = rows.loc["Customer churn"]
    assert f"Customer churn: {kpikit._render.format_value(churn.value, churn.unit)} in {churn.period_label}" in alts["kpi_trends"]
    assert "In Oct 2026: ending MRR $" in alts["mrr_movements"]
    assert "reach the last stage" in alts["funnel"] and "one month later" in alts["retention"]
    assert "On 31 Oct 2026:" in alts["active_users"]


def test_print_css_breaks_pages_per_section(page: tuple[Path, kpikit.Report]) -> None:
    path, report = page
    assert "@page{size:A4" in report.html and "section{break-before:page}" in report.html
    pdf = path.with_suffix(".pdf")
    _chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", path.as_uri())
    pages = pdf.read_bytes().count(b"/Type /Page\n") + len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    # One page at least per section after the first two (which share the first page).
    assert pages >= len(report.sections) - 1
