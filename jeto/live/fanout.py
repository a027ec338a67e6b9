"""Subscribers that ask the same thing share one execution per change, and the same serialized result.

A group is keyed by what decides a subscription's results: its document, operation name and variables, and
what its viewer may see (resolvers/nodes.visibility: an admin sees the whole account, so every admin of an
account shares; a collaborator sees what the launchers granted to them show, so a collaborator's tabs share
for as long as their grants stay the same, and one opened after a change of grants starts its own). The group runs the operation
once, through Strawberry's `Schema.stream` with every extension (limits, coded errors, metrics), in one task;
each result is serialized once, and each member's outbox gets it wrapped in its own operation id.

The first results of a subscription are the current state. The group keeps its latest result per subject
(an integration, a campaign: the resolver names it, resolvers/context.Subject), and a member who joins a
running group is sent those first, then what follows: the group was following the bus before, so nothing
committed since is missed, and nothing older is sent after something newer. A collaborator joining is sent
only the subjects they still see (their grants may have changed since the group read them).

A group ends with its operation (a deleted integration's `syncStatus`, an error) or with its last member.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from jeto.live.outbox import Outbox
from jeto.live.protocols import Protocol, encoded_result
from jeto.observability import ACTIVE_SUBSCRIPTIONS, SUBSCRIPTION_GROUPS, SUBSCRIPTION_MESSAGES, SUBSCRIPTION_RESULTS
from resolvers.context import Context, Subject
from resolvers.errors import INTERNAL_SERVER_ERROR
from resolvers.nodes import visibility, visible_subjects

log = logging.getLogger("jeto.live")

SUBSCRIPTIONS_ONLY = (OperationType.SUBSCRIPTION,)


@dataclass(frozen=True)
class Operation:
    """What a client asked to run."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


class Member:
    """One subscription of one socket."""

    __slots__ = ("id", "protocol", "outbox", "group", "stopped", "_ended", "_held")

    def __init__(self, id: str, protocol: Protocol, outbox: Outbox, ended: Callable[[Member], None]) -> None:
        self.id = id
        self.protocol = protocol
        self.outbox = outbox
        self.group: Group | None = None  # once it joined one
        self.stopped = False  # by its socket, maybe before it joined
        self._ended = ended  # the socket forgets the operation
        self._held: list[tuple[str, Any]] | None = None  # results held while a joining collaborator is checked

    def result(self, payload: str, message: str, subject: Any) -> None:
        if self._held is not None:
            self._held.append((payload, subject))
        else:
            self.outbox.put(message, (self.id, subject) if subject is not None else None)

    def leave(self) -> None:
        """Its socket stopped it."""
        self.stopped = True
        if self.group is not None:
            self.group.leave(self)

    def end(self, final_message: str | None) -> None:
        if final_message is not None:
            self.outbox.put(final_message)
        self._ended(self)


def _key(operation: Operation, visible: tuple[Any, ...]) -> tuple[Any, ...]:
    variables = json.dumps(operation.variables or {}, sort_keys=True, separators=(",", ":"))
    return (operation.query, operation.operation_name, variables, visible)


