"""Benchmark extractors.passages on a full corpus snapshot (reference data read in place).

    /tmp/venv/bin/python bench/bench_extract.py [--snapshot dev-2024-03-01] [--no-tag] [--live metaflow-live-2024-04-10]

Prints (a) boilerplate checks, (b) word-level precision/recall against each page's article
element (with the sources' selectors and with the generic fallback), (c) speed and memory,
(d) alignment with the gold sections, (e) the effect of splitting long sections, and (f) checks
on real deployed Docusaurus HTML (the metaflow-live snapshots): code lines kept, hidden tab
panels kept, every cited anchor an id of its page, admonition titles and "[source]" links gone,
and the same passages when the article sits under 100,000 nested divs.
Not a test: it needs /work/shared, which tests must never depend on.
"""
from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

import lxml.html

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extractors import passages as P  # noqa: E402
from extractors.html_locate import compiled  # noqa: E402
from knowledge.domain.sources import load_sources  # noqa: E402

SHARED = Path("/work/shared")
GOLD_SNAPSHOT = "dev-2024-03-01"
# The element that holds the article body in the corpus' templates (the bench's ground truth).
ARTICLE = {"metaflow": "article div.theme-doc-markdown", "dvc": "#markdown-root",
           "mlflow": "div[itemprop=articleBody]"}
# Text that only site chrome contains: build stamps, edit links, copyright lines, pagination.
CHROME_TEXT = re.compile(r"\bBuild [0-9a-f]{12}\b|\bbuild [0-9a-f]{12} \(|\bBuilt \d{4}-\d\d-\d\dT|"
                         r"Edit this page|Edit on GitHub|Copyright ©|© 20\d\d|All rights reserved|"
                         r"Built with Docusaurus", re.I)
WORD = re.compile(r"\w+")


def snapshot_dir(name: str) -> Path:
    here = Path("/tmp/corpus") / name
    if (here / "manifest-metaflow.json").exists():
        return here
    out = Path(tempfile.mkdtemp(prefix="corpus-"))
    with tarfile.open(SHARED / "corpus" / f"{name}.tar.gz") as tar:
        tar.extractall(out, filter="data")
    return out / name


def load_pages(name: str) -> list[tuple[str, str, bytes]]:
    root = snapshot_dir(name)
    pages = []
    for tool in ("metaflow", "dvc", "mlflow"):
        manifest = json.loads((SHARED / "corpus" / "manifests" / name / f"manifest-{tool}.json").read_text())
        for path, info in sorted(manifest["pages"].items()):
            pages.append((tool, path, (root / tool / info["file"]).read_bytes()))
    return pages


def words(text: str) -> Counter:
    return Counter(w.lower() for w in WORD.findall(text))


def reference_text(html: bytes, tool: str) -> str:
    """The article element's text, blocks separated, inline markup joined (as a reader sees it)."""
    doc = lxml.html.document_fromstring(html)
    found = compiled(ARTICLE[tool])(doc)
    if not found:
        return ""
    parts: list[str] = []
    for event, el in lxml.etree.iterwalk(found[0], events=("start", "end")):
        if not isinstance(el.tag, str) or el.tag in ("script", "style"):
            if event == "end" and el.tail and el is not found[0]:
                parts.append(el.tail)
            continue
        if event == "start":
            if el.tag not in P.INLINE:
                parts.append(" ")
            parts.append(el.text or "")
        else:
            if el.tag not in P.INLINE:
                parts.append(" ")
            if el is not found[0]:
                parts.append(el.tail or "")
    return "".join(parts)


def passage_words(ps) -> Counter:
    """Words of the passages plus each section's heading once (headings are article text too)."""
    out: Counter = Counter()
    last = None
    for p in ps:
        key = (p.anchor, p.heading_path)
        if p.anchor and key != last and p.heading_path:
            out += words(p.heading_path[-1])
        last = key
        out += words(p.text)
    return out


