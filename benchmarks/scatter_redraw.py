"""What one step change of the Embeddings scatter costs in the browser, by way of drawing it (plotly.js alone).

    python benchmarks/scatter_redraw.py        # about 30 s; needs Debian's chromium

The Embeddings page's snapshot slider is over its 300 ms target (benchmarks/README.md, "How fast the app
feels") and nearly all of it is the 2,000-point scatter. This measures, in the same headless Chromium and
with the plotly.js that the plotly package bundles, the ways a page could change the scatter's step:
- ``newPlot``: a fresh chart, what a Streamlit remount does (and it then moves every point a second time);
- ``react``: the mounted chart given the next step's positions (Plotly.react);
- ``animate``: the mounted chart moved to the next step's positions without a redraw (Plotly.animate);
- ``scattergl newPlot``: the same fresh chart drawn with WebGL (software rendering here).
Each is timed from the call to the next frame after it, the median of several steps, side by side.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import plotly
import plotly.io as pio

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser_harness import CHROMIUM_ARGS, VIEWPORT, chromium_path  # noqa: E402

from cl_core import figures_embeddings  # noqa: E402

POINTS, CLASSES, STEPS, REPEATS = 2000, 8, 4, 3

TIME = """async ([mode, specs, repeats]) => {
  const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const div = document.getElementById("chart");
  const out = [];
  const fresh = (k) => JSON.parse(JSON.stringify(specs[k % specs.length]));
  await Plotly.newPlot(div, fresh(0).data, fresh(0).layout);
  await frame();
  for (let i = 1; i <= repeats * specs.length; i++) {
    const f = fresh(i);
    const t0 = performance.now();
    if (mode === "newPlot" || mode === "scattergl newPlot") {
      Plotly.purge(div);
      await Plotly.newPlot(div, f.data, f.layout);
    } else if (mode === "react") {
      await Plotly.react(div, f.data, f.layout);
    } else {
      const moves = {data: f.data.map((t) => ({x: t.x, y: t.y})), traces: f.data.map((_, j) => j)};
      await Plotly.animate(div, moves, {transition: {duration: 0}, frame: {duration: 0, redraw: false}});
    }
    await frame();
    out.push(performance.now() - t0);
  }
  return out;
}"""


def specs(gl: bool) -> list[dict]:
    """One still scatter spec per snapshot step, as the page draws them (lasso on, legend at the right)."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, CLASSES, POINTS)
    centres = rng.normal(size=(CLASSES, 2)) * 3
    out = []
    for step in range(STEPS):
        points = centres[labels] * (step + 1) / STEPS + rng.normal(size=(POINTS, 2))
        fig = figures_embeddings.projection_scatter(
            [points], labels, [f"class {c}" for c in range(CLASSES)], [step], method="PCA"
        )
        fig.frames, fig.layout.sliders, fig.layout.updatemenus = (), (), ()
        fig.update_layout(dragmode="lasso", width=900, height=650, legend={"orientation": "v"})
        spec = json.loads(pio.to_json(fig, validate=False))
        if gl:
            for trace in spec["data"]:
                trace["type"] = "scattergl"
        out.append(spec)
    return out


def main() -> None:
    from playwright.sync_api import sync_playwright

    if not chromium_path():
        sys.exit("needs Chromium: apt-get install -y chromium")
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    page_html = Path(tempfile.mkdtemp(prefix="cl-scatter-")) / "page.html"
    page_html.write_text(f'<body><div id="chart"></div><script src="{plotly_js.as_uri()}"></script></body>')
    version = plotly_js.read_text()[:200].split("plotly.js ")[1].split()[0]  # its header: "plotly.js v4.1.1"
    svg, gl = specs(gl=False), specs(gl=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path(), args=[*CHROMIUM_ARGS, "--allow-file-access-from-files"]
        )
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(page_html.as_uri())
        page.evaluate(TIME, ["newPlot", svg, 1])  # warm up: plotly's first chart builds its caches
        times = {}
        for mode in ("newPlot", "react", "animate", "scattergl newPlot"):
            times[mode] = statistics.median(page.evaluate(TIME, [mode, gl if "gl" in mode else svg, REPEATS]))
        browser.close()
    base = times["newPlot"]
    print(
        f"{POINTS:,} points in {CLASSES} traces, plotly.js {version} (plotly {plotly.__version__}), headless Chromium"
    )
    for mode, ms in times.items():
        print(f"{mode:>18}: {ms:6.0f} ms  ({ms / base:.2f} x newPlot)")


if __name__ == "__main__":
    main()
