"""Settings from `FIREBREAK_*` environment variables and a `.env` file.

Secrets are `SecretStr`: they print masked and never reach a log or the timeline.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FIREBREAK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Where state lives.
    home: Path = Field(default=Path(".firebreak"), description="Working directory for local state")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite (WAL) at <home>/firebreak.db"
    )
    playbooks_dir: Path = PROJECT_ROOT / "playbooks"
    roles_file: Path | None = Field(
        default=None, description="YAML binding roles to Slack channels, Jira users, PD keys"
    )

    # Playbook clock: 1.0 is real time; the demo and rehearsals run faster.
    time_scale: float = 1.0

    # Crash recovery: a running playbook proves it is alive every `run_heartbeat_seconds`; one
    # silent for `resume_grace_seconds` was interrupted and is resumed, at most
    # `resume_max_attempts` times before a person is asked to take over.
    run_heartbeat_seconds: float = Field(default=10.0, gt=0)
    resume_grace_seconds: float = Field(default=60.0, gt=0)
    resume_max_attempts: int = Field(default=3, ge=0)
    # How long a step waits out a service's transient faults (playbook seconds; a playbook's own
    # `fault_budget` wins).
    fault_budget_seconds: float = Field(default=900.0, gt=0)
    # A running API looks for interrupted and never-started runs this often (not only at start-up).
    run_sweep_seconds: float = Field(default=30.0, gt=0)
    # On SIGTERM/Ctrl-C, in-flight steps get up to this long before the API exits; a run parks
    # at its next wait (gate, timer) and the next start resumes it.
    shutdown_grace_seconds: float = Field(default=5.0, ge=0)

    # War rooms are named `<prefix><playbook's name>-<installation id>`, so `crisis-7` of one
    # installation never meets an archived `crisis-7` or a second environment's. The id defaults
    # to a short hash of the database URL: stable for one installation, distinct across them.
    war_room_prefix: str = Field(default="", pattern=r"^[a-z0-9_-]{0,20}$")
    installation_id: str | None = Field(default=None, pattern=r"^[a-z0-9]{1,12}$")

    # Slack: sandbox unless a real token is set.
    slack_token: SecretStr | None = None
    slack_base_url: str | None = None
    slack_signing_secret: SecretStr | None = None

    # Jira. Cloud: `jira_user` is the account's email and `jira_token` an API token (Basic auth);
    # Data Center: `jira_token` is a personal access token (Bearer auth) and `jira_user` unused.
    jira_flavour: Literal["cloud", "datacenter"] = Field(
        default="cloud", description="cloud (*.atlassian.net) or datacenter (self-hosted)"
    )
    jira_url: str | None = None
    jira_user: str | None = None
    jira_token: SecretStr | None = None
    jira_project: str = "CRISIS"
    # Data Center only: the custom fields holding an epic's tasks and an epic's name; found from
    # `GET /rest/api/2/field` when unset (schema custom types gh-epic-link and gh-epic-label).
    jira_epic_link_field: str | None = Field(default=None, pattern=r"^customfield_\d+$")
    jira_epic_name_field: str | None = Field(default=None, pattern=r"^customfield_\d+$")

    # PagerDuty Events API v2.
    pagerduty_routing_key: SecretStr | None = None
    pagerduty_base_url: str | None = None
    pagerduty_ca_file: Path | None = None

    # Ingestion: parse and triage API batches in a worker process, on the second core.
    ingest_worker: bool | None = Field(
        default=None, description="Triage API batches in a worker process; default: if 2+ CPUs"
    )

    # Bootstrap API access for automation: token -> roles, `'{"secret":["ingest"]}'`. People
    # use accounts (`firebreak user add`, `firebreak token create`): tokens stored hashed, with
    # expiry and revocation, decisions recorded as the person. See docs/security.md.
    api_tokens: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def use_ingest_worker(self) -> bool:
        if self.ingest_worker is None:
            return (os.cpu_count() or 1) > 1
        return self.ingest_worker

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'firebreak.db').resolve()}"

    @property
    def effective_installation_id(self) -> str:
        """`installation_id`, or 6 hex digits of the database URL (its password left out)."""
        if self.installation_id:
            return self.installation_id
        url = _mask_url_password(self.effective_database_url)
        return hashlib.sha256(url.encode()).hexdigest()[:6]

    def masked(self) -> dict[str, Any]:
        """The effective settings as a printable mapping, secrets masked."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name] = "********" if value.get_secret_value() else ""
            elif name == "api_tokens":
                out[name] = [f"******** -> {','.join(roles)}" for roles in value.values()]
            elif name == "database_url" and value and "@" in value:
                out[name] = _mask_url_password(value)
            else:
                out[name] = str(value) if isinstance(value, Path) else value
        out["effective_database_url"] = _mask_url_password(self.effective_database_url)
        return out


def _mask_url_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"


@lru_cache
def get_settings() -> Settings:
    return Settings()
