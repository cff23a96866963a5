"""Features: each is one `setup(app)` appended to FEATURES in server/app.py."""
