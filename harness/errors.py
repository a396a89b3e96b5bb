"""Errors the CLI turns into one line and exit code 2 (bad input, never a traceback)."""

from __future__ import annotations

from pydantic import ValidationError


class HarnessError(Exception):
    """A problem with the user's input or environment that a one-line message explains."""


class ConfigError(HarnessError):
    """A scenario file or one of its data files is invalid; the message names the place."""


def format_validation_error(exc: ValidationError) -> str:
    """All of pydantic's errors on one line: `field.path: message; other.field: message`."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)
