import strawberry

from resolvers import subscriptions as s


@strawberry.type
class Subscription:
    sync_status = strawberry.subscription(
        resolver=s.sync_status, description="The integration's current status at once, then every change, in order."
    )
    account_sync_status = strawberry.subscription(
        resolver=s.account_sync_status,
        description="The current status of every integration of the viewer's account at once, then every change "
        "of any of them.",
    )
    campaign = strawberry.subscription(
        resolver=s.campaign, description="The campaign as it is at once, then every change of its status."
    )
