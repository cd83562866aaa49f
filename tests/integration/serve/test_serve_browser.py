"""The web UI in a real headless browser: Debian's chromium driven by Playwright, screenshots saved.

Screenshots go to ``$DISCOVERLY_SCREENSHOTS`` (default: ``build/screenshots`` in the project).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from serve_it_helpers import ROOT, TOKEN, Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def chromium() -> str:
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install 'discoverly[dev]')")
    if not Path(CHROMIUM).exists():
        import subprocess

        subprocess.run(["bash", str(ROOT / "scripts" / "services.sh"), "chromium"], capture_output=True, timeout=900)
    if not Path(shutil.which("chromium") or CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing and scripts/services.sh could not install it")
        pytest.skip("chromium is not installed (scripts/services.sh chromium installs Debian's package)")
    return shutil.which("chromium") or CHROMIUM


def test_pages_in_a_real_browser(chromium: str, server: Callable[..., Server], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("DISCOVERLY_SCREENSHOTS", ROOT / "build" / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "serve.json"
    config.write_text('{"artifacts": "unused", "experiments": [{"name": "home-page", "arms": ['
                      '{"name": "item-to-item", "version": "v0001", "share": 0.5},'
                      '{"name": "bestsellers", "version": "v0002", "share": 0.5}]}]}')
    s = server(extra=["--config", str(config)])
    with httpx.Client(base_url=s.url, timeout=10) as c:
        item = c.get("/users/x/recommendations", params={"k": 1}).json()["items"][0]["item"]
        # a few customers see recommendations and buy some of what they saw
        for n in range(60):
            body = c.get(f"/users/b{n}/recommendations", params={"k": 6}).json()
            if n % 3 == 0:
                c.post("/events", json={"user": f"b{n}", "item": body["items"][0]["item"], "type": "purchase",
                                        "timestamp": int(time.time()), "value": 12.5,
                                        "idempotency_key": uuid.uuid4().hex})
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        console: list[str] = []  # a Content-Security-Policy violation is reported here
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        page.goto(f"{s.url}/ui")
        assert page.title().startswith("discoverly")
        page.screenshot(path=str(shots / "home.png"), full_page=True)
        page.fill("input[name=item]", str(item))
        page.click("text=Related items")
        page.wait_for_url(f"**/ui/items/{item}")
        assert "Customers who bought this also bought" in page.content()
        assert page.locator("table tbody tr").count() >= 5
        page.screenshot(path=str(shots / "item.png"), full_page=True)
        page.locator("table tbody tr a").first.click()  # follow a related item
        assert "/ui/items/" in page.url
        page.goto(f"{s.url}/ui")
        page.fill("input[name=user]", "b0")
        page.click("text=History and recommendations")
        page.wait_for_url("**/ui/users/b0")
        assert "Recommended" in page.content() and "stored event" in page.content()
        page.screenshot(path=str(shots / "customer.png"), full_page=True)
        page.goto(f"{s.url}/ui/experiments/home-page")
        assert page.locator("svg.chart").count() == 3
        assert "Sample ratio check" in page.content()
        page.screenshot(path=str(shots / "experiment.png"), full_page=True)
        page.goto(f"{s.url}/ui/items/definitely-not-an-item")
        assert "Unknown item" in page.content()
        # a phone: no page is wider than the screen (wide tables scroll inside, charts scale down)
        phone = browser.new_page(viewport={"width": 390, "height": 800})
        phone.on("request", lambda r: requested.append(r.url))
        for path in ("/ui", f"/ui/items/{item}", "/ui/users/b0", "/ui/experiments/home-page",
                     "/ui/users/5f4dcc3b5aa765d61d8327deb882cf99a1b2c3d4"):  # a hashed id: one long word
            phone.goto(f"{s.url}{path}")
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path
        phone.screenshot(path=str(shots / "experiment-phone.png"), full_page=True)
        browser.close()
    assert not [m for m in console if "Content Security Policy" in m], console  # the style sheet still applies
    assert all(u.startswith(s.url) for u in requested), [u for u in requested if not u.startswith(s.url)]
    assert not any(u.endswith("/favicon.ico") for u in requested)
    for name in ("home", "item", "customer", "experiment"):
        assert (shots / f"{name}.png").stat().st_size > 5_000
    assert TOKEN
