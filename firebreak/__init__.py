"""Firebreak's domain core: playbooks, signals and detection, incidents, timeline, store, settings.

Nothing in this package imports a web framework, Prefect or a vendor SDK: those are the edges
(`api/`, `flows/`, `integrations/`, `cli/`).
"""

__version__ = "0.1.0"
