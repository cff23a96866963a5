"""Accounts: users, roles, tokens."""
