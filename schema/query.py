import strawberry

from resolvers import queries
from schema import nodes


@strawberry.type
class Query:
    viewer: nodes.User = strawberry.field(resolver=queries.viewer, description="The signed-in user.")
    account: nodes.Account = strawberry.field(resolver=queries.account, description="The signed-in user's account.")
    node: nodes.Node | None = strawberry.field(
        resolver=queries.node,
        description="Any object of the viewer's account by global id; null if absent or not visible to the viewer.",
    )
