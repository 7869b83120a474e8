"""The step DAG as Mermaid text (`flowchart TD`), for docs and `firebreak playbook graph`."""

from __future__ import annotations

from firebreak.playbook.model import BRANCHES, ON_FAILURE_POLICIES, Playbook

# Words Mermaid reads as syntax; a step with such an id gets a suffixed node id.
_RESERVED = {"end", "graph", "subgraph", "flowchart", "style", "class", "click", "default"}
_BRANCH_LABEL = {"on_approved": "approved", "on_rejected": "rejected", "on_timeout": "timeout"}


def _label(text: str) -> str:
    # Mermaid labels are quoted; quotes and angle brackets need its entity codes.
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _id(step_id: str) -> str:
    return f"{step_id}_" if step_id.lower() in _RESERVED else step_id


def _node(step_id: str, uses: str, title: str | None, conditional: bool) -> str:
    text = _label(f"{title or step_id}")
    detail = _label(uses + (" (if)" if conditional else ""))
    body = f'"{text}<br/><small>{detail}</small>"'
    if uses in BRANCHES:
        return f"  {_id(step_id)}{{{{{body}}}}}"  # hexagon: a human gate
    return f"  {_id(step_id)}[{body}]"


def mermaid(playbook: Playbook) -> str:
    """Nodes for steps (gates as hexagons), arrows for `needs`, labelled arrows for gate branches
    and dotted arrows for `on_failure` handlers."""
    lines = ["flowchart TD"]
    for step in playbook.steps:
        lines.append(_node(step.id, step.uses, step.name, step.if_ is not None))
    for step in playbook.steps:
        for dependency in step.needs:
            lines.append(f"  {_id(dependency)} --> {_id(step.id)}")
        for branch, targets in step.branches().items():
            for target in targets:
                label = _BRANCH_LABEL.get(branch, branch)
                lines.append(f"  {_id(step.id)} -->|{label}| {_id(target)}")
        if step.on_failure not in ON_FAILURE_POLICIES:
            lines.append(f"  {_id(step.id)} -.->|on failure| {_id(step.on_failure)}")
    return "\n".join(lines) + "\n"
