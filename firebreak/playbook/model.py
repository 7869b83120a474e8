"""The playbook language as pydantic models: the top level, steps, and every action's arguments.

Each action has an arguments model (`with:`) listing its fields with descriptions and a `outputs`
table naming what later steps may read as `steps.<id>.<output>`. Steps are a discriminated union on
`uses`, so a typo in an argument is reported against the right action.

Role names (`audience: comms`) are checked against the playbook's `roles:` when the loader passes
them as validation context (`{"roles": {...}}`); without context they are only checked for shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    StringConstraints,
    Tag,
    ValidationInfo,
    create_model,
    model_validator,
)

from firebreak.detection.spec import Trigger
from firebreak.expressions import (
    Duration,
    Expression,
    Value,
    compile_condition,
    compile_value,
)

IDENTIFIER_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
ROLE_PATTERN = r"^[a-z][a-z0-9_-]*$"
EXPRESSION_PATTERN = r"^\s*\$\{\{.*\}\}\s*$"
# What `on_failure` may say besides the id of a handler step.
ON_FAILURE_POLICIES = ("fail", "stop", "continue")

Identifier = Annotated[
    str,
    StringConstraints(pattern=IDENTIFIER_PATTERN),
    Field(description="Letters, digits and _, starting with a letter (readable as steps.<id>)."),
]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
ExpressionText = Annotated[
    str,
    StringConstraints(pattern=EXPRESSION_PATTERN),
    Field(description="An expression written as ${{ ... }}."),
]


def _declared_role(value: str, info: ValidationInfo) -> str:
    roles = (info.context or {}).get("roles") if isinstance(info.context, dict) else None
    if roles is not None and value not in roles:
        declared = ", ".join(sorted(roles)) or "none declared"
        raise ValueError(f"role {value!r} is not declared in `roles:` (declared: {declared})")
    return value


RoleName = Annotated[
    str,
    StringConstraints(pattern=ROLE_PATTERN),
    AfterValidator(_declared_role),
    Field(description="A role declared in the playbook's `roles:`, bound to people in config."),
]


def _as_list(value: Any) -> Any:
    """`on_timeout: page_execs` reads as well as `on_timeout: [page_execs]`."""
    return [value] if isinstance(value, str) else value


StepList = Annotated[list[Identifier], BeforeValidator(_as_list)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# ------------------------------------------------------------------------------- action arguments


class ActionArgs(_Strict):
    """Base of every action's `with:` model; `outputs` documents what the step returns."""

    outputs: ClassVar[dict[str, str]] = {}


def _one_of_text_or_template(model: Any, *fields: str) -> None:
    if not any(getattr(model, field) for field in fields):
        raise ValueError(f"give {' or '.join(f'`{f}`' for f in fields)}")


class SlackCreateChannel(ActionArgs):
    """Create the war-room channel and invite roles' members."""

    outputs: ClassVar[dict[str, str]] = {
        "channel": "the channel id",
        "channel_name": "the channel name as created",
    }
    name: str = Field(
        description="Channel name; may use ${{ }}, e.g. crisis-${{ incident.number }}"
    )
    topic: str | None = Field(default=None, description="Channel topic")
    invite: list[RoleName] = Field(default_factory=list, description="Roles whose members join")


class SlackPost(ActionArgs):
    """Post a message to a channel."""

    outputs: ClassVar[dict[str, str]] = {"channel": "channel id posted to", "ts": "message ts"}
    channel: str = Field(
        description="A role (its channel), a channel id, or an expression such as "
        "${{ steps.war_room.channel }}"
    )
    text: str | None = Field(default=None, description="Message text (may use ${{ }})")
    template: str | None = Field(
        default=None, description="Template file under playbooks/templates/"
    )
    blocks: list[dict[str, Any]] | None = Field(default=None, description="Slack Block Kit blocks")

    @model_validator(mode="after")
    def _has_content(self) -> SlackPost:
        _one_of_text_or_template(self, "text", "template", "blocks")
        return self


