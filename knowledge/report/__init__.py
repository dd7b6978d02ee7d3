"""Report: the study's tool x criterion matrix, kept current and as of any crawl, in Markdown, HTML,
CSV and JSON; and the changelog of the matrix.

Owns: matrix.py (read_matrix / build_matrix and the shared cell helpers), snapshot.py (one crawl as
the report reads it, recorded in the store), timeline.py (crawls, "as of", flags and reviews as they
stood then), changelog.py (what changed, crawl by crawl), markdown.py, html.py, render.py (format
choice, dispatch, writing). May import every package above it (domain, store, evidence, claims,
diff, review); nothing imports it but ops and the CLI.
"""
