"""Scenario files: declarative steps that collect the evidence the checks need.

A scenario is data (TOML under ``scenarios/``), validated here with ``extra="forbid"`` so a typo is an
error, not a silently skipped step. Each step is one action of the step vocabulary
(:mod:`byok_audit.models.steps`); its fields are that action's parameters.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from byok_audit.models.base import Strict
from byok_audit.models.finding import Question, Threat
from byok_audit.models.steps import BadInputKind, FaultKind

UserName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,15}$")]
CanaryName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]


class CreateUser(Strict):
    action: Literal["create_user"]
    user: UserName


class PutKey(Strict):
    action: Literal["put_key"]
    user: UserName
    key: CanaryName
    against: UserName | None = None


class GetKey(Strict):
    action: Literal["get_key"]
    user: UserName
    against: UserName | None = None


class DeleteKey(Strict):
    action: Literal["delete_key"]
    user: UserName
    against: UserName | None = None


class Prompt(Strict):
    """``model``: omitted = the profile's first model; an integer = that index in the profile's
    ``models`` list (scenarios stay target-independent); a string = that exact model name."""

    action: Literal["prompt"]
    user: UserName
    model: Annotated[int, Field(ge=0)] | str | None = None
    max_tokens: Annotated[int, Field(ge=1, le=8192)] = 64
    stream: bool = False
    expect: Literal["ok", "refused"] = "ok"
    against: UserName | None = None


class Idle(Strict):
    action: Literal["idle"]
    seconds: Annotated[float, Field(gt=0, le=600)]


class Fault(Strict):
    action: Literal["fault"]
    kind: FaultKind
    count: Annotated[int, Field(ge=1, le=10)] = 1


class BadInput(Strict):
    action: Literal["bad_input"]
    user: UserName
    kind: BadInputKind


class Snapshot(Strict):
    action: Literal["snapshot"]
    label: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")]


class Tamper(Strict):
    """Flip one bit of the user's stored value, near its ``tail`` (ciphertext or tag) or its ``head``
    (IV, nonce or header: where unauthenticated modes turn a flip into a clean change of the key).
    Each tamper starts again from the value the user's last put stored."""

    action: Literal["tamper"]
    user: UserName
    position: Literal["tail", "head"] = "tail"


class Transplant(Strict):
    action: Literal["transplant"]
    from_user: UserName
    to_user: UserName


class Restart(Strict):
    action: Literal["restart"]


StepSpec = Annotated[
    CreateUser
    | PutKey
    | GetKey
    | DeleteKey
    | Prompt
    | Idle
    | Fault
    | BadInput
    | Snapshot
    | Tamper
    | Transplant
    | Restart,
    Field(discriminator="action"),
]


class Scenario(Strict):
    """One threat-model walk-through: who does what, in which order, and which checks it feeds."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,47}$")]
    title: str
    description: str
    threats: list[Threat] = []
    questions: list[Question] = []
    feeds: list[str] = Field(description="ids of the checks whose evidence this scenario collects")
    steps: Annotated[list[StepSpec], Field(min_length=1)]