class SlackInvite(ActionArgs):
    """Invite roles' members into a channel."""

    outputs: ClassVar[dict[str, str]] = {"invited": "the user ids invited"}
    channel: str = Field(description="Channel id or expression")
    audience: list[RoleName] = Field(min_length=1, description="Roles whose members are invited")


class PagerDutyTrigger(ActionArgs):
    """Page a role through PagerDuty (its routing key)."""

    outputs: ClassVar[dict[str, str]] = {"dedup_key": "the PagerDuty incident's dedup key"}
    summary: str = Field(description="What the page says (may use ${{ }})")
    severity: Literal["critical", "error", "warning", "info"] | ExpressionText = Field(
        default="critical", description="PagerDuty severity"
    )
    audience: RoleName = Field(description="Role whose routing key is paged")
    details: dict[str, Any] = Field(default_factory=dict, description="Custom details")


class PagerDutyAcknowledge(ActionArgs):
    """Acknowledge a PagerDuty incident."""

    outputs: ClassVar[dict[str, str]] = {"dedup_key": "the dedup key acknowledged"}
    dedup_key: str | None = Field(
        default=None, description="Dedup key; this Firebreak incident's page when absent"
    )


class PagerDutyResolve(PagerDutyAcknowledge):
    """Resolve a PagerDuty incident."""

    outputs: ClassVar[dict[str, str]] = {"dedup_key": "the dedup key resolved"}


class JiraCreateEpic(ActionArgs):
    """Create the incident's Jira epic."""

    outputs: ClassVar[dict[str, str]] = {"key": "issue key, e.g. CRISIS-12", "url": "browse URL"}
    summary: str = Field(description="Epic summary (may use ${{ }})")
    description: str | None = Field(default=None, description="Epic description")
    labels: list[str] = Field(default_factory=list, description="Labels")


class JiraTask(_Strict):
    """One task of `jira.create_tasks`."""

    summary: str = Field(description="Task summary")
    description: str | None = Field(default=None, description="Task description")
    assignee: RoleName | None = Field(default=None, description="Role whose Jira user owns it")
    due: Duration | None = Field(
        default=None, description="Due this long after the incident opened"
    )


class JiraCreateTasks(ActionArgs):
    """Create follow-up tasks under an epic."""

    outputs: ClassVar[dict[str, str]] = {"keys": "the created issue keys, in order"}
    epic: str = Field(description="Epic key, usually ${{ steps.<epic step>.key }}")
    tasks: list[JiraTask] = Field(min_length=1, description="Tasks to create")


class JiraComment(ActionArgs):
    """Comment on a Jira issue."""

    outputs: ClassVar[dict[str, str]] = {}
    issue: str = Field(description="Issue key or expression")
    body: str = Field(description="Comment text (may use ${{ }})")


class JiraTransition(ActionArgs):
    """Move a Jira issue to another status."""

    outputs: ClassVar[dict[str, str]] = {}
    issue: str = Field(description="Issue key or expression")
    to: str = Field(description="Target status or transition name, e.g. Done")


class StatementDraft(ActionArgs):
    """Draft a statement from a template; it goes public only after an approval."""

    outputs: ClassVar[dict[str, str]] = {"text": "the drafted text", "template": "template used"}
    template: str = Field(description="Template file under playbooks/templates/")
    audience: Literal["public", "internal"] = Field(default="public", description="Who reads it")


class ApprovalRequest(ActionArgs):
    """Ask approvers to approve; a timeout never counts as approval (fails closed)."""

    outputs: ClassVar[dict[str, str]] = {
        "outcome": "approved | rejected | timeout",
        "by": "who decided (empty on timeout)",
        "comment": "the approver's comment",
    }
    subject: str = Field(description="What is approved: text or ${{ steps.<draft>.text }}")
    approvers: RoleName = Field(description="Role whose members may decide")
    timeout: Duration = Field(description="How long to wait before the on_timeout branch")
    min_approvals: int = Field(default=1, ge=1, description="Approvals needed")


