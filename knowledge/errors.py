"""Domain errors. The CLI turns these into a one-line message and an exit code in one place.

Exit codes: 2 = the user asked for something invalid (fix the command or the config),
3 = the job failed (site unreachable, store unusable, ...). Never a traceback for these.
1 is left to "differences found" (`collector diff --exit-code`, as git has it): a failure is never 1.
"""
from __future__ import annotations


class CollectorError(Exception):
    exit_code = 3

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class UsageError(CollectorError):
    """Bad names, bad options, malformed config files: the user must change what they typed."""

    exit_code = 2


class StoreError(CollectorError):
    """The knowledge store cannot be opened, is corrupt, locked, or from a newer version."""


class StoreBusy(StoreError):
    """Another collector process holds the store's write lock (e.g. a crawl is running)."""


class CrawlError(CollectorError):
    """A crawl could not run at all (e.g. every site unreachable)."""


def unknown_name(kind: str, name: str, valid: list[str]) -> UsageError:
    """The standard message for an unknown tool / criterion / format name."""
    return UsageError(f"Unknown {kind} '{name}'.", f"Valid {plural(kind)}: {', '.join(sorted(valid))}.")


def plural(noun: str) -> str:
    """criterion -> criteria, fact category -> fact categories, tool -> tools."""
    if noun.endswith("criterion"):
        return noun[: -len("criterion")] + "criteria"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def env_count(name: str, default: int) -> int:
    """A positive whole number from the environment variable `name` (`default` when unset)."""
    import os

    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"{name} must be a whole number of at least 1, got '{value}'.",
                         f"Unset it, or set e.g. {name}=2.")
    return int(value)
