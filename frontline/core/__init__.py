"""Core: tenant-owned base model, Actor and the access gatekeeper, errors, the audit trail.

Imports nothing from the domain apps."""
