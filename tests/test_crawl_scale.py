"""Many sources in one crawl: a fixed number of sites in flight, whatever the number of tools."""
from __future__ import annotations

import pytest

from conftest import tiny_site, tiny_sources
from knowledge.ops.crawl import run_crawl
from knowledge.store import Store

TOOLS = ["t1", "t2", "t3", "t4", "t5"]


def sources_file(path):
    path.write_text("".join(tiny_sources(path, tool=tool).read_text() for tool in TOOLS))
    return path


@pytest.mark.parametrize("in_flight", [1, 2])
def test_at_most_n_sources_are_crawled_at_a_time(tmp_path, serve_site, monkeypatch, in_flight):
    servers = {t: serve_site(tiny_site(tmp_path / t)) for t in TOOLS}
    for server in servers.values():   # slow enough that sites in flight overlap in time
        server.faults["/guide/*"] = {"delay": 0.2}
    monkeypatch.setenv("COLLECTOR_SOURCES_IN_FLIGHT", str(in_flight))
    events = []
    result = run_crawl(TOOLS, sources_file=sources_file(tmp_path / "s.toml"),
                       base_urls=[f"{t}={s.origin}" for t, s in servers.items()], db=tmp_path / "c.sqlite",
                       evidence=False, progress=lambda e: events.append((e.get("event"), e.get("tool"))))
    assert [tool for kind, tool in events if kind == "start"] == TOOLS   # in the sources' order, each once
    assert [r["status"] for r in result["runs"]] == ["complete"] * len(TOOLS)
    # the crawler's own event stream, in order: how many sites were under way at most
    under_way, most = set(), 0
    for kind, tool in events:
        if kind == "start":
            under_way.add(tool)
            most = max(most, len(under_way))
        elif kind == "end":
            under_way.discard(tool)
    assert most == in_flight
    with Store.open(tmp_path / "c.sqlite") as store:
        assert store.conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'complete'").fetchone()[0] == len(TOOLS)
    assert all(len(s.log) > 0 for s in servers.values())   # every site was crawled
