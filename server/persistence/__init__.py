"""SQLModel tables and repositories. The only package that knows about SQL."""
