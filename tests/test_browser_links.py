"""Links in Chromium: a link restores the settings it names; a presentation link shows the page alone.

Each test opens its link in a new browser tab: a new Streamlit session, as for someone the link was sent to.
Without Chromium they are skipped, unless CL_REQUIRE_BROWSER=1 (CI), where that is a failure.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from browser_harness import (
    CHROMIUM_ARGS,
    VIEWPORT,
    chromium_path,
    go_to,
    problems,
    require_browser,
    streamlit_server,
    wait_idle,
)
from conftest import tiny_config

from cl_core.methods import METHODS

pytestmark = pytest.mark.browser
WIDGETS = "Button ButtonGroup Checkbox NumberInput Selectbox MultiSelect Slider TextInput Radio FileUploader Popover"
CONTROLS = '[data-testid="stMain"] :is(' + ", ".join(f'[data-testid="st{w}"]' for w in WIDGETS.split()) + ")"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app's URL, the id of one finished tiny run in its runs folder, and a Chromium browser."""
    sync_playwright = require_browser()
    from cl_core.trainer import train

    tmp = tmp_path_factory.mktemp("browser_links")
    cfg = tiny_config()
    cfg.train.threads = 1
    run_id = "20260101-000000-simclr-shared"
    train(cfg, tmp / "runs" / run_id)
    with streamlit_server(tmp / "runs", tmp / "server.log", CL_UMAP_WARMUP="0") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield url, run_id, browser
        browser.close()


def open_link(browser, link: str):
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(link)
    page.locator("h1").first.wait_for(timeout=120_000)  # the page script has started (a busy machine is slow)
    wait_idle(page, 120)
    return page


def params(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(page.url).query).items()}


def test_a_shared_train_link_restores_its_settings_and_follows_the_widgets(app):
    url, run_id, browser = app
    page = open_link(browser, f"{url}/train?method=byol&lr=0.01&steps=300&predictor=false&hue=9")
    assert problems(page) == []
    assert page.get_by_text("The link's hue was ignored").count() == 1  # the bad value, with its range
    assert page.get_by_text("must be ≥ 0 and ≤ 0.5").count() == 1  # (markdown writes >= as ≥)
    from playwright.sync_api import expect  # retries: a widget may draw once more after the page went idle

    expect(page.get_by_role("combobox", name="Method", exact=True)).to_have_value(METHODS["byol"].TITLE, timeout=30_000)
    expect(page.get_by_label("Training steps", exact=True)).to_have_value("300", timeout=30_000)
    assert page.get_by_label("Predictor", exact=True).is_checked() is False
    lr = page.locator('[data-testid="stSlider"]').filter(has_text="Learning rate").get_by_role("slider")
    assert lr.get_attribute("aria-valuetext") == "0.01"
    assert params(page) == {"method": "byol", "lr": "0.01", "steps": "300", "predictor": "false", "run": run_id}

    page.get_by_text("Predictor", exact=True).click()  # back to BYOL's default: it leaves the address
    wait_idle(page)
    assert "predictor" not in params(page) and params(page)["steps"] == "300"

    page.get_by_role("button", name="Share this view").click()  # the copy box shows the address as it is now
    box = page.frame_locator('[data-testid="stIFrame"]').first.locator("input")
    box.wait_for()
    assert box.input_value() == page.url

    go_to(page, "Embeddings")  # the session keeps the settings; the address holds the new page's own
    assert params(page) == {"run": run_id}
    go_to(page, "Train")
    assert page.get_by_label("Training steps", exact=True).input_value() == "300"
    page.close()


def test_a_presentation_link_hides_the_sidebar_and_every_control_not_listed(app):
    url, run_id, browser = app
    page = open_link(browser, f"{url}/diagnostics?run={run_id}&present=1&show=whatif_t&whatif_t=0.5")
    assert problems(page) == []
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert not page.locator('[data-testid="stToolbar"]').is_visible()
    sliders = page.locator('[data-testid="stSlider"]')
    assert sliders.count() == 1 and "Temperature T" in sliders.inner_text()
    assert sliders.get_by_role("slider").get_attribute("aria-valuetext") == "0.5"
    visible = [c for c in page.locator(CONTROLS).all() if c.is_visible()]
    assert len(visible) == 1, [c.evaluate("e => e.outerHTML.slice(0, 120)") for c in visible]
    body = page.locator('[data-testid="stMarkdownContainer"] p').first
    assert float(body.evaluate("e => getComputedStyle(e).fontSize").removesuffix("px")) >= 19  # 16 normally
    assert params(page) == {"run": run_id, "present": "1", "show": "whatif_t", "whatif_t": "0.5"}
    page.close()