class Escalation(_Strict):
    """One rung of an `ack.wait` escalation ladder."""

    after: Duration = Field(description="Time unacknowledged before this rung fires")
    notify: RoleName = Field(description="Role notified")
    via: Literal["pagerduty", "slack"] = Field(default="pagerduty", description="Channel used")


class AckWait(ActionArgs):
    """Wait for a role to acknowledge within an SLA, escalating along the ladder meanwhile."""

    outputs: ClassVar[dict[str, str]] = {
        "acknowledged_by": "who acknowledged (empty on timeout)",
        "escalations": "the rungs that fired",
        "outcome": "acknowledged | timeout",
    }
    audience: RoleName = Field(description="Role expected to acknowledge")
    sla: Duration = Field(description="Time allowed before the on_timeout branch")
    escalate: list[Escalation] = Field(default_factory=list, description="Escalation ladder")
    message: str | None = Field(default=None, description="What is to be acknowledged")


class ContactCentrePublishScript(ActionArgs):
    """Publish the contact-centre script, always matching the latest approved statement."""

    outputs: ClassVar[dict[str, str]] = {"text": "the script", "version": "script version"}
    template: str = Field(description="Template file under playbooks/templates/")
    tone: list[Literal["apologise", "admit", "explain", "recompense"]] = Field(
        min_length=1, description="Tone of the script"
    )
    statement: str | None = Field(
        default=None, description="Statement text; the latest approved statement when absent"
    )


class IncidentSetSeverity(ActionArgs):
    """Raise or lower the incident's severity."""

    outputs: ClassVar[dict[str, str]] = {"severity": "the severity now"}
    severity: Literal["sev1", "sev2", "sev3", "sev4"] | ExpressionText = Field(
        description="sev1 (gravest) .. sev4"
    )


class IncidentResolve(ActionArgs):
    """Resolve the incident."""

    outputs: ClassVar[dict[str, str]] = {}
    reason: str = Field(description="Why it is resolved (on the timeline)")


class FollowupSchedule(ActionArgs):
    """Chase Jira issues until they are done."""

    outputs: ClassVar[dict[str, str]] = {"scheduled": "issue keys being chased"}
    issues: ExpressionText | list[str] = Field(
        description="Issue keys or an expression, e.g. ${{ steps.tasks.keys }}"
    )
    every: Duration = Field(description="Chase interval")
    until_done: bool = Field(default=True, description="Stop once every issue is done")


class Wait(ActionArgs):
    """Pause for a duration or until a time (exactly one)."""

    outputs: ClassVar[dict[str, str]] = {}
    for_: Duration | None = Field(default=None, alias="for", description="How long to wait")
    until: str | None = Field(default=None, description="ISO time or expression giving one")

    @model_validator(mode="after")
    def _exactly_one(self) -> Wait:
        if (self.for_ is None) == (self.until is None):
            raise ValueError("give exactly one of `for` and `until`")
        return self


class Notify(ActionArgs):
    """Tell an audience, by Slack or PagerDuty (auto: PagerDuty for sev1, else Slack)."""

    outputs: ClassVar[dict[str, str]] = {"via": "slack or pagerduty, as used"}
    audience: RoleName = Field(description="Role told")
    text: str | None = Field(default=None, description="Message text (may use ${{ }})")
    template: str | None = Field(default=None, description="Template under playbooks/templates/")
    via: Literal["slack", "pagerduty", "auto"] = Field(default="auto", description="Channel")

    @model_validator(mode="after")
    def _has_content(self) -> Notify:
        _one_of_text_or_template(self, "text", "template")
        return self


