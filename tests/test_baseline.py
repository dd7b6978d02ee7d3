"""The study's baseline claims: complete, in the shared fact vocabulary, and strictly validated."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from knowledge.domain.baseline import FACT_VOCABULARY, STATUSES, baseline_for, load_baseline, tool_summary
from knowledge.domain.checklist import criterion_ids
from knowledge.errors import UsageError
from knowledge.domain.sources import load_sources

TOOLS = sorted(t for t, s in load_sources().items() if not s.variant_of)   # the study's tools


def test_every_tool_and_criterion_has_exactly_one_claim():
    claims = load_baseline()
    assert len(TOOLS) == 3 and len(criterion_ids()) == 15
    assert set(claims) == {(t, c) for t in TOOLS for c in criterion_ids()}
    for (tool, criterion), claim in claims.items():
        assert (claim.tool, claim.criterion) == (tool, criterion)
        assert claim.claim and claim.status in STATUSES


def test_facts_use_the_shared_vocabulary():
    for claim in load_baseline().values():
        for category, values in claim.facts.items():
            assert category in FACT_VOCABULARY and values
            assert set(values) <= set(FACT_VOCABULARY[category]), (claim.tool, claim.criterion, values)


def test_vocabulary_matches_the_tagger_patterns():
    """The diff compares baseline facts with tagged facts: both must speak the same ids."""
    patterns = Path(__file__).resolve().parents[1] / "extractors" / "patterns" / "facts.jsonl"
    if not patterns.is_file():
        pytest.skip("tagger patterns not present")
    labels = {json.loads(line)["label"] for line in patterns.read_text(encoding="utf-8").splitlines() if line.strip()}
    vocabulary = {f"{c}:{v}" for c, vals in FACT_VOCABULARY.items() for v in vals}
    assert labels <= vocabulary, sorted(labels - vocabulary)


def test_citations_are_urls():
    cited = 0
    for claim in load_baseline().values():
        for url in claim.citations:
            parts = urlsplit(url)
            assert parts.scheme in ("http", "https") and parts.netloc, url
            cited += 1
    assert cited >= 50


def test_citations_are_attributed_to_the_right_tool():
    hosts = {"metaflow": "metaflow.org", "dvc": "dvc.org", "mlflow": "mlflow.org"}
    for claim in load_baseline().values():
        for url in claim.citations:
            for tool, host in hosts.items():
                if urlsplit(url).netloc.endswith(host):
                    assert tool == claim.tool, (claim.tool, claim.criterion, url)


def test_known_cells_carry_the_studys_words_and_facts():
    dvc_storage = baseline_for("dvc", "storage")
    assert dvc_storage.claim.startswith("Local file path, SSH/SFTP, HDFS")
    assert set(dvc_storage.facts["storage_backend"]) >= {"s3", "azure-blob", "gcs", "hdfs", "google-drive", "oss"}
    assert "https://www.mlflow.org/docs/latest/tracking.html#id49" in baseline_for("mlflow", "storage").citations
    assert baseline_for("mlflow", "storage").claim.startswith("Local file paths, NFS, SFTP")
    assert baseline_for("mlflow", "scaling").facts["compute_backend"] == ("databricks", "kubernetes", "spark", "local")
    assert baseline_for("metaflow", "serving").facts == {"serving_target": ("pickle",)}
    assert [baseline_for(t, "hpc").status for t in ("metaflow", "dvc", "mlflow")] == \
        ["to_be_tested", "work_in_progress", "to_be_tested"]
    assert baseline_for("dvc", "real_world").status == "work_in_progress"
    assert baseline_for("nope", "storage") is None
    assert "not for our use-case" in tool_summary("metaflow").verdict


def test_loading_is_cached():
    assert load_baseline() is load_baseline()


GOOD = '''
[[claim]]
tool = "dvc"
criterion = "storage"
claim = "S3 only."
citations = ["https://dvc.org/doc"]
status = "stated"
facts = { storage_backend = ["s3"] }
'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "baseline.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_user_file_loads(tmp_path):
    claims = load_baseline(write(tmp_path, GOOD))
    assert claims[("dvc", "storage")].facts == {"storage_backend": ("s3",)}


@pytest.mark.parametrize("old, new, expected", [
    ('tool = "dvc"', 'tool = "kubeflow"', "unknown tool 'kubeflow'"),
    ('criterion = "storage"', 'criterion = "speed"', "unknown criterion 'speed'"),
    ('status = "stated"', 'status = "maybe"', "unknown status 'maybe'"),
    ('storage_backend = ["s3"]', 'storage_backend = ["ftp"]', "unknown storage_backend value(s) 'ftp'"),
    ('storage_backend = ["s3"]', 'cloud = ["s3"]', "unknown fact category 'cloud'"),
    ('["https://dvc.org/doc"]', '["dvc.org/doc"]', "is not an http(s) URL"),
    ('claim = "S3 only."', 'claim = "S3 only."\nsource = "x"', "unknown field(s) source"),
    ('claim = "S3 only."', 'claim = ""', "lacks claim"),
])
def test_bad_entries_are_rejected_with_a_clear_error(tmp_path, old, new, expected):
    with pytest.raises(UsageError) as info:
        load_baseline(write(tmp_path, GOOD.replace(old, new)))
    assert expected in str(info.value) and "claim 1" in str(info.value)


def test_duplicates_bad_toml_and_missing_files_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="appears twice"):
        load_baseline(write(tmp_path, GOOD + GOOD))
    with pytest.raises(UsageError, match="not valid TOML"):
        load_baseline(write(tmp_path, "[[claim]\n"))
    with pytest.raises(UsageError, match="no \\[\\[claim\\]\\] entries"):
        load_baseline(write(tmp_path, "x = 1\n"))
    with pytest.raises(UsageError, match="does not exist"):
        load_baseline(tmp_path / "missing.toml")
