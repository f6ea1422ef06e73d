"""The HTML report, opened in headless Chromium with the network off: the pictures really render.

Debian's chromium package (installed by .ci/run) is driven with its own
``--dump-dom`` and ``--screenshot``; every request outside the file is sent to
a closed port, so anything the report needed from a network would be missing.
The test fails, never skips, when the browser is missing.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import pytest

from schemashift import api

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-extensions",
    "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("Chromium is missing: install Debian's chromium package (.ci/run does)", pytrace=False)


def run_browser(tmp_path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=180,
    )


@pytest.mark.parametrize("backend", ["sqlite"])
def test_report_renders_offline_in_chromium(school, tmp_path):
    from PIL import Image

    school.manual_revision(
        "create students",
        "op.create_table('students', sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.String(100)))",
        "op.drop_table('students')", rev_id="aa01",
    )
    school.manual_revision(
        "rename to scholars", "op.rename_table('students', 'scholars')", "op.rename_table('scholars', 'students')",
        rev_id="bb02",
    )
    school.cli("upgrade", "head", "--allow-destructive")
    with school.engine().begin() as conn:
        conn.exec_driver_sql("INSERT INTO scholars (id, name) VALUES (1, 'Ada Lovelace')")
    out = tmp_path / "report.html"
    result = api.report(school.project(), out)
    assert result.revisions == 2 and result.tables == 1
    assert result.findings >= 1

    dom = run_browser(tmp_path, "--dump-dom", out.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert 'data-ready="1"' in html, "the report's script did not run"
    graph = re.search(r'<svg[^>]*class="revision-graph".*?</svg>', html, re.S)
    diagram = re.search(r'<svg[^>]*class="schema-diagram".*?</svg>', html, re.S)
    assert graph and diagram
    graph_text = " ".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", graph.group(0)))
    assert "aa01" in graph_text and "bb02" in graph_text
    assert "scholars (renamed from students)" in diagram.group(0)
    row = re.search(r'<tr class="revision" id="rev-bb02">.*?</tr>', html, re.S)
    assert row and "SS-B301" in row.group(0), "lint's rename finding is shown on its revision"

    shot = tmp_path / "report.png"
    png = run_browser(tmp_path, "--window-size=1200,900", f"--screenshot={shot}", out.as_uri())
    assert png.returncode == 0 and shot.exists(), png.stderr[-2000:]
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    colours = image.getcolors(maxcolors=1_000_000) or []
    not_white = sum(count for count, rgb in colours if rgb != (255, 255, 255))
    assert len(colours) > 20 and not_white > 0.01 * image.width * image.height, "the screenshot is blank"
    assert school.rows("scholars", "id, name") == [(1, "Ada Lovelace")]
