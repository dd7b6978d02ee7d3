"""The study's comparison checklist, loaded from `data/checklist.toml`."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from knowledge.errors import unknown_name


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    question: str
    sub_factors: tuple[str, ...]


@lru_cache(maxsize=1)
def load_checklist() -> tuple[Criterion, ...]:
    text = (resources.files("knowledge") / "data" / "checklist.toml").read_text(encoding="utf-8")
    return tuple(
        Criterion(c["id"], c["title"], c["question"], tuple(c.get("sub_factors", ())))
        for c in tomllib.loads(text)["criterion"]
    )


def criterion_ids() -> list[str]:
    return [c.id for c in load_checklist()]


def get_criterion(name: str) -> Criterion:
    """Look a criterion up by id (case-insensitive; '-' and ' ' accepted for '_')."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    for c in load_checklist():
        if c.id == key:
            return c
    raise unknown_name("criterion", name, criterion_ids())


def check_criteria(names: list[str] | None) -> list[str]:
    """Validate user-given criterion names; None or [] means all."""
    return [get_criterion(n).id for n in names] if names else criterion_ids()
