"""`collector claims` in a terminal: one row per cell, or with --full one block per cell.

Every string that comes from a crawled page goes through Rich `Text` (never markup).
"""
from __future__ import annotations

from rich.table import Table
from rich.text import Text

from knowledge.claims.model import CellVerdict
from knowledge.textsafe import safe

STYLE = {"stale": "bold red", "extended": "yellow", "holds": "green", "no-claim": "dim",
         "contradicted": "red", "new": "yellow", "supported": "green", "unsupported": "dim"}
CITED_WORDS = {"gone": "now answers 404", "section-gone": "no longer has that section"}


def top_citation(cell: CellVerdict) -> str:
    """What a reader should open first: the deciding passage, or, when the deciding statement is
    shown by what is missing, the study's own citation that is gone."""
    for a in cell.decided_by:
        if a.passages:
            p = a.passages[0]
            return f"{p.url} ({p.crawled_at[:10]})"
        dead = next((c for c in a.cited if c.get("status") in CITED_WORDS), None)
        if dead:
            return f"{dead['url']} (the study's citation {CITED_WORDS[dead['status']]})"
    if cell.passages:
        return f"{cell.passages[0].url} ({cell.passages[0].crawled_at[:10]})"
    return ""


def summary_table(cells: list[CellVerdict]) -> Table:
    table = Table(header_style="bold")
    for col in ("#", "tool", "criterion", "verdict", "why", "top citation"):
        table.add_column(col, overflow="fold")
    for c in cells:
        table.add_row(str(c.rank), Text(safe(c.tool)), Text(safe(c.criterion)),
                      Text(c.verdict, style=STYLE.get(c.verdict, "")), Text(safe(c.deciding)),
                      Text(safe(top_citation(c))))
    return table


def cell_blocks(cells: list[CellVerdict]) -> list[Text]:
    """--full: per cell the claim, the verdict and every statement with its reason and citations."""
    out: list[Text] = []
    for c in cells:
        head = Text.assemble((f"{c.rank:>2}  ", "dim"), (safe(f"{c.tool} x {c.criterion}"), "bold"), "  ",
                             (c.verdict.upper(), STYLE.get(c.verdict, "")), (f"  ({c.score:.2f})", "dim"))
        out.append(head)
        if c.claim:
            out.append(Text(f"    study: \"{safe(' '.join(c.claim.split()))}\"", style="italic"))
        out.append(Text(f"    {safe(c.deciding)}"))
        for a in c.assertions:
            out.append(Text.assemble("    ", (f"{a.status:<13}", STYLE.get(a.status, "")), safe(a.text),
                                     (" (minor)" if a.weight == "minor" else "", "dim")))
            out.append(Text(f"                 {safe(a.reason)}", style="dim"))
            for p in a.passages[:2]:
                out.append(Text(f"                 see {safe(p.url)} (crawled {p.crawled_at[:10]})"))
            for cited in a.cited:
                if cited.get("status") in CITED_WORDS:
                    out.append(Text(f"                 study cited {safe(cited['url'])}: "
                                    f"{CITED_WORDS[cited['status']]}", style="dim"))
        out.append(Text(""))
    return out
