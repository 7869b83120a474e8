"""The incident timeline as reviewers read it: Markdown, JSON, or one self-contained HTML page."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from firebreak.store.models import Incident, StepRun, TimelineEvent

KIND_ICONS = {
    "incident": "🔥",
    "step": "▶",
    "gate": "✋",
    "escalation": "⏫",
    "severity": "⚠",
    "detection": "📈",
}


def _icon(kind: str) -> str:
    return KIND_ICONS.get(kind.split(".", 1)[0], "•")


def incident_dict(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "playbook": incident.playbook,
        "scope": incident.scope,
        "severity": incident.severity,
        "status": incident.status,
        "declared_by": incident.declared_by,
        "opened_at": incident.opened_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
    }


def event_dict(event: TimelineEvent) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "kind": event.kind,
        "actor": event.actor,
        "summary": event.summary,
        "data": event.data,
    }


def to_json(incident: Incident, events: Sequence[TimelineEvent]) -> str:
    return json.dumps(
        {"incident": incident_dict(incident), "timeline": [event_dict(e) for e in events]},
        indent=2,
        default=str,
    )


def to_markdown(
    incident: Incident, events: Sequence[TimelineEvent], steps: Sequence[StepRun] = ()
) -> str:
    lines = [
        f"# Incident {incident.id}: {incident.title}",
        "",
        f"- **Playbook**: {incident.playbook}",
        f"- **Scope**: {incident.scope}",
        f"- **Severity**: {incident.severity}",
        f"- **Status**: {incident.status}",
        f"- **Opened**: {incident.opened_at:%Y-%m-%d %H:%M:%S} UTC"
        + (f" by {incident.declared_by}" if incident.declared_by else " by detection"),
    ]
    if incident.resolved_at:
        lines.append(f"- **Resolved**: {incident.resolved_at:%Y-%m-%d %H:%M:%S} UTC")
    if steps:
        lines += ["", "## Steps", "", "| step | action | status | attempts |", "|---|---|---|---|"]
        lines += [f"| {s.step_id} | {s.action} | {s.status} | {s.attempts} |" for s in steps]
    lines += ["", "## Timeline", "", "| time (UTC) | event | by | what happened |"]
    lines.append("|---|---|---|---|")
    for e in events:
        summary = e.summary.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {e.at:%H:%M:%S} | {e.kind} | {e.actor} | {summary} |")
    return "\n".join(lines) + "\n"


_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1f2328;
 padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.25rem} .meta{color:#59636e;margin-bottom:1.5rem}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:1rem;background:#eef;
 margin-right:.4rem}
.sev1,.sev2{background:#ffebe9;color:#a40e26} .resolved{background:#dafbe1;color:#116329}
ol{list-style:none;padding:0;border-left:3px solid #d0d7de}
li{margin:0 0 .9rem 1rem;position:relative}
li:before{content:"";position:absolute;left:-1.45rem;top:.45rem;width:.7rem;height:.7rem;
 border-radius:50%;background:#0969da}
li.failed:before,li.gate-rejected:before,li.gate-timed_out:before{background:#cf222e}
time{color:#59636e;font-variant-numeric:tabular-nums;margin-right:.5rem}
.kind{font-family:ui-monospace,monospace;font-size:.8rem;color:#59636e;margin-right:.5rem}
.actor{color:#59636e;font-size:.85rem}
table{border-collapse:collapse;margin-bottom:1.5rem}
td,th{border:1px solid #d0d7de;padding:.2rem .6rem}
"""


def to_html(
    incident: Incident, events: Sequence[TimelineEvent], steps: Sequence[StepRun] = ()
) -> str:
    """One page with no external resources: it opens offline, in a mail attachment, anywhere."""
    e = html.escape
    items = []
    for ev in events:
        css = ev.kind.replace(".", "-")
        if ev.kind.endswith("failed"):
            css += " failed"
        items.append(
            f'<li class="{e(css)}"><time datetime="{ev.at.isoformat()}">'
            f"{ev.at:%H:%M:%S}</time>"
            f'<span class="kind">{e(ev.kind)}</span>{e(ev.summary)} '
            f'<span class="actor">— {e(ev.actor)}</span></li>'
        )
    step_rows = "".join(
        f"<tr><td>{e(s.step_id)}</td><td>{e(s.action)}</td><td>{e(s.status)}</td>"
        f"<td>{s.attempts}</td></tr>"
        for s in steps
    )
    steps_table = (
        f"<h2>Steps</h2><table><tr><th>step</th><th>action</th><th>status</th>"
        f"<th>attempts</th></tr>{step_rows}</table>"
        if steps
        else ""
    )
    opened_by = e(incident.declared_by) if incident.declared_by else "detection"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Incident {incident.id}: {e(incident.title)}</title><style>{_STYLE}</style></head>
<body><h1>Incident {incident.id}: {e(incident.title)}</h1>
<div class="meta"><span class="badge {e(incident.severity)}">{e(incident.severity)}</span>
<span class="badge {e(incident.status)}">{e(incident.status)}</span>
playbook <b>{e(incident.playbook)}</b> · scope <b>{e(incident.scope)}</b> ·
opened {incident.opened_at:%Y-%m-%d %H:%M:%S} UTC by {opened_by}</div>
{steps_table}<h2>Timeline</h2><ol>{"".join(items)}</ol></body></html>
"""