ACTION_ARGS: dict[str, type[ActionArgs]] = {
    "slack.create_channel": SlackCreateChannel,
    "slack.post": SlackPost,
    "slack.invite": SlackInvite,
    "pagerduty.trigger": PagerDutyTrigger,
    "pagerduty.acknowledge": PagerDutyAcknowledge,
    "pagerduty.resolve": PagerDutyResolve,
    "jira.create_epic": JiraCreateEpic,
    "jira.create_tasks": JiraCreateTasks,
    "jira.comment": JiraComment,
    "jira.transition": JiraTransition,
    "statement.draft": StatementDraft,
    "approval.request": ApprovalRequest,
    "ack.wait": AckWait,
    "contact_centre.publish_script": ContactCentrePublishScript,
    "incident.set_severity": IncidentSetSeverity,
    "incident.resolve": IncidentResolve,
    "followup.schedule": FollowupSchedule,
    "wait": Wait,
    "notify": Notify,
}
"""Every action's arguments model, by `uses` name."""

ACTION_OUTPUTS: dict[str, dict[str, str]] = {
    name: dict(model.outputs) for name, model in ACTION_ARGS.items()
}

# Arguments that name a template file under playbooks/templates/ (checked by the validator).
TEMPLATE_FIELDS = ("template",)

BRANCHES: dict[str, tuple[str, ...]] = {
    "approval.request": ("on_approved", "on_rejected", "on_timeout"),
    "ack.wait": ("on_timeout",),
}
"""Gate actions and the branch fields their steps may carry."""


# ------------------------------------------------------------------------------------------ steps


class Retry(_Strict):
    attempts: int = Field(default=3, ge=1, description="Tries in all, the first included")
    backoff: Duration = Field(default=timedelta(seconds=10), description="Wait before retry 2")
    factor: float = Field(default=2.0, ge=1.0, description="Each later wait is this many times")

    def delay(self, attempt: int) -> timedelta:
        """Wait before try number `attempt` (2 for the first retry)."""
        return self.backoff * (self.factor ** max(0, attempt - 2))


class StepBase(_Strict):
    """Fields every step has. `with` holds the action's arguments (see each action)."""

    id: Identifier
    name: str | None = Field(default=None, description="Human-readable name")
    uses: str
    with_: ActionArgs = Field(alias="with")
    if_: ExpressionText | bool | None = Field(
        default=None, alias="if", description="Run only when this is true"
    )
    needs: StepList = Field(default_factory=list, description="Steps that must finish first")
    retry: Retry | None = None
    timeout: Duration | None = Field(default=None, description="Fail the step after this long")
    on_failure: Identifier = Field(
        default="fail",
        description=(
            "fail (the run fails; only steps that need this one are skipped), stop (the whole "
            "playbook stops), continue (as if it succeeded), or the id of a step to run"
        ),
    )

    _compiled_with: Value | None = PrivateAttr(default=None)
    _compiled_if: Expression | None = PrivateAttr(default=None)

    @property
    def outputs(self) -> dict[str, str]:
        return ACTION_OUTPUTS[self.uses]

    def arguments(self) -> dict[str, Any]:
        """The `with:` arguments as written (aliases such as `for`), unset optional ones omitted."""
        return self.with_.model_dump(by_alias=True, exclude_unset=True)

    def compiled_with(self) -> Value:
        """The arguments compiled for rendering against a run's context (cached)."""
        if self._compiled_with is None:
            self._compiled_with = compile_value(self.arguments())
        return self._compiled_with

    def compiled_if(self) -> Expression | None:
        if self.if_ is None:
            return None
        if self._compiled_if is None:
            self._compiled_if = compile_condition(self.if_)
        return self._compiled_if

    def branches(self) -> dict[str, list[str]]:
        """Gate branches: field name -> step ids (empty for non-gate steps)."""
        return {name: list(getattr(self, name)) for name in BRANCHES.get(self.uses, ())}


class ApprovalStepBase(StepBase):
    on_approved: StepList = Field(default_factory=list, description="Steps run when approved")
    on_rejected: StepList = Field(default_factory=list, description="Steps run when rejected")
    on_timeout: StepList = Field(
        default_factory=list, description="Steps run when nobody decided in time (fails closed)"
    )


class AckStepBase(StepBase):
    on_timeout: StepList = Field(
        default_factory=list, description="Steps run when nobody acknowledged within the SLA"
    )


