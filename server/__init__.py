"""Fieldcast: the application (wiring, transports, domain, persistence)."""
