"""Socket.IO: everything live between browsers and the server."""
