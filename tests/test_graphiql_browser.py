"""GraphiQL and the status page in headless Chromium, against `jeto serve --demo`, with no internet.

GraphiQL runs a query, a subscription and a query built in its Explorer; the status page follows a sync run from
GraphiQL's Sync tab. The token reaches the pages only through the printed address's fragment. Every step leaves a
screenshot in artifacts/ (at the top of the checkout, ignored by git), and a failure leaves one more, with the
server's log beside it.
"""

import contextlib
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

if not Path(CHROMIUM).exists():
    if os.environ.get("JETO_REQUIRE_BROWSER"):
        raise RuntimeError(f"{CHROMIUM} is missing, and JETO_REQUIRE_BROWSER is set (CI installs Debian's chromium)")
    pytest.skip("Debian's chromium is not installed here (.ci/run installs it)", allow_module_level=True)

from playwright.async_api import Browser, Page, async_playwright  # noqa: E402

from tests.guide import blocks  # noqa: E402
from tests.jeto_process import running_demo  # noqa: E402

# Debian's Chromium as root in a container, with nothing that reaches for the internet.
LAUNCH_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def demo_for(tmp_path: Path, log_name: str, **options):
    with running_demo(tmp_path, **options) as (demo, base_url, token):
        try:
            yield base_url, token
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(demo.stderr, ARTIFACTS / log_name)


@pytest.fixture
def demo_server(tmp_path):
    with demo_for(tmp_path, "graphiql-serve.log") as served:
        yield served


