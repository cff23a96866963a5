"""The overlay layers a live room shows."""
