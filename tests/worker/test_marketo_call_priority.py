"""A sync's Marketo calls are bulk; those of the jobs a user waits for go before them."""

import contextlib

import pytest

from domain.models import Campaign, CampaignStatus
from marketo.limits import InstanceLimiter, Priority
from tests.api import factories
from tests.api.operations import SYNC_PI
from tests.worker.test_campaigns import simulator, submit, two_instances  # noqa: F401  (fixture)


@pytest.fixture
def priorities(monkeypatch):
    """The priority of every Marketo REST call the worker makes, in order."""
    seen: list[Priority] = []
    real_slot = InstanceLimiter.slot

    @contextlib.asynccontextmanager
    async def recording_slot(self, priority=Priority.INTERACTIVE):
        seen.append(priority)
        async with real_slot(self, priority):
            yield

    monkeypatch.setattr(InstanceLimiter, "slot", recording_slot)
    return seen


async def test_syncs_call_marketo_as_bulk_and_campaigns_as_interactive(world, simulator, priorities):  # noqa: F811
    admin, launcher, _, pis = await two_instances(world, simulator)
    priorities.clear()
    await admin(SYNC_PI, {"id": pis["EMEA"][0]})
    await world.worker().run_until_idle()
    assert priorities and set(priorities) == {Priority.BULK}

    priorities.clear()
    campaign = await submit(admin, launcher, "Urgent")
    await world.worker().run_until_idle()
    assert (await Campaign.get(id=factories.pk(campaign))).status is CampaignStatus.READY
    assert priorities and set(priorities) == {Priority.INTERACTIVE}