@contextlib.asynccontextmanager
async def chromium(*flags: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=[*LAUNCH_FLAGS, *flags])
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def offline_page(browser: Browser, base_url: str, prefix: str) -> AsyncIterator[tuple[Page, object]]:
    """A page that may ask its server only, and a `snap(name)` leaving artifacts/{prefix}-{name}.png (and
    {prefix}-failure.png when the test fails)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    outside: list[str] = []
    own = (base_url, base_url.replace("http", "ws", 1))
    page.on("request", lambda r: None if r.url.startswith(own) else outside.append(r.url))

    async def snap(name: str) -> None:
        await page.screenshot(path=str(ARTIFACTS / f"{prefix}-{name}.png"))

    try:
        yield page, snap
        assert outside == []  # every asset came from the server itself
    except BaseException:
        await snap("failure")
        raise


async def run_tab(page: Page, name: str) -> None:
    await page.get_by_role("tab", name=name).click()
    await page.wait_for_timeout(500)  # GraphiQL picks up the tab's operation name just after showing it
    await page.click(".graphiql-execute-button")


# The whole response, from the editor that shows it (which draws only the lines in view).
RESPONSE = "document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? ''"


async def response_contains(page: Page, text: str) -> str:
    await page.wait_for_function(f"text => ({RESPONSE}).includes(text)", arg=text, timeout=20000)
    return await page.evaluate(RESPONSE)


async def test_graphiql_runs_a_query_and_a_subscription_offline(demo_server):
    base_url, token = demo_server
    async with chromium() as browser, offline_page(browser, base_url, "graphiql") as (page, snap):
        await page.goto(f"{base_url}/graphql#token={token}", wait_until="networkidle")
        await snap("opened")
        # The header comes from the address's fragment: the page the server sent holds no token.
        assert token not in await page.evaluate("document.getElementById('jeto-config').textContent")
        tabs = await page.eval_on_selector_all("[role=tab]", "tabs => tabs.map(t => t.innerText.trim())")
        assert tabs == ["Dashboard", "Sync", "Watch"]  # the README's tour follows this order
        await page.click(".graphiql-execute-button")
        response = await response_contains(page, "North America")
        assert '"name": "Demo Co"' in response and '"syncState": "COMPLETED"' in response
        assert '"name": "Spring product webinar"' in response  # the launcher comes with its latest campaigns
        await snap("query")

        await page.get_by_role("tab", name="Watch").click()
        await page.wait_for_function(
            "document.querySelector('.graphiql-query-editor')?.innerText.includes('subscription Watch')"
        )
        await run_tab(page, "Watch")
        assert "COMPLETED" in await response_contains(page, "accountSyncStatus")
        await snap("subscription")


async def test_the_explorer_builds_a_query_from_ticked_fields(demo_server):
    base_url, token = demo_server
    async with chromium() as browser, offline_page(browser, base_url, "explorer") as (page, snap):
        await page.goto(f"{base_url}/graphql#token={token}", wait_until="networkidle")
        await page.click("[aria-label='Add tab']")
        await page.click("[aria-label='Show GraphiQL Explorer']")
        explorer = page.locator(".graphiql-explorer-root")
        await explorer.locator("[data-field-name='viewer']").click()
        await explorer.locator("[data-field-name='email']").first.click()
        await explorer.locator("[data-field-name='role']").first.click()
        await page.wait_for_function(
            "['viewer', 'email', 'role'].every(f => document.querySelector('.graphiql-query-editor')?.innerText"
            ".includes(f))"
        )
        await snap("ticked")
        await page.click(".graphiql-execute-button")
        response = await response_contains(page, "admin@demo.jeto.test")
        assert '"role": "ADMIN"' in response
        await snap("run")


async def test_without_the_fragment_graphiql_has_no_token(demo_server):
    base_url, _ = demo_server
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{base_url}/graphql", wait_until="networkidle")
        await page.click(".graphiql-execute-button")
        await response_contains(page, "UNAUTHENTICATED")
        await page.goto(f"{base_url}/status", wait_until="networkidle")
        line = page.locator("jeto-sync-status .line")
        assert (await line.inner_text()).startswith("Not signed in")


# The states a card of the status page took, in order, as a MutationObserver saw them: none can be missed
# between two looks, however short it lasted.
RECORD_STATES = """card => {
  window.seenStates = [card.dataset.state];
  new MutationObserver(() => {
    const current = document.querySelector('jeto-sync-status').shadowRoot
      .querySelector(`li[data-integration-id="${card.dataset.integrationId}"]`);
    const state = current && current.dataset.state;
    if (state && state !== window.seenStates[window.seenStates.length - 1]) window.seenStates.push(state);
  }).observe(card.parentNode, { subtree: true, childList: true, attributes: true });
}"""


async def test_the_status_page_follows_a_sync_run_from_graphiql(tmp_path):
    """The tour's live step: /status beside GraphiQL, the Sync tab run, the instance seen SYNCING then COMPLETED.
    The simulated Marketo answers each call in 0.3 s here, so the sync lasts a while, as in `make serve`."""
    with demo_for(tmp_path, "status-serve.log", latency=0.3) as (base_url, token):
        async with (
            chromium() as browser,
            offline_page(browser, base_url, "status") as (status, snap),
            offline_page(browser, base_url, "status-graphiql") as (graphiql, _),
        ):
            await status.goto(f"{base_url}/status#token={token}", wait_until="networkidle")
            cards = status.locator("jeto-sync-status li")
            await cards.nth(1).wait_for()
            assert await status.locator("jeto-sync-status .line").inner_text() == "Live"
            for card in await cards.all():  # vendor, name, connection, state, counts, last sync
                assert await card.locator(".vendor").text_content() == "Marketo"
                assert await card.locator(".connection").inner_text() == "Connected"
                assert await card.locator(".label").inner_text() == "Completed"
                assert re.fullmatch(r"\d+ folders · \d+ programs", await card.locator(".counts").inner_text())
                assert (await card.locator(".last").inner_text()).startswith("Last sync: ")
            north_america = cards.filter(has_text="North America")
            assert await north_america.get_attribute("data-state") == "COMPLETED"
            last_sync = await north_america.locator(".last").inner_text()
            await snap("before")
            await north_america.evaluate(RECORD_STATES)

            await graphiql.goto(f"{base_url}/graphql#token={token}", wait_until="networkidle")
            await run_tab(graphiql, "Sync")
            assert '"state": "QUEUED"' in await response_contains(graphiql, "syncRun")

            await status.wait_for_function("window.seenStates.includes('SYNCING')", timeout=20000)
            await snap("syncing")
            assert await north_america.get_attribute("data-busy") == "true"  # the spinner
            await status.wait_for_function("window.seenStates.at(-1) === 'COMPLETED'", timeout=30000)
            await snap("completed")
            seen = await status.evaluate("window.seenStates")
            assert [state for state in seen if state != "QUEUED"] == ["COMPLETED", "SYNCING", "COMPLETED"], seen
            assert await north_america.locator(".last").inner_text() != last_sync


async def test_the_partner_guide_s_embedding_example_shows_the_statuses(demo_server):
    """docs/partners.md's <jeto-sync-status> in a page of the partner's own (on the API's origin, as it says)."""
    base_url, token = demo_server
    (example,) = [block.code for block in blocks("docs/partners.md") if block.language == "html"]
    html = (
        example.replace("ws://127.0.0.1:8000", base_url.replace("http", "ws", 1))
        .replace("http://127.0.0.1:8000", base_url)
        .replace("JETO_TOKEN", token)
    )
    # A page the test serves itself has no address, so Chromium's Local Network Access would treat it as public and
    # keep it from opening a socket to 127.0.0.1; a partner's page served from their server is not in that case.
    async with (
        chromium("--disable-features=LocalNetworkAccessChecks") as browser,
        offline_page(browser, base_url, "embedded") as (page, snap),
    ):
        await page.route(f"{base_url}/partner-page", lambda route: route.fulfill(body=html, content_type="text/html"))
        await page.goto(f"{base_url}/partner-page", wait_until="networkidle")
        await page.locator("jeto-sync-status li").nth(1).wait_for()
        assert await page.locator("jeto-sync-status .line").inner_text() == "Live"
        names = await page.locator("jeto-sync-status .name").all_inner_texts()
        assert sorted(names) == ["EMEA", "North America"]
        await snap("widget")
