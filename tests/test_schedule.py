"""`collector schedule`: the generated configs run crawl -> diff -> report, keep the report when
diff finds changes (exit 1), and make that week visible (non-zero exit / notice)."""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli
from knowledge.errors import UsageError
from knowledge.ops.schedule import INSTALL_PLACEHOLDER, TARGETS, parse_time, render

FAKE = """#!/bin/sh
# Stands in for `collector`: logs its arguments, fails as told, writes the report file.
echo "$*" >> "$FAKE_LOG"
case "$1" in
  crawl) exit "${FAKE_CRAWL_RC:-0}" ;;
  diff) exit "${FAKE_DIFF_RC:-0}" ;;
  report) while [ $# -gt 0 ]; do [ "$1" = "-o" ] && echo "<html>report</html>" > "$2"; shift; done ;;
esac
"""


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    exe = tmp_path / "bin dir" / "collector"
    exe.parent.mkdir()
    exe.write_text(FAKE)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


def _run(shell: list[str], script: str, tmp_path: Path, diff_rc: int, crawl_rc: int = 0):
    env = dict(os.environ, FAKE_LOG=str(tmp_path / "calls.log"), FAKE_DIFF_RC=str(diff_rc),
               FAKE_CRAWL_RC=str(crawl_rc))
    return subprocess.run(shell + [script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)


def _calls(tmp_path: Path) -> list[str]:
    return [line.split()[0] for line in (tmp_path / "calls.log").read_text().splitlines()]


def _yaml_block(text: str, header: str) -> str:
    """The literal block (`key: |`) that follows `header`, dedented."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if header in line)
    i = next(j for j in range(start, len(lines)) if lines[j].rstrip().endswith("|"))
    indent = len(lines[i + 1]) - len(lines[i + 1].lstrip())
    block = []
    for line in lines[i + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            break
        block.append(line[indent:])
    return "\n".join(block) + "\n"


def _cron_command(text: str) -> str:
    line = next(line for line in text.splitlines() if line and not line.startswith("#"))
    fields = line.split(" ", 5)
    assert len(fields) == 6
    return fields[5].replace(r"\%", "%")


@pytest.mark.parametrize("diff_rc", [0, 1])
def test_cron_line_writes_report_and_flags_changes(tmp_path, fake, diff_rc):
    db = tmp_path / "store dir" / "c.sqlite"
    report = tmp_path / "store dir" / "weekly report.html"
    text = render("cron", db=db, report=report, tools=["dvc"], time="fri 18:30", executable=str(fake))
    assert re.search(r"^30 18 \* \* 5 ", text, re.M)
    result = _run(["sh", "-c"], _cron_command(text), tmp_path, diff_rc)
    assert report.read_text() == "<html>report</html>\n"
    assert _calls(tmp_path) == ["crawl", "diff", "report"]
    log = (db.parent / "collector-weekly.log").read_text()
    assert f"diff exit {diff_rc}" in log
    # cron mails what the line prints: only the notice, and only when there is something to see.
    assert ("found changes or failed (exit 1)" in result.stdout) == bool(diff_rc)
    assert not diff_rc or str(report) in result.stdout


def test_cron_fills_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = render("cron", db=Path("rel/c.sqlite"))
    assert f"--db {tmp_path}/rel/c.sqlite" in text
    assert f"-o {tmp_path}/rel/report.html" in text
    exe = _cron_command(text).split("crawl_rc=0; diff_rc=0; report_rc=0; ")[1].split(" crawl ")[0]
    assert exe.startswith("/"), exe


def _systemd_unquote(exec_start: str) -> list[str]:
    """ExecStart=/bin/sh -c '...' as systemd reads it: $$ -> $, %% -> %, C escapes in quotes."""
    prog, flag, quoted = exec_start.split(" ", 2)
    assert quoted[0] == quoted[-1] == "'"
    body = quoted[1:-1]
    assert not re.search(r"(?<!\$)\$(?!\$)", body.replace("$$", "")), "unescaped $ would be expanded by systemd"
    body = re.sub(r"\\(.)", r"\1", body.replace("$$", "$").replace("%%", "%"))
    return [prog, flag, body]


# 1 only means "changes to review": a failed crawl (3) outranks it, so a broken week never passes for news
@pytest.mark.parametrize("diff_rc,crawl_rc,expected", [(1, 0, 1), (0, 0, 0), (0, 3, 3), (1, 3, 3), (3, 0, 3)])
def test_systemd_service_exit_status_and_report(tmp_path, fake, diff_rc, crawl_rc, expected):
    db = tmp_path / "odd $dir %n" / "c.sqlite"
    db.parent.mkdir()
    text = render("systemd", db=db, tools=["mlflow"], time="Mon 06:00", executable=str(fake))
    service = text.split("---- collector-weekly.service ----\n")[1].split("# ---- collector-weekly.timer")[0]
    timer = text.split("---- collector-weekly.timer ----\n")[1]
    assert "OnCalendar=Mon *-*-* 06:00:00" in timer and "Persistent=true" in timer
    assert "WantedBy=timers.target" in timer and "Type=oneshot" in service
    exec_start = next(line for line in service.splitlines() if line.startswith("ExecStart="))[len("ExecStart="):]
    prog, flag, script = _systemd_unquote(exec_start)
    result = _run([prog, flag], script, tmp_path, diff_rc, crawl_rc)
    assert result.returncode == expected, result.stderr
    assert (db.parent / "report.html").is_file()
    assert _calls(tmp_path) == ["crawl", "diff", "report"]
    if shutil.which("systemd-analyze"):
        unit = tmp_path / "collector-weekly.service"
        unit.write_text(service)
        check = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
        assert "ExecStart" not in check.stderr and "quoting" not in check.stderr.lower(), check.stderr
        cal = subprocess.run(["systemd-analyze", "calendar", "Mon *-*-* 06:00:00"], capture_output=True, text=True)
        assert cal.returncode == 0


@pytest.mark.parametrize("target,header,shell", [
    ("github-actions", "name: Crawl, diff, report", ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]),
    ("gitlab-ci", "script:", ["bash", "-e", "-c"]),
])
def test_ci_job_keeps_report_and_fails_on_changes(tmp_path, fake, target, header, shell):
    text = render(target, tools=["dvc", "mlflow"], time="wed 07:15", executable=str(fake))
    script = _yaml_block(text, header)
    if target == "gitlab-ci":
        # the job's script list: pip install, mkdir, then the literal block
        assert "when: always" in text
        assert "15 7 * * 3" in text    # the pattern to enter in the pipeline schedule
    else:
        assert 'cron: "15 7 * * 3"' in text
        assert text.count("if: always()") == 2 and "actions/upload-artifact@v4" in text
    # never the unrelated PyPI project "collector": this project, from a repository the group fills in
    assert "pip install collector\n" not in text and f"pip install {INSTALL_PLACEHOLDER}" in text
    assert "EDIT the next line" in text
    result = _run(shell, script, tmp_path, diff_rc=1)
    assert result.returncode == 1
    assert (tmp_path / "report.html").is_file()
    assert (tmp_path / "calls.log").read_text().splitlines()[0] == "crawl --db .collector/collector.sqlite --wait dvc mlflow"
    result = _run(shell, script, tmp_path, diff_rc=0)
    assert result.returncode == 0


def test_install_spec_is_used(tmp_path):
    text = render("github-actions", install="git+https://example.org/collector.git")
    assert "pip install git+https://example.org/collector.git" in text and "EDIT" not in text
    assert "      - run: pip install ." in render("github-actions", install=".")
    assert "    - pip install ." in render("gitlab-ci", install=".")


def test_installing_the_unrelated_pypi_project_is_refused():
    with pytest.raises(UsageError) as exc:
        render("gitlab-ci", install="collector")
    assert "unrelated project" in exc.value.message
    result = CliRunner().invoke(cli.app, ["schedule", "github-actions"])
    assert result.exit_code == 0 and "Edit the `pip install` line" in result.stderr


@pytest.mark.parametrize("value,expected", [
    ("Mon 06:00", (1, 6, 0)), ("friday 18:30", (5, 18, 30)), ("06:05", (1, 6, 5)), ("SUN 0:00", (0, 0, 0)),
])
def test_parse_time(value, expected):
    w = parse_time(value)
    assert (w.day, w.hour, w.minute) == expected


@pytest.mark.parametrize("value", ["mo 06:00", "Mon 24:00", "Mon 6", "daily", "fr 1:60"])
def test_parse_time_rejects(value):
    with pytest.raises(UsageError):
        parse_time(value)


def test_cli_unknown_target_lists_valid_ones():
    result = CliRunner().invoke(cli.app, ["schedule", "launchd"])
    assert result.exit_code == 2
    for name in TARGETS:
        assert name in result.output


def test_cli_prints_config_to_stdout(tmp_path):
    db = tmp_path / "c.sqlite"
    result = CliRunner().invoke(cli.app, ["schedule", "cron", "--db", str(db), "--tools", "DVC"])
    assert result.exit_code == 0, result.output
    assert f"--db {db} --wait dvc" in result.stdout
    bad = CliRunner().invoke(cli.app, ["schedule", "cron", "--tools", "airflow"])
    assert bad.exit_code == 2


def test_report_format_follows_extension(tmp_path):
    assert "--format html -o" in render("cron", db=tmp_path / "c.sqlite")
    assert f"--format md -o {tmp_path}/weekly.md" in render("cron", db=tmp_path / "c.sqlite", report=tmp_path / "weekly.md")


def test_cron_line_end_to_end_with_the_real_collector(tmp_path):
    """The generated cron line, run by sh with the real `collector` against a local copy of a docs
    site (a sources file points at it). The first week's diff puts the study's stale claims up for
    review; once they are reviewed, a quiet week -> exit 0 and a report; changed docs -> the
    notice for cron's mail, diff exit 1 in the log, and a fresh report anyway."""
    import json

    from crawler.localserver import serve
    from fixtures.sites import site_root
    from knowledge.domain.sources import load_sources

    db, report, sources = tmp_path / "store" / "c.sqlite", tmp_path / "store" / "report.html", tmp_path / "s.toml"
    env = dict(os.environ, no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost")
    port = 0
    results = []
    for week, version in enumerate(("v1", "v1", "v2")):
        if week == 1:   # the group reviews the first week's flags (the study's stale claims)
            from knowledge.diff.engine import open_flags
            from knowledge.review.decisions import decide
            from knowledge.store import Store

            with Store.open(db, create=False) as store:
                first = open_flags(store)
                assert first and all(f.kind == "contradiction" for f in first)
                for flag in first:
                    decide(store, flag.id, "accepted", reviewer="the group")
        with serve(site_root(version, "metaflow"), port=port) as server:
            port = server.server_address[1]
            source = load_sources()["metaflow"].with_origin(server.origin).to_dict()
            keys = ("tool", "name", "roots", "allow", "deny", "sitemaps", "content", "drop", "generator")
            sources.write_text("[[source]]\n" + "".join(f"{k} = {json.dumps(source[k])}\n" for k in keys))
            text = render("cron", db=db, report=report, sources=sources, tools=["metaflow"])
            assert f"--sources {sources}" in text
            run = subprocess.run(["sh", "-c", _cron_command(text)], env=env, cwd=tmp_path, capture_output=True,
                                 text=True, timeout=180)
        log = (db.parent / "collector-weekly.log").read_text()
        results.append((run.stdout, log.rsplit("=== collector weekly run", 1)[-1], report.read_text()))
    (first, first_log, _), (quiet, quiet_log, quiet_report), (changed, changed_log, changed_report) = results
    assert "diff exit 1" in first_log and "found changes" in first
    assert quiet == "" and "crawl exit 0, diff exit 0" in quiet_log, quiet_log
    assert "found changes or failed (exit 1)" in changed and str(report) in changed
    assert "diff exit 1" in changed_log and "report exit 0" in changed_log, changed_log
    assert quiet_report.lstrip().lower().startswith("<!doctype html")
    assert changed_report != quiet_report and "scaling" in changed_report


@pytest.mark.parametrize("gh_rc", [0, 1])
def test_github_restore_step_survives_a_missing_previous_store(tmp_path, gh_rc):
    """The restore step runs under `bash -e`: no previous run, an expired artifact or a gh error must
    not fail the job (the crawl then starts a new store); a found store lands in .collector/."""
    text = render("github-actions")
    script = _yaml_block(text, "name: Restore the store from the previous run")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    gh = bindir / "gh"
    gh.write_text(f"""#!/bin/sh
[ {gh_rc} -ne 0 ] && exit {gh_rc}
case "$2" in
  list) echo 12345 ;;
  download) while [ $# -gt 0 ]; do [ "$1" = "-D" ] && echo store > "$2/collector.sqlite"; shift; done ;;
esac
""")
    gh.chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", GITHUB_REPOSITORY="lab/docs")
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    restored = tmp_path / ".collector" / "collector.sqlite"
    assert restored.exists() == (gh_rc == 0)
