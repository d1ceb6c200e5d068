"""What each role really needs: the permissions the local stack used, the ones it never used.

The emulator's permission layer records, for every request a role session made and IAM
allowed, which statement allowed it and the first call that needed it; it lists every denial.
This module joins that record with the roles' policies as Terraform renders them
(`playground.roles`), so a statement no flow or test used stands out: it is removed, or its
reason is written next to it in iam/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from localaws.iam.policy import Policy
from mlops_settings import Settings
from playground import roles


@dataclass(frozen=True)
class StatementUse:
    """One statement of a role's policy and the calls it allowed ({action: first call})."""

    policy: str
    sid: str
    calls: dict[str, str]


@dataclass(frozen=True)
class RoleReport:
    """A role's used and never-used statements and its denials."""

    role: str
    used: list[StatementUse] = field(default_factory=list)
    unused: list[StatementUse] = field(default_factory=list)
    denials: list[dict[str, Any]] = field(default_factory=list)


def role_reports(record: dict[str, Any], settings: Settings) -> list[RoleReport]:
    """Per role of this system (the services' and the people's, and any other role denied).

    Args:
        record: the emulator's permission record (``used``: {role: {"policy#sid": {action:
            call}}}, ``recent``: the last denials, each with ``role``).
        settings: names the roles and renders their policies.
    """
    used: dict[str, dict[str, dict[str, str]]] = record.get("used") or {}
    denials = [d for d in record.get("recent") or [] if isinstance(d, dict)]
    reports = []
    known = set()
    for role in roles.all_roles(settings):
        known.add(role.name)
        report = RoleReport(role.name, denials=[d for d in denials if d.get("role") == role.name])
        seen = used.get(role.name, {})
        for policy_name, document in roles.rendered_policies(role, settings).items():
            policy = Policy.parse(f"role/{role.name}:{policy_name}", document)
            for statement in policy.statements:
                calls = seen.get(f"{policy.name}#{statement.sid}", {})
                entry = StatementUse(policy_name, statement.sid, dict(calls))
                (report.used if calls else report.unused).append(entry)
        reports.append(report)
    for name in sorted({str(d.get("role") or "") for d in denials} - known - {""}):
        reports.append(RoleReport(name, denials=[d for d in denials if d.get("role") == name]))
    return reports