def _class_name(uses: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[._]", uses)) + "Step"


def _step_model(uses: str, args: type[ActionArgs]) -> type[StepBase]:
    base = {"approval.request": ApprovalStepBase, "ack.wait": AckStepBase}.get(uses, StepBase)
    required = any(field.is_required() for field in args.model_fields.values())
    with_field = Field(alias="with") if required else Field(default_factory=args, alias="with")
    return create_model(  # type: ignore[call-overload,no-any-return]
        _class_name(uses),
        __base__=base,
        __doc__=args.__doc__,
        uses=(Literal[uses], ...),  # type: ignore[valid-type]
        with_=(args, with_field),
    )


STEP_MODELS: dict[str, type[StepBase]] = {
    uses: _step_model(uses, args) for uses, args in ACTION_ARGS.items()
}


def _uses_of(value: Any) -> str | None:
    return value.get("uses") if isinstance(value, dict) else getattr(value, "uses", None)


_TAGGED = tuple(Annotated[model, Tag(uses)] for uses, model in STEP_MODELS.items())
Step = Annotated[Union[_TAGGED], Discriminator(_uses_of)]  # type: ignore[valid-type]  # noqa: UP007
"""Any step: the model is picked by `uses`."""


# --------------------------------------------------------------------------------------- playbook


class InputSpec(_Strict):
    """A typed input for manual triggering (`firebreak incident declare --input key=value`)."""

    type: Literal["string", "number", "boolean", "choice"] = "string"
    required: bool = False
    default: str | float | bool | None = None
    choices: list[str | float] | None = None
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> InputSpec:
        if self.type == "choice" and not self.choices:
            raise ValueError("type choice needs `choices`")
        if self.type != "choice" and self.choices:
            raise ValueError("`choices` only applies to type choice")
        if self.default is not None:
            ok = {
                "string": isinstance(self.default, str),
                "number": isinstance(self.default, int | float)
                and not isinstance(self.default, bool),
                "boolean": isinstance(self.default, bool),
                "choice": self.choices is not None and self.default in self.choices,
            }[self.type]
            if not ok:
                raise ValueError(f"default {self.default!r} does not fit type {self.type}")
        return self


class Playbook(_Strict):
    """A crisis-response playbook."""

    name: Slug = Field(description="Slug naming the playbook, e.g. social-media-storm")
    version: int = Field(ge=1, description="Bump on every change")
    description: str = ""
    roles: dict[Annotated[str, StringConstraints(pattern=ROLE_PATTERN)], str] = Field(
        default_factory=dict, description="Audience name -> what it is; bound to people in config"
    )
    inputs: dict[Identifier, InputSpec] = Field(default_factory=dict)
    trigger: Trigger | None = None
    fault_budget: Duration | None = Field(
        default=None,
        description=(
            "How long a step keeps waiting out a service's rate limits, 5xx, stalls and refused "
            "connections before it fails (default: the installation's, 15m)"
        ),
    )
    steps: list[Step] = Field(min_length=1)  # type: ignore[valid-type]

    def step(self, step_id: str) -> StepBase:
        for step in self.steps:
            if step.id == step_id:
                return step  # type: ignore[no-any-return]
        raise KeyError(step_id)

    @property
    def step_ids(self) -> list[str]:
        return [step.id for step in self.steps]

    def gated(self) -> dict[str, tuple[str, str]]:
        """Steps that run only when a branch fires: step id -> (gate step id, branch field)."""
        found: dict[str, tuple[str, str]] = {}
        for step in self.steps:
            for branch, targets in step.branches().items():
                for target in targets:
                    found.setdefault(target, (step.id, branch))
        return found

    def iter_steps(self) -> Iterator[StepBase]:
        yield from self.steps


def validation_context(raw: Any) -> dict[str, Any]:
    """The context `Playbook.model_validate` needs to check role names, from the raw document."""
    roles = raw.get("roles") if isinstance(raw, dict) else None
    return {"roles": set(roles) if isinstance(roles, dict) else set()}
