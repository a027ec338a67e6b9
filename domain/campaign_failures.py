"""What a user reads when a campaign's Marketo program could not be made or renamed: what happened, what to do."""

from __future__ import annotations

NO_TEMPLATE = "The launcher has no template program: choose one in the launcher, then retry the campaign."
NO_DESTINATION = "The launcher has no destination folder: choose one in the launcher, then retry the campaign."
INTERNAL_ERROR = "Jeto could not finish this because of an internal error: retry the campaign."


def name_taken(name: str, integration: str) -> str:
    return (
        f'A program named "{name}" already exists in {integration} (a name is used once in a Marketo instance): '
        "rename the campaign, then retry it."
    )


def marketo_refused(integration: str, detail: str) -> str:
    return f"Marketo ({integration}) refused: {detail}"


def clone_refused(
    code: str,
    marketo_message: str,
    *,
    name: str,
    integration: str,
    detail: str,
    template_exists: bool,
    name_in_use: bool | None,
) -> str:
    """Marketo's answer to the clone of the launcher's template, in words that say what to change.

    The code alone does not tell: Marketo may answer the clone of a deleted template with 709, the code of a
    name in use. So the caller asks Marketo whether the template still exists and whether a program holds
    the name (None when it cannot ask: Marketo cannot search names containing commas).
    """
    if not template_exists:
        return (
            f"The launcher's template program no longer exists in {integration}: "
            "choose another template in the launcher, then retry the campaign."
        )
    if code == "709" and name_in_use is not False:
        # Unsure of the name: Marketo's own words go with ours, and say if it is something else.
        said = "" if name_in_use else f' Marketo said: "{marketo_message}".'
        return f"{name_taken(name, integration)}{said}"
    if code == "710":
        return (
            f"The launcher's destination folder no longer exists in {integration}: "
            "choose another folder in the launcher, then retry the campaign."
        )
    return marketo_refused(integration, detail)


def rename_refused(code: str, *, name: str, integration: str, detail: str) -> str:
    """Why a rename did not happen (completed by `rename_failed`)."""
    if code == "709":
        return f'a program named "{name}" already exists in {integration}'
    return marketo_refused(integration, detail)


def rename_failed(*, wanted: str, kept: str, why: str) -> str:
    return (
        f'The Marketo program could not be renamed to "{wanted}": {why}. '
        f'The campaign keeps the name "{kept}"; rename it again to choose another name.'
    )


def program_gone(name: str, integration: str) -> str:
    return (
        f'The Marketo program "{name}" of this campaign no longer exists in {integration}: '
        "retry the campaign to create a new one."
    )