def sidebar_texts(html: bytes) -> set[str]:
    doc = lxml.html.document_fromstring(html)
    return {" ".join(a.text_content().split()) for a in doc.xpath("//aside//a | //nav//a")} - {""}


def stage_times(pages, sources) -> dict[str, float]:
    """CPU time of each step of extract_passages (the walk reads the lxml tree directly)."""
    from extractors.chrome import strip_chrome
    from extractors.html_decode import to_text
    from extractors.html_locate import find_content, page_title, parse_document

    out = dict.fromkeys(("decode", "lxml parse", "locate", "strip chrome", "walk"), 0.0)
    for tool, _path, html in pages:
        src = sources[tool]
        marks = [time.process_time()]
        text = to_text(html)
        marks.append(time.process_time())
        doc = parse_document(text)
        marks.append(time.process_time())
        element, matched = find_content(doc, src.content)
        marks.append(time.process_time())
        strip_chrome(element, src.drop, guess=not matched)
        marks.append(time.process_time())
        P.walk_sections(element, page_title(doc))
        marks.append(time.process_time())
        for key, a, b in zip(out, marks, marks[1:]):
            out[key] += b - a
    return out


def extract_all(pages, sources, generic: bool = False):
    out = []
    for tool, path, html in pages:
        src = sources[tool]
        sel = {} if generic else {"content": src.content, "drop": src.drop}
        out.append(P.extract_passages(html, path, **sel))
    return out


def prf(pages, results, refs):
    hit = mine = ref = 0
    per_tool: dict[str, list[int]] = {}
    for (tool, _path, _html), ps, r in zip(pages, results, refs):
        m = passage_words(ps)
        h = sum((m & r).values())
        hit, mine, ref = hit + h, mine + sum(m.values()), ref + sum(r.values())
        t = per_tool.setdefault(tool, [0, 0, 0])
        t[0], t[1], t[2] = t[0] + h, t[1] + sum(m.values()), t[2] + sum(r.values())
    lines = [f"  all       precision {hit / max(mine, 1):.5f}  recall {hit / max(ref, 1):.5f}  "
             f"({mine - hit} extra, {ref - hit} missed of {ref} words)"]
    for tool, (h, m, r) in per_tool.items():
        lines.append(f"  {tool:9} precision {h / max(m, 1):.5f}  recall {h / max(r, 1):.5f}")
    return "\n".join(lines)


LIVE_SNAPSHOT = "metaflow-live-2024-04-10"
ADMONITION_WORDS = {"info", "tip", "note", "caution", "warning", "danger", "important"}


def live_pages(name: str) -> list[tuple[str, bytes]]:
    """(url path, html) of every article page of a metaflow-live snapshot (redirect stubs and 404.html left out)."""
    root = Path("/tmp/corpus") / name
    if not root.is_dir():
        out = Path(tempfile.mkdtemp(prefix="corpus-"))
        with tarfile.open(SHARED / "corpus" / f"{name}.tar.gz") as tar:
            tar.extractall(out, filter="data")
        root = out / name
    pages = []
    for f in sorted(root.rglob("*.html")):
        html = f.read_bytes()
        if f.name == "404.html" or b"theme-doc-markdown" not in html:
            continue
        rel = "/" + str(f.relative_to(root))
        pages.append((rel.removesuffix("index.html").removesuffix(".html"), html))
    return pages


