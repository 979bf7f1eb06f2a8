"""HTTP interface (FastAPI) and command line (Typer) over the service."""
