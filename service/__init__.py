"""The application layer: wires the store, the indexes and the matcher for the API and the CLI."""
