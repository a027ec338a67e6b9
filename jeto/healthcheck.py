"""`jeto healthcheck`: asks the jeto process of this machine or container, API or worker, whether it answers.

A serving process writes the address of its /healthz to JETO_HEALTH_FILE (the Dockerfile sets it), so the
check follows whatever mode and port the process was started with.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

log = logging.getLogger("jeto.healthcheck")

DEFAULT_URL = "http://127.0.0.1:8000/healthz"
TIMEOUT = 4.0


class Unhealthy(Exception):
    """The process does not answer, or not with 200; the message says which, in one line."""


def record(health_file: str | None, base_url: str) -> None:
    """Once serving: JETO_HEALTH_FILE holds this process's /healthz address (written atomically)."""
    if not health_file:
        return
    target = Path(health_file)
    try:
        with tempfile.NamedTemporaryFile("w", dir=target.parent, delete=False, prefix=".jeto-health-") as out:
            out.write(f"{base_url}/healthz\n")
        os.replace(out.name, target)
    except OSError as error:  # a read-only file system costs the health check, not the service
        log.warning("cannot write JETO_HEALTH_FILE %s: %s", health_file, error.strerror)


def forget(health_file: str | None) -> None:
    if health_file:
        with contextlib.suppress(OSError):
            Path(health_file).unlink()


def target_url(health_file: str | None, url: str | None) -> str:
    if url:
        return url
    if health_file:
        try:
            return Path(health_file).read_text().strip()
        except OSError:
            raise Unhealthy(
                f"no jeto process has written its address to {health_file} (JETO_HEALTH_FILE) yet"
            ) from None
    return DEFAULT_URL


def check(health_file: str | None, url: str | None = None) -> str:
    """The address checked, when it answered 200; Unhealthy otherwise."""
    target = target_url(health_file, url)
    try:
        with urllib.request.urlopen(target, timeout=TIMEOUT) as response:  # noqa: S310 - our own probe
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise Unhealthy(f"{target} does not answer ({reason})") from None
    if status != 200:
        raise Unhealthy(f"{target} answered {status}")
    return target
