"""GraphiQL in headless Chromium, against `jeto serve --demo`, with no internet: a query and a subscription run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

if not Path(CHROMIUM).exists():
    if os.environ.get("JETO_REQUIRE_BROWSER"):
        raise RuntimeError(f"{CHROMIUM} is missing, and JETO_REQUIRE_BROWSER is set (CI installs Debian's chromium)")
    pytest.skip("Debian's chromium is not installed here (.ci/run installs it)", allow_module_level=True)

from playwright.async_api import async_playwright  # noqa: E402

from tests.conftest import free_port, wait_for_port  # noqa: E402


@pytest.fixture
def demo_server(tmp_path):
    port = free_port()
    env = {**os.environ, "JETO_DATABASE_URL": f"sqlite://{tmp_path / 'demo.sqlite3'}"}
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen([sys.executable, "-m", "jeto.cli", "serve", "--demo", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()


async def test_graphiql_runs_a_query_and_a_subscription_offline(demo_server):
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            outside = []
            page.on("request", lambda r: None if r.url.startswith(demo_server.replace("http", "ws")) or r.url.startswith(demo_server) else outside.append(r.url))
            await page.goto(f"{demo_server}/graphql", wait_until="networkidle")
            await page.click(".graphiql-execute-button")
            await page.wait_for_function(
                "document.querySelector('.graphiql-response')?.innerText.includes('North America')", timeout=20000
            )
            response = await page.inner_text(".graphiql-response")
            assert '"name": "Demo Co"' in response and '"syncState": "COMPLETED"' in response
            await page.screenshot(path=str(ARTIFACTS / "graphiql-query.png"))

            await page.get_by_role("tab", name="Watch").click()
            await page.wait_for_function(
                "document.querySelector('.graphiql-query-editor')?.innerText.includes('subscription Watch')"
            )
            await page.wait_for_timeout(500)  # GraphiQL picks up the tab's operation name just after showing it
            await page.click(".graphiql-execute-button")
            try:
                await page.wait_for_function(
                    "document.querySelector('.graphiql-response')?.innerText.includes('accountSyncStatus')", timeout=20000
                )
            except Exception:
                await page.screenshot(path=str(ARTIFACTS / "graphiql-failure.png"))
                raise
            assert "COMPLETED" in await page.inner_text(".graphiql-response")
            await page.screenshot(path=str(ARTIFACTS / "graphiql-subscription.png"))
            assert outside == []  # every asset came from the server itself
        finally:
            await browser.close()
