"""Tickets: incidents and service requests, their workflow, priority matrix, tiers and escalation,
comments, attachments and links. Imports core, tenants and accounts."""
