"""The ``planner`` logger: silent by default, console output when settings ask for it."""

from __future__ import annotations

import logging

from . import settings

logger = logging.getLogger("planner")
logger.addHandler(logging.NullHandler())

_console: logging.Handler | None = None


def log(msg: str, level: int = logging.INFO) -> None:
    """Send ``msg`` to the planner logger, and to the console if ``settings.log_console``."""
    global _console  # noqa: PLW0603 - one console handler for the whole process
    if settings.log_console and _console is None:
        _console = logging.StreamHandler()
        _console.setFormatter(logging.Formatter("%(asctime)s planner %(levelname)s %(message)s"))
        logger.addHandler(_console)
    if _console is not None:
        _console.setLevel(settings.log_level if settings.log_console else logging.CRITICAL + 1)
        if settings.log_console and logger.level == logging.NOTSET:
            logger.setLevel(settings.log_level)
    logger.log(level, msg)
