"""Sources: the shipped file, user files, --base-url rewriting and the errors users see."""
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from knowledge.errors import UsageError
from knowledge.domain.sources import is_loopback, load_sources, rebase, select_sources

runner = CliRunner()


def test_builtin_sources_cover_the_study_tools():
    sources = load_sources()
    assert set(sources) == {"metaflow", "mlflow", "dvc"}
    for s in sources.values():
        assert s.roots and s.allow and s.cited
        assert all(any(r.startswith(a) for a in s.allow) for r in s.roots), s.tool


def test_dvc_points_at_the_new_docs_host_and_keeps_the_old_one_in_scope():
    dvc = load_sources()["dvc"]
    assert dvc.roots[0].startswith("https://doc.dvc.org/")
    # old links (and the study's citations) redirect from dvc.org/doc: they must stay in scope
    assert any(a.startswith("https://dvc.org/doc") for a in dvc.allow)
    assert all(c.startswith("https://dvc.org/doc") for c in dvc.cited)


def test_a_fourth_tool_is_one_entry(tmp_path: Path):
    text = (Path(__file__).parents[1] / "knowledge" / "data" / "sources.toml").read_text()
    text += '\n[[source]]\ntool = "kedro"\nroots = ["https://docs.kedro.org/en/stable/"]\n' \
            'allow = ["https://docs.kedro.org/en/stable/"]\n'
    f = tmp_path / "sources.toml"
    f.write_text(text)
    sources = load_sources(f)
    assert "kedro" in sources and sources["kedro"].max_pages == 2000
    result = runner.invoke(app, ["sources", "--sources", str(f), "--json"])
    assert result.exit_code == 0 and '"kedro"' in result.stdout


def test_base_url_replaces_scheme_and_host_and_keeps_paths():
    (dvc,) = select_sources(load_sources(), ["dvc"], ["dvc=http://127.0.0.1:8002"])
    assert dvc.roots == ("http://127.0.0.1:8002/", "http://127.0.0.1:8002/doc")
    assert dvc.origin == "http://127.0.0.1:8002" and is_loopback(dvc.roots[0])
    assert rebase("https://mlflow.org/docs/latest/index.html?x=1", "http://localhost:9") == \
        "http://localhost:9/docs/latest/index.html?x=1"


@pytest.mark.parametrize("tools, base, needle", [
    (["kedro"], None, "Valid tools: dvc, metaflow, mlflow"),
    (["dvc"], ["dvc"], "TOOL=ORIGIN"),
    (["dvc"], ["nope=http://x"], "Unknown tool 'nope'"),
    (["dvc"], ["dvc=ftp://x"], "must be an origin"),
])
def test_bad_names_and_overrides_are_usage_errors(tools, base, needle):
    with pytest.raises(UsageError) as exc:
        select_sources(load_sources(), tools, base)
    assert needle in str(exc.value)


@pytest.mark.parametrize("content, needle", [
    ("[[source]]\ntool = 'x'\n", "lacks roots, allow"),
    ("this is = = not toml", "not valid TOML"),
    ("[other]\na = 1\n", "no [[source]] entries"),
    ("[[source]]\ntool='x'\nroots=['ftp://a']\nallow=['ftp://a']\n", "not an http(s) URL"),
    ("[[source]]\ntool='x'\nroots=['http://a/']\nallow=['http://a/']\n[[source]]\ntool='x'\nroots=['http://a/']\nallow=['http://a/']\n", "appears twice"),
    ("[[source]]\ntool='x'\nroots=['http://a/']\nallow=['http://a/']\nvariants=['/v/r/']\n", "table of URL path prefixes"),
    ("[[source]]\ntool='x'\nroots=['http://a/']\nallow=['http://a/']\nvariants={r='v/r'}\n", "table of URL path prefixes"),
    ("[[source]]\ntool='x'\nroots=['http://a/']\nallow=['http://a/']\nvariant_mode='hide'\n", "exclude, separate"),
])
def test_malformed_sources_file_gives_one_line_error_exit_2(tmp_path: Path, content, needle):
    f = tmp_path / "s.toml"
    f.write_text(content)
    result = runner.invoke(app, ["sources", "--sources", str(f)])
    assert result.exit_code == 2
    assert needle in result.stderr
    assert "Traceback" not in result.output


def test_doc_variants_are_left_out_or_become_tools_of_their_own(tmp_path: Path):
    metaflow = load_sources()["metaflow"]
    assert dict(metaflow.variants) == {"r": "/v/r/"} and metaflow.variant_mode == "exclude"
    assert metaflow.variant_prefixes() == ("https://docs.metaflow.org/v/r/",)
    assert "metaflow-r" not in load_sources()
    f = tmp_path / "s.toml"
    f.write_text('[[source]]\ntool = "mf"\nname = "MF"\nroots = ["https://d.invalid/"]\nallow = ["https://d.invalid/"]\n'
                 'cited = ["https://d.invalid/x"]\nvariants = {r = "/v/r/"}\nvariant_mode = "separate"\n')
    sources = load_sources(f)
    r = sources["mf-r"]
    assert (r.roots, r.allow, r.name, r.cited, r.variant_of) == (("https://d.invalid/v/r/",), ("https://d.invalid/v/r/",),
                                                                 "MF (r)", (), "mf")
    # --base-url of the main tool serves its variant too; the real origins are remembered
    (main, variant) = select_sources(sources, ["mf", "mf-r"], ["mf=http://127.0.0.1:9"])
    assert variant.roots == ("http://127.0.0.1:9/v/r/",) and main.live_origins == ("https://d.invalid",)
    assert main.to_dict()["variants"] == {"r": "/v/r/"}
