"""Signals: the schema of what arrives, the parsers of bodies and files, the ingestion pipeline."""
