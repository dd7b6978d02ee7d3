"""What a claim check returns: per assertion a status with its passages, per cell a verdict."""
from __future__ import annotations

from dataclasses import dataclass, field

VERDICTS = ("stale", "extended", "holds", "no-claim")
STATUSES = ("supported", "contradicted", "unsupported", "new")


@dataclass
class PassageRef:
    """One passage that shows something, cited as URL#anchor with the crawl date."""

    url: str                  # with #anchor when the page has one for the passage
    heading_path: list[str]
    text: str
    crawled_at: str
    run_id: int
    quote: str = ""           # the sentence that decided it, when one did
    strength: float = 0.0     # ordering only: strongest first

    def to_dict(self) -> dict:
        return {"url": self.url, "heading_path": list(self.heading_path), "text": self.text,
                "quote": self.quote, "crawled_at": self.crawled_at, "run_id": self.run_id}

    @classmethod
    def from_dict(cls, d: dict) -> "PassageRef":
        return cls(d["url"], list(d["heading_path"]), d["text"], d["crawled_at"], d["run_id"], d.get("quote", ""))


@dataclass
class AssertionResult:
    """One assertion (or one piece of new evidence, status "new") judged against the docs."""

    key: str                  # tool.criterion.id ("tool.criterion.new:category=value" for new evidence)
    text: str                 # what the study says (or what is new)
    kind: str                 # exists / absent / limit / list / new
    status: str               # supported / contradicted / unsupported / new
    strength: float           # 0..1: how firmly the passages show the status
    reason: str               # one line a reviewer reads
    weight: str = "core"
    passages: list[PassageRef] = field(default_factory=list)
    cited: list[dict] = field(default_factory=list)   # the study's citations for it and what became of them

    def to_dict(self) -> dict:
        return {"key": self.key, "text": self.text, "kind": self.kind, "status": self.status,
                "strength": round(self.strength, 3), "reason": self.reason, "weight": self.weight,
                "cited": self.cited, "passages": [p.to_dict() for p in self.passages]}

    @classmethod
    def from_dict(cls, d: dict) -> "AssertionResult":
        return cls(d["key"], d["text"], d["kind"], d["status"], d["strength"], d["reason"], d["weight"],
                   [PassageRef.from_dict(p) for p in d["passages"]], list(d["cited"]))


@dataclass
class CellVerdict:
    tool: str
    criterion: str
    verdict: str              # one of VERDICTS
    score: float              # certainty of the verdict, 0..1
    claim: str                # the study's claim
    assertions: list[AssertionResult]
    passages: list[PassageRef]            # the cell's strongest citations, deciding ones first
    run_id: int | None
    crawled_at: str
    rank: int = 0
    deciding: str = ""        # the one line that decided the verdict

    @property
    def decided_by(self) -> list[AssertionResult]:
        want = {"stale": ("contradicted",), "extended": ("new",)}.get(self.verdict, ())
        return [a for a in self.assertions if a.status in want]

    def to_dict(self) -> dict:
        return {"tool": self.tool, "criterion": self.criterion, "verdict": self.verdict, "rank": self.rank,
                "score": round(self.score, 3), "claim": self.claim, "deciding": self.deciding,
                "assertions": [a.to_dict() for a in self.assertions],
                "passages": [p.to_dict() for p in self.passages],
                "run_id": self.run_id, "crawled_at": self.crawled_at}

    @classmethod
    def from_dict(cls, d: dict) -> "CellVerdict":
        return cls(d["tool"], d["criterion"], d["verdict"], d["score"], d["claim"],
                   [AssertionResult.from_dict(a) for a in d["assertions"]],
                   [PassageRef.from_dict(p) for p in d["passages"]], d["run_id"], d["crawled_at"],
                   rank=d.get("rank", 0), deciding=d.get("deciding", ""))


def rank_cells(cells: list[CellVerdict]) -> list[CellVerdict]:
    """Stale first, most certain first; then extended, holds, no-claim. Sets `rank` (1-based)."""
    order = sorted(cells, key=lambda c: (VERDICTS.index(c.verdict), -c.score, c.tool, c.criterion))
    for i, c in enumerate(order, 1):
        c.rank = i
    return order
