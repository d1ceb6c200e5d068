"""The people of docs/aws.md, locally: each CLI command signs as the person who runs it.

docs/aws.md has three people: who deploys (administrator rights), who reviews feedback
(`playground feedback review`) and who approves or rejects model versions (`playground models
...`). Locally each is a role of `playground.roles` (the reviewer's and the approver's with the
least-privilege policies of iam/, which Terraform gives the same roles in AWS); a command
assumes its person's role with the emulator's dummy key (the account's root, as a person
signed in to the account assumes a role) and makes its AWS clients with that session, so the
emulator decides each call as IAM would decide that person's.

Who: the setting ``person`` (``PLAYGROUND_PERSON``) when given, else the person the runbook
has run the command (`acting_as`'s ``default``). ``root`` signs with the dummy key itself (for
debugging). In AWS (target ``aws``) your own credentials sign, as before.
"""

from __future__ import annotations

import contextlib
import contextvars
import getpass
from collections.abc import Iterator
from typing import Any

import boto3

from mlops_settings import Settings
from playground import roles

ROOT = "root"
_session: contextvars.ContextVar[Any] = contextvars.ContextVar("person_session", default=None)


class PersonError(RuntimeError):
    """The person's role cannot be assumed; the message says why and what to do."""


def who(settings: Settings, default: str) -> str:
    """The person a command acts as: the ``person`` setting, else the runbook's ``default``."""
    return settings.person or default


def assume(settings: Settings, person: str) -> boto3.session.Session:
    """A boto3 session of ``person``'s role in the emulator (``deployer``, ``reviewer``, ...).

    Raises:
        KeyError: no such person.
        PersonError: the emulator does not have the role (a stack started before the
            people had roles: `playground local stop`, then `start`).
        botocore.exceptions.EndpointConnectionError: the emulator does not answer.
    """
    role = roles.person_role(settings, person)
    endpoint = settings.endpoint_url or settings.emulator_url
    root = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the emulator's documented dummy
        region_name=settings.region,
    )
    iam = root.client("iam", endpoint_url=endpoint)
    try:
        iam.get_role(RoleName=role.name)
    except iam.exceptions.NoSuchEntityException:
        raise PersonError(
            f"the emulator has no role {role.name} for the {person}: restart it so that it "
            "creates the roles (`playground local stop`, then `playground local start`)"
        ) from None
    sts = root.client("sts", endpoint_url=endpoint)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{roles.LOCAL_ACCOUNT}:role/{role.name}",
        RoleSessionName=f"{person}-{getpass.getuser()}"[:64],
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=settings.region,
    )


@contextlib.contextmanager
def acting_as(settings: Settings, default: str) -> Iterator[str]:
    """Within the block, `client` signs as the person (see the module's docstring).

    Yields the person's name (``root`` when nobody's role is assumed).

    Raises:
        PersonError: as `assume`.
    """
    person = who(settings, default)
    if settings.target != "local" or person == ROOT:
        yield person if settings.target == "local" else "you"
        return
    token = _session.set(assume(settings, person))
    try:
        yield person
    finally:
        _session.reset(token)


def client(service: str, settings: Settings) -> Any:
    """A boto3 client of the target, signed as the person of the enclosing `acting_as`.

    Outside any `acting_as`: the default credentials (the dummy key locally).
    """
    session = _session.get()
    if session is None:
        return boto3.client(service, region_name=settings.region)  # type: ignore[call-overload]
    return session.client(service, endpoint_url=settings.aws_environment().get("AWS_ENDPOINT_URL"))
