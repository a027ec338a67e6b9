"""The lists' filters and searches over HTTP: each returns exactly what it names."""

from tests.api import factories
from tests.api.operations import CREATE_CAMPAIGN, CREATE_LAUNCHER

PI_LISTS = """query($pi: ID!, $search: String, $folder: ID) { node(id: $pi) { ... on PlatformIntegration {
  folders(search: $search) { totalCount edges { node { id name } } }
  programs(search: $search, folderId: $folder) { totalCount edges { node { id name folder { id } } } } } } }"""


def names(connection):
    return sorted(edge["node"]["name"] for edge in connection["edges"])


async def test_folders_and_programs_are_searched_and_filtered_by_folder(world):
    _, admin = await world.account(limit=2)
    us = await factories.integration(admin, "US", "111-AAA-111")
    emea = await factories.integration(admin, "EMEA", "222-BBB-222")
    webinars = await factories.folder(us, "Webinars 2025")
    events = await factories.folder(us, "Events")
    await factories.folder(emea, "Webinars EMEA")  # same word, other instance
    await factories.program(us, "Spring webinar", folder_id=webinars)
    await factories.program(us, "Autumn Webinar", folder_id=webinars)
    await factories.program(us, "Trade show", folder_id=events)
    await factories.program(emea, "EMEA webinar")

    everything = (await admin(PI_LISTS, {"pi": us}))["node"]
    assert names(everything["folders"]) == ["Events", "Webinars 2025"] and everything["programs"]["totalCount"] == 3
    searched = (await admin(PI_LISTS, {"pi": us, "search": "WEBINAR"}))["node"]
    assert names(searched["folders"]) == ["Webinars 2025"] and searched["folders"]["totalCount"] == 1
    assert (
        names(searched["programs"]) == ["Autumn Webinar", "Spring webinar"] and searched["programs"]["totalCount"] == 2
    )
    in_events = (await admin(PI_LISTS, {"pi": us, "folder": events}))["node"]["programs"]
    assert names(in_events) == ["Trade show"] and in_events["edges"][0]["node"]["folder"]["id"] == events
    both = (await admin(PI_LISTS, {"pi": us, "folder": webinars, "search": "spring"}))["node"]["programs"]
    assert names(both) == ["Spring webinar"] and both["totalCount"] == 1
    nothing = (await admin(PI_LISTS, {"pi": us, "search": "no such thing"}))["node"]
    assert nothing["folders"] == {"totalCount": 0, "edges": []} and nothing["programs"]["totalCount"] == 0


async def test_launchers_and_campaigns_are_filtered_by_integration_and_launcher(world):
    _, admin = await world.account(limit=2)
    us = await factories.integration(admin, "US", "111-AAA-111")
    emea = await factories.integration(admin, "EMEA", "222-BBB-222")
    launchers = {}
    for name, pi in (("US one", us), ("US two", us), ("EMEA one", emea)):
        data = await admin(CREATE_LAUNCHER, {"input": {"name": name, "platformIntegrationId": pi}})
        launchers[name] = data["createLauncher"]["launcher"]["id"]
    for launcher_name, campaign_names in (("US one", ["A", "B"]), ("US two", ["C"]), ("EMEA one", ["D"])):
        for campaign in campaign_names:
            await admin(CREATE_CAMPAIGN, {"input": {"launcherId": launchers[launcher_name], "name": campaign}})
    query = """query($pi: ID, $launcher: ID) { account {
        launchers(platformIntegrationId: $pi) { totalCount edges { node { name } } }
        campaigns(platformIntegrationId: $pi, launcherId: $launcher) { totalCount edges { node { name } } } } }"""
    every = (await admin(query, {}))["account"]
    assert every["launchers"]["totalCount"] == 3 and every["campaigns"]["totalCount"] == 4
    only_us = (await admin(query, {"pi": us}))["account"]
    assert names(only_us["launchers"]) == ["US one", "US two"] and only_us["launchers"]["totalCount"] == 2
    assert [e["node"]["name"] for e in only_us["campaigns"]["edges"]] == ["C", "B", "A"]  # newest first
    only_emea = (await admin(query, {"pi": emea}))["account"]
    assert names(only_emea["launchers"]) == ["EMEA one"] and names(only_emea["campaigns"]) == ["D"]
    one_launcher = (await admin(query, {"launcher": launchers["US one"]}))["account"]["campaigns"]
    assert [e["node"]["name"] for e in one_launcher["edges"]] == ["B", "A"] and one_launcher["totalCount"] == 2
    # Both filters at once: their intersection, empty when the launcher is not the integration's.
    assert (await admin(query, {"pi": us, "launcher": launchers["US one"]}))["account"]["campaigns"]["totalCount"] == 2
    assert (await admin(query, {"pi": emea, "launcher": launchers["US one"]}))["account"]["campaigns"][
        "totalCount"
    ] == 0
