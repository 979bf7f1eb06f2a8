"""The source of truth: SQLModel tables and queries, shared by the indexer, the API and the CLI."""
