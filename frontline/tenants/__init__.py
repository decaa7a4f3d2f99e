"""Tenants: organisations (the MSP's client companies and the provider itself).

Imports only core."""
