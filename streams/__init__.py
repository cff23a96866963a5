"""The media plane: ingest (WHIP), the room pipeline (composite + one encode), egress (WHEP)."""
