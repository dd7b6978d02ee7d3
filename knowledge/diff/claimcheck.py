"""What a change did to the study's claim for a cell: the claim block of a flag (payload["claim"]).

Pure: compares the claim check's verdicts of the two crawls a flag compares (knowledge.claims). A
cell nobody has reviewed yet is compared with the study as written, where every statement holds:
so the first diff after the first crawl puts every stale claim in front of a reviewer, and only
those (an extended claim is for `collector claims` and the report, not a review of its own).

"contradiction" means exactly this: a statement of the study that the older side did not
contradict is contradicted now (or the verdict became stale). A claim that stops being contradicted,
or a verdict that changes between extended and holds, is reported too, but is no contradiction.
"""
from __future__ import annotations

from knowledge.claims.judge import STALE_AT
from knowledge.claims.model import AssertionResult, CellVerdict

SHOWN_PASSAGES = 2


def verdict_summary(v: CellVerdict | None) -> dict | None:
    """What a flag records of the claim check for its newer crawl (payload["claim_verdict"]): the
    verdict and the statements firmly contradicted. Accepting the flag makes it the reviewed one,
    so a later change of verdict (also by a better judge) is measured against what was reviewed."""
    if v is None:
        return None
    return {"verdict": v.verdict, "contradicted": sorted(a.key for a in v.assertions
                                                          if a.status == "contradicted" and a.strength >= STALE_AT)}


def claim_change(old: dict | None, new: CellVerdict | None, *, against_study: bool) -> dict | None:
    """The claim block for a flag, or None when the change does not touch the claim.

    `old` is verdict_summary() of the older side (as reviewed); with `against_study`, the cell has
    never been reviewed and is compared with the study itself (nothing contradicted)."""
    if new is None or new.verdict == "no-claim":
        return None
    if against_study or old is None:
        old = {"verdict": "the study", "contradicted": []}
    before = set(old.get("contradicted") or [])
    previous = old.get("verdict") or "the study"
    firm = [a for a in new.assertions if a.status == "contradicted" and a.strength >= STALE_AT]
    newly = [a for a in firm if a.key not in before]
    withdrawn = [a for a in new.assertions if a.key in before - {a.key for a in firm}]
    contradicts = new.verdict == "stale" and (bool(newly) or previous != "stale")
    if against_study:
        if new.verdict != "stale":
            return None
    elif not (contradicts or withdrawn or new.verdict != previous):
        return None
    if contradicts:
        lead = (newly or firm)[0]
        summary = f"contradicts the study: {lead.text.rstrip('.')} -- {lead.reason}"
    elif withdrawn:
        summary = f"no longer contradicts the study: {withdrawn[0].text.rstrip('.')} (claim now {new.verdict})"
    else:
        summary = f"claim now {new.verdict} (was {previous}): {new.deciding}"
    shown = (newly or firm) if contradicts else new.decided_by
    return {
        "verdict": new.verdict,
        "previous": previous,
        "contradicts": contradicts,
        "score": new.score,
        "summary_line": summary,
        "deciding": new.deciding,
        "claim": new.claim,
        "assertions": [_assertion(a, "contradicted" if a.key in before else None) for a in shown],
        "withdrawn": [_assertion(a, "contradicted") for a in withdrawn],
    }


def _assertion(a: AssertionResult, previous: str | None) -> dict:
    return {"key": a.key, "text": a.text, "status": a.status, "previous_status": previous or "as the study says",
            "reason": a.reason, "passages": [p.to_dict() for p in a.passages[:SHOWN_PASSAGES]]}


def claim_state(block: dict | None) -> str:
    """What the claim block adds to a flag's identity: the verdict and the contradicted statements."""
    if not block:
        return ""
    return block["verdict"] + ":" + ",".join(sorted(a["key"] for a in block["assertions"]
                                                    if a["status"] == "contradicted"))