def live_checks(name: str, source) -> None:
    """(f) What real deployed Docusaurus HTML needs (see the docstring); prints one line per check."""
    pages = live_pages(name)
    lines_total = glued = panels = panels_missing = bad_anchor = adm = src_lines = chrome = n_pass = 0
    for path, html in pages:
        doc = lxml.html.document_fromstring(html)
        ids = {e.get("id") for e in doc.iter() if isinstance(e.tag, str) and e.get("id")}
        ids |= {a.get("name") for a in doc.iter("a") if a.get("name")}
        ps = P.extract_passages(html, path, content=source.content, drop=source.drop)
        n_pass += len(ps)
        lines = {" ".join(ln.split()) for p in ps for ln in p.text.split("\n")}
        text = " ".join(" ".join(p.text.split()) for p in ps)
        for tl in doc.cssselect("article .token-line"):
            t = " ".join(tl.text_content().split())
            if t:
                lines_total += 1
                glued += t not in lines
        for panel in doc.cssselect("article [role=tabpanel][hidden]"):
            panels += 1
            first = [t for t in (" ".join(e.text_content().split()) for e in panel.cssselect(".token-line, p, li")) if t]
            start = (first[0] if first else " ".join(panel.text_content().split()))[:60]
            panels_missing += bool(start) and start not in text
        bad_anchor += sum(1 for p in ps if p.anchor and p.anchor not in ids)
        adm += sum(1 for ln in lines if ln.lower() in ADMONITION_WORDS)
        src_lines += sum(1 for p in ps if "[source]" in p.text or any("[source]" in h for h in p.heading_path))
        side = sidebar_texts(html)
        chrome += sum(1 for p in ps if len(set(p.text.split("\n")) & side) >= 5)
    print(f"\n(f) real deployed Docusaurus HTML ({name}: {len(pages)} article pages, {n_pass} passages)")
    print(f"  code token-lines not kept as a line of their own: {glued} of {lines_total}")
    print(f"  hidden tab panels missing from the passages: {panels_missing} of {panels}")
    print(f"  passages citing an anchor that is no id on the page: {bad_anchor}")
    print(f"  admonition-title lines: {adm}; passages with '[source]' (text or heading): {src_lines}")
    print(f"  passages with >= 5 lines that are sidebar/nav link texts: {chrome}")
    # issue 9 item 9: the same article under 100,000 nested divs must read exactly the same
    same = 0
    sample = [pg for pg in pages if b"<article" in pg[1]][:5]
    t0 = time.perf_counter()
    for path, html in sample:
        t = html.decode("utf-8")
        i, j = t.find("<article"), t.find("</article>") + len("</article>")
        deep = t[:i] + "<div>" * 100_000 + t[i:j] + "</div>" * 100_000 + t[j:]
        a = [(p.anchor, p.heading_path, p.text) for p in P.extract_passages(t, path, content=source.content, drop=source.drop)]
        b = [(p.anchor, p.heading_path, p.text) for p in P.extract_passages(deep, path, content=source.content, drop=source.drop)]
        same += a == b
    print(f"  article under 100,000 nested divs reads the same: {same}/{len(sample)} pages "
          f"({(time.perf_counter() - t0) / max(len(sample), 1):.2f} s/page for both readings)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snapshot", default=GOLD_SNAPSHOT, help="corpus snapshot name")
    ap.add_argument("--no-tag", action="store_true", help="skip the extraction+tagging timing")
    ap.add_argument("--live", default=LIVE_SNAPSHOT, help="metaflow-live snapshot for (f); 'none' skips it")
    args = ap.parse_args()
    if args.live != "none":
        live_checks(args.live, load_sources()["metaflow"])
    sources = load_sources()
    pages = load_pages(args.snapshot)
    print(f"{len(pages)} pages, {sum(len(h) for _, _, h in pages) / len(pages) / 1024:.1f} KiB on average")

    # ---- (c) speed first (after one warm-up page); CPU time too, as the machine may be shared
    extract_all(pages[:1], sources)
    t0, c0 = time.perf_counter(), time.process_time()
    results = extract_all(pages, sources)
    t_ext, c_ext = time.perf_counter() - t0, time.process_time() - c0
    n_pass = sum(map(len, results))
    print("\n(c) speed")
    print(f"  extraction: {t_ext / len(pages) * 1000:.2f} ms/page wall ({c_ext / len(pages) * 1000:.2f} ms CPU), "
          f"{len(pages) / t_ext:.0f} pages/s, {n_pass / t_ext:.0f} passages/s")
    stages = stage_times(pages, sources)
    print("  stages (ms CPU/page): " + ", ".join(f"{k} {v / len(pages) * 1000:.2f}" for k, v in stages.items()))
    if not args.no_tag:
        from extractors.tagger import get_tagger

        tagger = get_tagger()
        tagger.tag_many([(results[0][0].text, results[0][0].heading_path)] if results[0] else [])
        t0, c0 = time.perf_counter(), time.process_time()
        for tool, path, html in pages:
            src = sources[tool]
            ps = P.extract_passages(html, path, content=src.content, drop=src.drop)
            tagger.tag_many([(p.text, p.heading_path) for p in ps])
        t_all, c_all = time.perf_counter() - t0, time.process_time() - c0
        print(f"  extraction+tagging: {t_all / len(pages) * 1000:.2f} ms/page wall ({c_all / len(pages) * 1000:.2f} ms CPU), "
              f"{len(pages) / t_all:.0f} pages/s, {n_pass / t_all:.0f} passages/s")
    print(f"  peak memory (maxrss): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

    # ---- (a) boilerplate
    print("\n(a) boilerplate")
    per_tool = Counter(t for t, _, _ in pages)
    for tool in per_tool:
        n = [len(ps) for (t, _, _), ps in zip(pages, results) if t == tool]
        print(f"  {tool:9} {sum(n) / len(n):.1f} passages/page, {sum(1 for x in n if x == 0)} pages without passages")
    empty = [p for (_, p, _), ps in zip(pages, results) if not ps]
    if empty:
        print("  pages without passages:", ", ".join(empty[:10]))
    for label, res in (("selectors", results), ("generic", None)):
        if res is None:
            res = extract_all(pages, sources, generic=True)
            generic = res
        stamp = [(path, m.group(0)) for (_, path, _), ps in zip(pages, res) for p in ps
                 for m in [CHROME_TEXT.search(p.text)] if m]
        leaky = [f"{path}#{p.anchor}" for (_, path, html), ps in zip(pages, res) for side in [sidebar_texts(html)]
                 for p in ps if len(set(p.text.split("\n")) & side) >= 20]
        print(f"  [{label}] passages with footer/build-stamp/edit-link text: {len(stamp)} {stamp[:4]}")
        print(f"  [{label}] passages with >= 20 distinct lines that are sidebar/nav link texts: {len(leaky)} {leaky[:3]}")
    print(f"  passages: {n_pass}; with code {sum(p.has_code for ps in results for p in ps)}, "
          f"with tables {sum(p.has_table for ps in results for p in ps)}; "
          f"mean {sum(len(p.text.split()) for ps in results for p in ps) / max(n_pass, 1):.0f} words")

    # ---- (b) precision / recall against the article element
    refs = [words(reference_text(html, tool)) for tool, _, html in pages]
    print("\n(b) bag-of-words vs article element, source selectors")
    print(prf(pages, results, refs))
    t0 = time.process_time()
    extract_all(pages, sources, generic=True)
    t_gen = time.process_time() - t0
    print(f"(b) same, generic fallback (no selectors; {t_gen / len(pages) * 1000:.2f} ms CPU/page)")
    print(prf(pages, generic, refs))

    # ---- (d) gold sections (labelled on one snapshot only)
    gold = [json.loads(line) for line in (SHARED / "gold" / "dev-sections.jsonl").open()]
    if args.snapshot != GOLD_SNAPSHOT:
        print(f"\n(d), (e) skipped: the gold sections are labelled on {GOLD_SNAPSHOT}")
        return
    have = {(t, p.url, p.anchor) for (t, _, _), ps in zip(pages, results) for p in ps}
    have_generic = {(t, p.url, p.anchor) for (t, _, _), ps in zip(pages, generic) for p in ps}
    by_key: dict = {}
    for (t, _, _), ps in zip(pages, results):
        for p in ps:
            by_key.setdefault((t, p.url, p.anchor), []).append(p)
    found = [g for g in gold if (g["tool"], g["url"], g["anchor"]) in have]
    print("\n(d) gold sections with a passage of the same url + anchor")
    print(f"  {len(found)}/{len(gold)} = {len(found) / len(gold):.4f} (generic fallback: "
          f"{sum((g['tool'], g['url'], g['anchor']) in have_generic for g in gold) / len(gold):.4f})")
    for tool in per_tool:
        gt = [g for g in gold if g["tool"] == tool]
        print(f"  {tool:9} {sum((g['tool'], g['url'], g['anchor']) in have for g in gt)}/{len(gt)}")
    missing = [(g["tool"], g["url"], g["anchor"]) for g in gold if (g["tool"], g["url"], g["anchor"]) not in have]
    if missing:
        print("  missing:", missing[:8])
    # Same section under another anchor convention? Match the rest by url + heading path words.
    paths = {(t, p.url, tuple(WORD.findall(" / ".join(p.heading_path).lower())))
             for (t, _, _), ps in zip(pages, results) for p in ps}
    by_path = [g for g in gold if (g["tool"], g["url"], g["anchor"]) not in have
               and (g["tool"], g["url"], tuple(WORD.findall(" / ".join(g["heading_path"]).lower()))) in paths]
    print(f"  missing ones found by url + heading path instead: {len(by_path)} "
          f"({', '.join(sorted({repr(g['anchor']) for g in by_path})[:6])}...); "
          f"url + (anchor or heading path): {(len(found) + len(by_path)) / len(gold):.4f}")
    same_path = f1s = 0.0
    for g in found:
        ps = by_key[(g["tool"], g["url"], g["anchor"])]
        same_path += tuple(g["heading_path"]) in {p.heading_path for p in ps}
        mine, ref = words(" ".join(p.text for p in ps)), words(g["text"])
        h = sum((mine & ref).values())
        f1s += 2 * h / max(sum(mine.values()) + sum(ref.values()), 1)
    print(f"  of those: same heading path {same_path / max(len(found), 1):.4f}, "
          f"mean word F1 of section text vs gold text {f1s / max(len(found), 1):.4f}")

    # ---- (e) splitting long sections
    keep = P.MAX_WORDS
    P.MAX_WORDS = None
    whole = extract_all(pages, sources)
    P.MAX_WORDS = keep
    lengths = sorted(len(p.text.split()) for ps in whole for p in ps)
    print(f"\n(e) splitting at {keep} words: {sum(map(len, whole))} passages unsplit -> {n_pass} split; "
          f"unsplit length median {lengths[len(lengths) // 2]}, p95 {lengths[int(len(lengths) * .95)]}, "
          f"max {lengths[-1]} words; sections over {keep}: {sum(1 for x in lengths if x > (keep or 0))}")
    if not args.no_tag:
        from extractors.tagger import get_tagger

        tagger = get_tagger()
        for label, res in (("unsplit", whole), (f"split@{keep}", results)):
            tags: dict = {}
            for (t, _, _), ps in zip(pages, res):
                tagged = tagger.tag_many([(p.text, p.heading_path) for p in ps])
                for p, (tg, _facts) in zip(ps, tagged):
                    tags.setdefault((t, p.url, p.anchor), set()).update(x.criterion for x in tg)
            tp = fp = fn = 0
            for g in gold:
                pred, true = tags.get((g["tool"], g["url"], g["anchor"]), set()), set(g["criteria"])
                tp, fp, fn = tp + len(pred & true), fp + len(pred - true), fn + len(true - pred)
            print(f"  gold tagging with {label:10} passages (section = union of its passages): "
                  f"micro P {tp / max(tp + fp, 1):.3f} R {tp / max(tp + fn, 1):.3f} F1 {2 * tp / max(2 * tp + fp + fn, 1):.3f}")


if __name__ == "__main__":
    main()
