"""GraphiQL in headless Chromium, against `jeto serve --demo`, with no internet: a query and a subscription run.

The token reaches the page only through the printed address's fragment; every step leaves a screenshot in
artifacts/, and a failure leaves one more, with the server's log beside it.
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

if not Path(CHROMIUM).exists():
    if os.environ.get("JETO_REQUIRE_BROWSER"):
        raise RuntimeError(f"{CHROMIUM} is missing, and JETO_REQUIRE_BROWSER is set (CI installs Debian's chromium)")
    pytest.skip("Debian's chromium is not installed here (.ci/run installs it)", allow_module_level=True)

from playwright.async_api import async_playwright  # noqa: E402

from tests.jeto_process import running_demo  # noqa: E402


@pytest.fixture
def demo_server(tmp_path):
    with running_demo(tmp_path) as (demo, base_url, token):
        try:
            yield base_url, token
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(demo.stderr, ARTIFACTS / "graphiql-serve.log")


async def test_graphiql_runs_a_query_and_a_subscription_offline(demo_server):
    base_url, token = demo_server
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = await browser.new_page(viewport={"width": 1400, "height": 900})

        async def snap(name: str) -> None:
            await page.screenshot(path=str(ARTIFACTS / f"graphiql-{name}.png"))

        try:
            outside = []
            page.on(
                "request",
                lambda r: (
                    None
                    if r.url.startswith(base_url.replace("http", "ws")) or r.url.startswith(base_url)
                    else outside.append(r.url)
                ),
            )
            await page.goto(f"{base_url}/graphql#token={token}", wait_until="networkidle")
            await snap("opened")
            # The header comes from the address's fragment: the page the server sent holds no token.
            assert token not in await page.evaluate("document.getElementById('jeto-config').textContent")
            await page.click(".graphiql-execute-button")
            await page.wait_for_function(
                "document.querySelector('.graphiql-response')?.innerText.includes('North America')", timeout=20000
            )
            response = await page.inner_text(".graphiql-response")
            assert '"name": "Demo Co"' in response and '"syncState": "COMPLETED"' in response
            await snap("query")

            await page.get_by_role("tab", name="Watch").click()
            await page.wait_for_function(
                "document.querySelector('.graphiql-query-editor')?.innerText.includes('subscription Watch')"
            )
            await page.wait_for_timeout(500)  # GraphiQL picks up the tab's operation name just after showing it
            await page.click(".graphiql-execute-button")
            await page.wait_for_function(
                "document.querySelector('.graphiql-response')?.innerText.includes('accountSyncStatus')", timeout=20000
            )
            assert "COMPLETED" in await page.inner_text(".graphiql-response")
            await snap("subscription")
            assert outside == []  # every asset came from the server itself
        except BaseException:
            await snap("failure")
            raise
        finally:
            await browser.close()


async def test_without_the_fragment_graphiql_has_no_token(demo_server):
    base_url, _ = demo_server
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = await browser.new_page()
            await page.goto(f"{base_url}/graphql", wait_until="networkidle")
            await page.click(".graphiql-execute-button")
            await page.wait_for_function(
                "document.querySelector('.graphiql-response')?.innerText.includes('UNAUTHENTICATED')", timeout=20000
            )
        finally:
            await browser.close()
