"""knowledge/ is layered by stage (see knowledge/__init__.py): a package may import only from the
packages above it. This test reads every import in knowledge/ and fails on one that flows back."""
from __future__ import annotations

import ast
from pathlib import Path

import knowledge

ROOT = Path(knowledge.__file__).resolve().parent
# Top to bottom; base modules (errors, textsafe) may be imported by every layer.
LAYERS = ["domain", "store", "evidence", "claims", "diff", "review", "report", "ops"]
BASE = {"errors", "textsafe"}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "knowledge" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
            if node.module == "knowledge":
                out += [f"knowledge.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def test_every_knowledge_package_documents_what_it_owns():
    for layer in LAYERS:
        init = ROOT / layer / "__init__.py"
        assert init.is_file(), f"knowledge/{layer} is not a package"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert len(doc) > 60, f"knowledge/{layer}/__init__.py must say what it owns and may import"


def test_imports_flow_one_way():
    backwards = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        own = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        if own in BASE:
            allowed: set[str] = set()
        elif own in LAYERS:
            allowed = set(LAYERS[: LAYERS.index(own) + 1])
        else:
            continue   # knowledge/__init__.py
        for module in _imports(path):
            layer = _layer(module)
            if layer is None or layer in BASE or layer in allowed:
                continue
            backwards.append(f"{rel}: imports {module}")
    assert backwards == [], "imports flowing against the stage order:\n" + "\n".join(backwards)
