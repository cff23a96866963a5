"""Egress: how the room's encoded stream leaves the server."""
