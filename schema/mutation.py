import strawberry

from resolvers import mutations as m


@strawberry.type
class Mutation:
    create_platform_integration = strawberry.mutation(
        resolver=m.create_platform_integration,
        description="Admins only. Over the plan's limit without confirmTrial: nothing is created and "
        "trialConfirmation is set.",
    )
    update_platform_integration = strawberry.mutation(
        resolver=m.update_platform_integration,
        description="Admins only. Edit the name or the access credentials; the connection is tested again.",
    )
    set_default_platform_integration = strawberry.mutation(
        resolver=m.set_default_platform_integration,
        description="Admins only. Exactly one integration of an account is the default at any time.",
    )
    test_platform_integration_connection = strawberry.mutation(
        resolver=m.test_platform_integration_connection,
        description="Admins only. Asks the instance for a token and records the connection status.",
    )
    sync_platform_integration = strawberry.mutation(
        resolver=m.sync_platform_integration,
        description="Admins only. Queues a sync of the integration's folders and programs; a second call while "
        "one is queued or running returns that one.",
    )
    delete_platform_integration = strawberry.mutation(
        resolver=m.delete_platform_integration,
        description="Admins only. Refused with PLATFORM_INTEGRATION_IN_USE while a launcher that is not deleted uses it.",
    )
    create_launcher = strawberry.mutation(resolver=m.create_launcher, description="Admins only.")
    update_launcher = strawberry.mutation(resolver=m.update_launcher, description="Admins only.")
    delete_launcher = strawberry.mutation(
        resolver=m.delete_launcher, description="Admins only. Soft delete: the launcher's campaigns stay readable."
    )
    set_launcher_collaborators = strawberry.mutation(
        resolver=m.set_launcher_collaborators, description="Admins only. Replaces the launcher's collaborators."
    )
    create_campaign = strawberry.mutation(
        resolver=m.create_campaign,
        description="Admins, or collaborators granted the launcher. The program is created in the launcher's instance.",
    )
    update_campaign = strawberry.mutation(
        resolver=m.update_campaign,
        description="Admins, or collaborators granted the campaign's launcher. A new name renames the program too.",
    )
    retry_campaign = strawberry.mutation(
        resolver=m.retry_campaign,
        description="Admins, or collaborators granted the campaign's launcher. Provisions a FAILED campaign's "
        "program again, under its current name.",
    )
