"""Pure-Python domain: no aiohttp, socketio, aiortc, av, sqlmodel or redis imports here."""
