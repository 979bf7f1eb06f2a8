"""What every ``matchmaker`` command does first: logging as configured, and the service's model."""

from __future__ import annotations

import logging
from typing import Any


def setup_logging() -> None:
    from service.settings import get_settings

    # force: each command run in one process (tests, notebooks) logs to its own stderr, not a closed earlier one
    logging.basicConfig(
        level=get_settings().log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )


def real_embedder() -> Any:
    """The embedder the service matches with, as configured (loads the model)."""
    from service.container import default_embedder
    from service.settings import get_settings

    return default_embedder(get_settings())
