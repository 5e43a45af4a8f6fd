"""The real app in headless Chromium: every page, a short training, the sliders; screenshots go to docs/.

The tests share one server and one browser session and run in file order (Train before Embeddings, the
sweep before Compare, 中文 last). Each page of session.PAGES leaves a screenshot, docs/page-<file name>.png.
Without Chromium they are skipped, unless CL_REQUIRE_BROWSER=1 (CI), where that is a failure.
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_harness import (
    CHROMIUM_ARGS,
    ROOT,
    VIEWPORT,
    chromium_path,
    go_to,
    problems,
    require_browser,
    screenshot,
    streamlit_server,
    wait_idle,
)
from test_i18n import english_words

from ui import i18n, session

pytestmark = pytest.mark.browser
STARTED = time.time()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    sync_playwright = require_browser()
    tmp = tmp_path_factory.mktemp("browser")
    server = streamlit_server(tmp / "runs", tmp / "server.log", CL_DATA_ROOT="data")  # the app never downloads
    with server as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport=VIEWPORT)
        pg.goto(url)
        wait_idle(pg, 120)
        yield pg
        browser.close()


def slider(page, label: str):
    """The thumb of the slider (or select_slider) whose label contains ``label``."""
    return page.locator('[data-testid="stSlider"]').filter(has_text=label).get_by_role("slider")


def lasso(page, plot) -> None:
    """Drag a loop over the left part of a 2-D scatter (its default drag mode is the lasso)."""
    box = plot.locator(".nsewdrag").first.bounding_box()
    x0, x1 = box["x"] + 0.02 * box["width"], box["x"] + 0.6 * box["width"]
    y0, y1 = box["y"] + 0.02 * box["height"], box["y"] + 0.98 * box["height"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    for x, y in ((x1, y0), (x1, y1), (x0, y1), (x0, y0)):
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


def plots(page) -> int:
    return page.locator(".js-plotly-plot").count()


def assert_clean(page) -> None:
    assert problems(page) == []


def test_start_page_explains_and_links_the_main_tasks(page):
    assert "Contrastive Learning Explorer" in page.locator("h1").first.inner_text()
    assert page.get_by_text("Training runs on").count() == 1
    assert page.locator('[data-testid="stPageLink"]').count() >= 4
    assert page.locator('[data-testid="stImage"]').count() >= 1
    assert_clean(page)
    screenshot(page, "start")


def test_data_page_shows_samples_and_redraws_the_augmented_views(page):
    go_to(page, "Data & augmentations")
    assert page.locator('[data-testid="stImage"]').count() >= 10 + 3
    before = page.locator('[data-testid="stImage"] img').last.get_attribute("src")
    page.get_by_role("button", name=re.compile("Re-draw")).click()
    wait_idle(page)
    assert page.locator('[data-testid="stImage"] img').last.get_attribute("src") != before
    assert_clean(page)
    screenshot(page, "data")


def test_a_short_training_from_train_shows_live_charts(page):
    go_to(page, "Train")
    page.locator('[data-testid="stButtonGroup"]').get_by_text("steps", exact=True).click()
    wait_idle(page)
    page.get_by_label("Training steps").fill("40")
    page.get_by_label("Training steps").press("Enter")
    wait_idle(page)
    thumb = slider(page, "Batch size N")
    thumb.focus()
    thumb.press("Home")
    thumb.press("ArrowRight")
    thumb.press("ArrowRight")  # 8 -> 16 -> 32
    wait_idle(page)
    page.get_by_text("Advanced settings").click()
    page.get_by_label("Backbone width", exact=True).fill("8")
    page.get_by_label("Backbone width", exact=True).press("Enter")
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Start training")).click()
    deadline = time.time() + 120
    while plots(page) < 2 and time.time() < deadline:
        time.sleep(0.5)
    assert plots(page) >= 2, "the live loss curve and snapshot charts did not appear"
    page.get_by_text("Final loss").first.wait_for(timeout=120_000)
    wait_idle(page)
    assert plots(page) >= 3 and page.get_by_text("Verdict").count() >= 1
    assert_clean(page)
    page.locator("h3").filter(has_text="simclr").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    screenshot(page, "train")


def test_embeddings_follow_the_snapshot_slider(page):
    go_to(page, "Embeddings", timeout=120)
    assert plots(page) >= 3
    thumb = slider(page, "Training step")
    thumb.focus()
    thumb.press("Home")
    wait_idle(page, 120)
    assert page.get_by_text(re.compile("probe images at step 0")).count() == 1
    thumb.press("End")
    wait_idle(page, 120)
    # UMAP is computed in the background (the first one also compiles); when it is done the chart swaps from PCA,
    # which would drop a lasso
    page.get_by_text("Computing the UMAP layout").wait_for(state="detached", timeout=120_000)
    wait_idle(page, 120)
    assert page.get_by_text(re.compile("UMAP of \\d+ probe images")).count() == 1
    assert_clean(page)
    screenshot(page, "embeddings")
    # a chart first drawn in 3-D (nothing to select there) selects once it is 2-D: the page's link in 3-D, in a
    # second tab (a new session: this one keeps its small training settings for the sweep test)
    other = page.context.browser.new_page(viewport=page.viewport_size)
    other.goto(page.url.split("?")[0] + "?projection=pca&dims=3")
    wait_idle(other, 120)
    other.get_by_text("2-D", exact=True).click()
    wait_idle(other, 60)
    lasso(other, other.locator(".js-plotly-plot").first)
    wait_idle(other, 60)
    assert other.get_by_text(re.compile(r"\d+ selected images")).count() == 1
    other.close()
    lasso(page, page.locator(".js-plotly-plot").first)
    wait_idle(page, 60)
    selected = page.get_by_text(re.compile(r"\d+ selected images"))
    assert selected.count() == 1
    picked = selected.inner_text()
    assert_clean(page)
    # the chart is redrawn in place at another step: the same images stay selected and highlighted, until a
    # double-click
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    chart = page.locator(".cl-in-place-chart").first.element_handle()
    thumb.press("Home")
    wait_idle(page, 120)
    assert page.get_by_text(re.compile("probe images at step 0")).count() == 1 and selected.inner_text() == picked
    assert chart.evaluate("gd => gd.isConnected"), "the chart was replaced, not redrawn"
    marked = chart.evaluate("gd => gd._fullData.map(t => Array.isArray(t.selectedpoints) && t.selectedpoints.length)")
    assert sum(int(n) for n in marked) >= int(picked.split()[0]) and errors == []
    box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    page.mouse.dblclick(box["x"] + 0.95 * box["width"], box["y"] + 0.05 * box["height"])
    wait_idle(page, 60)
    assert selected.count() == 0
    assert_clean(page)


def test_diagnostics_what_if_recomputes_on_the_temperature_slider(page):
    go_to(page, "Diagnostics")
    assert plots(page) >= 5
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="NT-Xent loss")
    before = metric.locator('[data-testid="stMetricValue"]').inner_text()
    thumb = slider(page, "Temperature T")
    thumb.focus()
    thumb.press("Home")  # T = 0.01
    wait_idle(page)
    assert metric.locator('[data-testid="stMetricValue"]').inner_text() != before
    assert_clean(page)
    page.locator("h1").first.scroll_into_view_if_needed()
    screenshot(page, "diagnostics")
    page.get_by_text("What if?").evaluate("e => e.scrollIntoView({block: 'start'})")
    screenshot(page, "what-if")


def test_a_lesson_runs_from_its_button_and_shows_its_verdict(page):
    go_to(page, "Lessons")
    page.locator('[data-testid="stRadio"]').first.locator("label").nth(1).click()  # label 0 is the question
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Commit prediction")).click()  # the class commits first
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Start the runs")).click()
    verdict = page.get_by_text(re.compile(r"^(Held|Did not hold|Could not be checked)")).first
    verdict.wait_for(timeout=300_000)
    wait_idle(page)
    assert plots(page) >= 1
    assert_clean(page)
    screenshot(page, "lessons")


def params(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(page.url).query).items()}


def metric_value(page, label: str) -> str:
    return (
        page.locator('[data-testid="stMetric"]')
        .filter(has_text=label)
        .locator('[data-testid="stMetricValue"]')
        .inner_text()
    )


def test_a_sweep_of_two_temperatures_runs_and_charts_both_values(page):
    go_to(page, "Sweeps")  # the working config is still Train's short one (40 steps)
    values = page.get_by_role("textbox", name="Values, separated by commas")
    values.fill("0.1, 0.5")
    values.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Launch the sweep")).click()
    done = page.get_by_text(re.compile(r"^temperature = 0\.(1|5) · completed$"))
    deadline = time.time() + 240
    while (done.count() < 2 or plots(page) < 1) and time.time() < deadline:
        assert_clean(page)
        time.sleep(1)
    assert done.count() == 2 and plots(page) >= 1, "the sweep's two runs did not complete and chart"
    wait_idle(page)
    assert_clean(page)
    screenshot(page, "sweeps")


def test_compare_opens_with_the_sweeps_two_runs_overlaid(page):
    page.get_by_role("button", name=re.compile("Open these runs in Compare")).click()
    wait_idle(page, 120)
    assert "Compare runs" in page.locator("h1").first.inner_text()
    chosen = page.locator('[data-testid="stMultiSelect"]').inner_text().splitlines()
    assert len([line for line in chosen if " · " in line]) == 2  # run labels: "21:15 SimCLR · digits · completed"
    assert plots(page) >= 3 and len(params(page)["runs"].split(",")) == 2  # the choice is in the link
    assert_clean(page)
    screenshot(page, "compare")


def test_the_playground_loss_follows_its_temperature_slider(page):
    go_to(page, "Loss Playground")
    assert plots(page) >= 2
    before = metric_value(page, "InfoNCE loss")
    screenshot(page, "playground")
    thumb = slider(page, "Temperature T")
    thumb.focus()
    thumb.press("Home")  # T = 0.01
    wait_idle(page)
    assert metric_value(page, "InfoNCE loss") != before
    assert params(page)["T"] == "0.01"
    assert_clean(page)


def test_a_shared_playground_link_opens_the_same_view_in_a_new_session(page):
    page.get_by_text("Show the copied-example bug", exact=False).click()
    page.get_by_text("Copied-bug loss").wait_for()
    wait_idle(page)
    link, shown = page.url, {m: metric_value(page, m) for m in ("InfoNCE loss", "Copied-bug loss")}
    assert params(page) == {"T": "0.01", "bug": "true"}
    other = page.context.browser.new_page(viewport=VIEWPORT)  # a new Streamlit session, as for whoever gets the link
    try:
        other.goto(link)
        other.locator("h1").first.wait_for(timeout=120_000)
        wait_idle(other, 120)
        assert problems(other) == []
        assert slider(other, "Temperature T").get_attribute("aria-valuetext") == "0.01"
        assert {m: metric_value(other, m) for m in shown} == shown
        other.locator(".js-plotly-plot").nth(2).wait_for()  # charts mount after the script has run
        assert plots(other) == 3  # InfoNCE, the copied bug and the margin loss
    finally:
        other.close()


def test_the_loss_doctor_reads_a_typed_loss_and_puts_it_in_the_link(page):
    go_to(page, "Loss doctor")
    alert = page.locator('[data-testid="stAlert"]').first
    assert "ln(2N) = ln 32" in alert.inner_text()  # it opens on the copied example's printed loss
    screenshot(page, "doctor")
    box = page.get_by_label("Loss", exact=True)
    box.fill("3.0")
    box.press("Enter")
    wait_idle(page)
    assert "of the way from chance to the floor" in page.locator('[data-testid="stAlert"]').first.inner_text()
    assert params(page)["doc_loss"] == "3.0"
    assert problems(page) == []


# Streamlit's own words, not the app's: the keyboard skip link, and the language switch names English in English
STREAMLIT_OWN = {"Skip", "to", "main", "content", "English"}


def visible_english(page) -> list[str]:
    """English words left in the page's text (body and sidebar) and in its charts' SVG text, beyond standard names.

    innerText includes plotly's SVG titles, axes and legends once drawn (checked in Chromium); they are read
    separately anyway, after the charts have rendered. Run ids and numbers are not words (english_words).
    """
    if plots(page):
        page.locator(".js-plotly-plot .main-svg").first.wait_for()
        time.sleep(1)  # plotly draws after the script has run
    texts = [page.evaluate("document.body.innerText")]
    texts += page.evaluate("Array.from(document.querySelectorAll('svg text')).map(e => e.textContent)")
    return sorted({w for s in texts for w in english_words(s)} - STREAMLIT_OWN)


def test_in_chinese_no_english_ui_text_is_left_on_the_main_pages(page):
    assert len(visible_english(page)) > 50  # the check sees the page's words: the Playground, still in English
    switch = page.locator('[data-testid="stSidebar"] [data-testid="stButtonGroup"]').first
    switch.get_by_text("中文", exact=True).click()
    wait_idle(page)
    assert params(page).get("lang") == "zh"
    for title in ("Start", "Train", "Loss Playground", "Diagnostics"):
        go_to(page, i18n.translate(title, "zh"), timeout=120)
        assert problems(page) == [], title
        assert re.search(r"[\u4e00-\u9fff]", page.locator("h1").first.inner_text()), title
        assert visible_english(page) == [], title


def test_every_page_left_a_fresh_screenshot():
    stale = [
        name
        for name in (p.removeprefix("app_pages/").removesuffix(".py") for p in session.PAGES)
        if not (ROOT / "docs" / f"page-{name}.png").is_file()
        or (ROOT / "docs" / f"page-{name}.png").stat().st_mtime < STARTED
    ]
    assert stale == [], "each page in session.PAGES needs a screenshot step in this walk"
