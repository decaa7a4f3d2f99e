"""Accounts: users (end users and agents), roles, support groups, sign-in, API tokens.

Imports core and tenants only."""
