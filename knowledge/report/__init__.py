"""Report: the study's tool x criterion matrix, kept current, in Markdown, HTML, CSV and JSON.

Owns: matrix.py (build_matrix and the shared cell helpers), markdown.py, html.py, render.py
(format choice, dispatch, writing). May import every package above it (domain, store, evidence,
claims, diff, review); nothing imports it but ops and the CLI.
"""
