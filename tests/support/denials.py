"""The emulator's denial count, and the check that fails a flow on any new denial.

Every flow of the system runs with IAM enforcement on; a denial means a role's policy, a
trust policy or a resource policy lacks what the flow needs, which AWS would refuse on the
first deploy. The count and the last denials come from the emulator's denials endpoint
(`localaws.emulator.DENIALS_PATH`).
"""

from __future__ import annotations

import requests

from localaws.emulator import DENIALS_PATH


def denials(url: str) -> int:
    """How many requests the emulator at ``url`` has denied since it started."""
    return int(requests.get(url + DENIALS_PATH, timeout=10).json().get("denials", 0))


def assert_no_new_denials(url: str, before: int) -> None:
    """Fail, listing each, when the emulator denied anything after it had denied ``before``.

    Raises:
        AssertionError: with principal, action, resource and reason of every new denial.
    """
    record = requests.get(url + DENIALS_PATH, timeout=10).json()
    new = int(record.get("denials", 0)) - before
    if new <= 0:
        return
    lines = [
        f"{d.get('principal')} {d.get('action')} on {d.get('resource')} ({d.get('reason')})"
        for d in (record.get("recent") or [])[-new:]
    ]
    raise AssertionError(
        f"IAM denied {new} requests of this flow; the policies in iam/ or the actor's "
        "credentials are wrong:\n  " + "\n  ".join(lines)
    )
