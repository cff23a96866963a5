"""Ingest: how a host's picture and sound reach the room."""