class Group:
    def __init__(self, fanout: Fanout, key: tuple[Any, ...], operation: Operation, context: Context) -> None:
        self._fanout = fanout
        self.key = key
        self._operation = operation
        self._context = context
        self._account_wide = context.viewer.is_admin
        self.members: dict[Member, None] = {}
        self._latest: dict[Subject, str] = {}  # the payload of the latest result about each subject
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def join(self, member: Member, context: Context) -> None:
        """Sends the member the group's current state, then what follows."""
        if member.stopped:
            self._fanout.forget_if_unused(self)
            return
        self._admit(member)
        if self._account_wide or not self._latest:
            for subject, payload in self._latest.items():
                member.result(payload, member.protocol.result_message(member.id, payload), subject)
            return
        member._held = []  # what the group sends while the collaborator's grants are read again
        latest = dict(self._latest)
        try:
            visible = await visible_subjects(context, list(latest))
        finally:
            held, member._held = member._held, None
        if member not in self.members:
            return  # the group ended meanwhile, or the member left
        for subject in visible:
            if subject in self._latest:  # not gone meanwhile
                member.result(latest[subject], member.protocol.result_message(member.id, latest[subject]), subject)
        for payload, subject in held:
            member.result(payload, member.protocol.result_message(member.id, payload), subject)

    def leave(self, member: Member) -> None:
        if member in self.members:
            self._remove(member)
            if not self.members:
                self._fanout.forget(self)
                self.stop()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _admit(self, member: Member) -> None:
        self.members[member] = None
        member.group = self
        ACTIVE_SUBSCRIPTIONS.inc()

    def _remove(self, member: Member) -> None:
        del self.members[member]
        member.group = None
        ACTIVE_SUBSCRIPTIONS.dec()

    async def _run(self) -> None:
        errors: Sequence[Mapping[str, Any]] | None = None  # the operation ended in errors rather than completing
        try:
            stream = await self._fanout.schema.stream(
                self._operation.query,
                variable_values=self._operation.variables,
                context_value=self._context,
                operation_name=self._operation.operation_name,
                allowed_operation_types=SUBSCRIPTIONS_ONLY,
            )
            async with aclosing(stream):
                first = True
                async for result in stream:
                    if first and isinstance(result, PreExecutionError):
                        errors = [error.formatted for error in result.errors or []]
                        break
                    first = False
                    self._deliver(result)
        except asyncio.CancelledError:
            raise  # its last member left
        except Exception as error:  # ours, not the operation's: Strawberry turns those into results
            log.exception("a shared subscription failed", exc_info=error)
            errors = [GraphQLError("Internal server error.", extensions={"code": INTERNAL_SERVER_ERROR}).formatted]
        finally:
            self._fanout.forget(self)
            for member in list(self.members):
                self._remove(member)
                protocol = member.protocol
                member.end(
                    protocol.error_message(member.id, errors) if errors else protocol.complete_message(member.id)
                )

    def _deliver(self, result: ExecutionResult) -> None:
        SUBSCRIPTION_RESULTS.inc()
        SUBSCRIPTION_MESSAGES.inc(len(self.members))
        payload = encoded_result(result)
        said, self._context.subject = self._context.subject, None
        subject = None
        if said is not None:
            subject = Subject(said.kind, said.pk)
            if result.errors:
                pass  # an error is no state to send newcomers
            elif said.gone:
                self._latest.pop(subject, None)
            else:
                self._latest[subject] = payload
        messages: dict[tuple[Protocol, str], str] = {}  # most members share a protocol and an id ("1")
        for member in self.members:
            message = messages.get((member.protocol, member.id))
            if message is None:
                message = messages[(member.protocol, member.id)] = member.protocol.result_message(member.id, payload)
            member.result(payload, message, subject)


class Fanout:
    """The process's groups of subscribers."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self._groups: dict[tuple[Any, ...], Group] = {}

    @property
    def groups(self) -> int:
        return len(self._groups)

    async def subscribe(self, member: Member, operation: Operation, context: Context) -> Group:
        """Joins the member to the group of its kind, started if none runs."""
        key = _key(operation, await visibility(context))
        group = self._groups.get(key)
        if group is None:
            shared = Context(services=context.services, viewer_or_none=context.viewer)
            group = self._groups[key] = Group(self, key, operation, shared)
            SUBSCRIPTION_GROUPS.inc()
            group.start()
        await group.join(member, context)
        return group

    def forget_if_unused(self, group: Group) -> None:
        """A group started for a member that left before joining it."""
        if not group.members:
            self.forget(group)
            group.stop()

    def forget(self, group: Group) -> None:
        if self._groups.get(group.key) is group:
            del self._groups[group.key]
            SUBSCRIPTION_GROUPS.dec()
