"""Developer tools that generate files the repository ships (run from the project root)."""
