"""Ready-to-use configuration for the weekly crawl: cron, systemd, GitLab CI, GitHub Actions.

Every target runs the same three steps: `collector crawl`, `collector diff --exit-code`,
`collector report -o FILE`. The report is written *even when diff exits 1* (changes found). The
job's own exit status is a failed step's (crawl, else report, else diff: 2 = wrong command or
config, 3 = failed), else diff's (1 = changes to review, 0 = nothing new), so a week with changes
shows up both as a failed job / non-zero exit and as a report file the group can open, and a
broken week is never mistaken for one with changes.
"""
from __future__ import annotations

import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from knowledge.errors import UsageError, unknown_name

TARGETS = ("cron", "systemd", "gitlab-ci", "github-actions")
FULL_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")  # cron: 0 = Sunday
DEFAULT_TIME = "Mon 06:00"
CI_DB = ".collector/collector.sqlite"   # inside the CI workspace, restored between runs
CI_REPORT = "report.html"
UNIT = "collector-weekly"
# The CI jobs install collector from its repository: it is not on PyPI, and the PyPI project named
# "collector" is an unrelated one. Until the group says where its copy lives, the job carries a
# placeholder to edit (pip fails on it loudly rather than installing something else).
INSTALL_PLACEHOLDER = "git+https://YOUR-GIT-HOST/YOUR-GROUP/collector.git"
DISTRIBUTION = "mlops-docs-collector"


@dataclass(frozen=True)
class When:
    day: int      # 0 = Sunday .. 6 = Saturday
    hour: int
    minute: int

    @property
    def cron(self) -> str:
        return f"{self.minute} {self.hour} * * {self.day}"

    @property
    def systemd(self) -> str:
        return f"{FULL_DAYS[self.day][:3].capitalize()} *-*-* {self.hour:02d}:{self.minute:02d}:00"

    @property
    def text(self) -> str:
        return f"every {FULL_DAYS[self.day][:3].capitalize()} at {self.hour:02d}:{self.minute:02d}"


def parse_time(value: str | None) -> When:
    """'Mon 06:00', 'friday 18:30' or '06:00' (Monday) -> When; anything else is a UsageError."""
    text = (value or DEFAULT_TIME).strip().lower()
    m = re.fullmatch(r"(?:([a-z]+)[ @,]+)?(\d{1,2}):(\d{2})", text)
    day = (m.group(1) or "mon") if m else ""
    days = [i for i, full in enumerate(FULL_DAYS) if len(day) >= 3 and full.startswith(day)]
    if not m or not days or int(m.group(2)) > 23 or int(m.group(3)) > 59:
        raise UsageError(f"--time '{value}' is not a weekly time.",
                         "Use DAY HH:MM (24-hour clock), e.g. --time 'Mon 06:00' or --time 'fri 18:30'.")
    return When(days[0], int(m.group(2)), int(m.group(3)))


def collector_executable() -> str:
    """Absolute path of the `collector` command this process runs as (cron/systemd have a bare PATH)."""
    found = shutil.which("collector")
    if found:
        return str(Path(found).resolve())
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 and argv0.name == "collector" and argv0.exists():
        return str(argv0.resolve())
    beside = Path(sys.executable).parent / "collector"   # a virtualenv that is not on PATH
    if beside.exists():
        return str(beside)
    # Not installed as a console script (e.g. `python -m cli`): run the module with this interpreter.
    return f"{sys.executable} -m cli"


def weekly_script(exe: str, db: str, report: str, crawl_args: list[str], quote=shlex.quote) -> list[str]:
    """The POSIX sh lines of one weekly run; they work with and without `set -e` (CI shells use it).

    `crawl_args`: extra arguments of `collector crawl` (--sources FILE, tool names)."""
    db_opt = f"--db {quote(db)}"
    return [
        "crawl_rc=0; diff_rc=0; report_rc=0",
        # --wait: a crawl or evidence rebuild someone started by hand delays the weekly run, not fails it
        f"{exe} crawl {db_opt} --wait{''.join(' ' + quote(a) for a in crawl_args)} || crawl_rc=$?",
        f"{exe} diff {db_opt} --exit-code || diff_rc=$?",
        f"{exe} report {db_opt} --format {report_format(report)} -o {quote(report)} || report_rc=$?",
        'echo "collector weekly run: crawl exit $crawl_rc, diff exit $diff_rc, report exit $report_rc '
        f'(1 = changes to review, 2 = wrong command or config, 3 = failed); report:" {quote(report)}',
        # a failure outranks "changes found": a broken week must not pass for a week with news
        "exit $(( crawl_rc ? crawl_rc : (report_rc ? report_rc : diff_rc) ))",
    ]


def report_format(report: str) -> str:
    """`collector report` writes Markdown unless told otherwise: follow the file's extension."""
    return "html" if report.lower().endswith((".html", ".htm")) else "md"


def install_spec(install: str | None) -> str:
    """What `pip install` gets in a CI job: a git+https URL of the group's collector repository,
    a local path (`.`: the job runs in a checkout of collector), or the placeholder to edit."""
    spec = (install or INSTALL_PLACEHOLDER).strip()
    if spec.lower() in ("collector", "collector-docs"):
        raise UsageError(f"--install {spec} would install an unrelated project of that name from PyPI.",
                         "Pass the repository collector is kept in, e.g. --install git+https://gitlab.example.org/"
                         "group/collector.git, or --install . when the job runs in a checkout of collector.")
    return spec


def render(target: str, *, db: Path | str | None = None, report: Path | str | None = None,
           tools: list[str] | None = None, time: str | None = None, executable: str | None = None,
           install: str | None = None, sources: Path | str | None = None) -> str:
    """The configuration text for `target` (one of TARGETS), ready to paste or save.

    `executable`: path of the collector command (default: this one, found on PATH / argv[0]).
    `install`: what a CI job installs (see `install_spec`; default: INSTALL_PLACEHOLDER to edit).
    `sources`: the group's own sources file, passed to the weekly crawl.
    """
    name = (target or "").strip().lower()
    if name not in TARGETS:
        raise unknown_name("schedule target", target, list(TARGETS))
    install = install_spec(install)
    when = parse_time(time)
    crawl_args = [t.strip().lower() for t in tools or [] if t.strip()]
    local = name in ("cron", "systemd")   # absolute paths on this machine; CI: paths in the job folder
    if sources:
        where = Path(sources).expanduser().resolve() if local else Path(sources)
        if local and not where.is_file():
            raise UsageError(f"Sources file {where} does not exist.", "Check the --sources path.")
        crawl_args = ["--sources", str(where)] + crawl_args
    if local:
        from knowledge.store import default_db_path

        db_path = Path(db).expanduser().resolve() if db else default_db_path().resolve()
        report_path = Path(report).expanduser().resolve() if report else db_path.with_name("report.html")
        if name == "cron":
            return _cron(when, _exe(executable, shlex.quote), str(db_path), str(report_path), crawl_args)
        return _systemd(when, _exe(executable, _double_quote), str(db_path), str(report_path), crawl_args)
    # CI: paths live in the job's workspace; the store is carried from one run to the next.
    db_rel, report_rel = str(db or CI_DB), str(report or CI_REPORT)
    exe = shlex.quote(executable) if executable else "collector"   # on PATH after pip install
    if name == "gitlab-ci":
        return _gitlab(when, exe, db_rel, report_rel, crawl_args, install)
    return _github(when, exe, db_rel, report_rel, crawl_args, install)


def _exe(executable: str | None, quote) -> str:
    exe = executable or collector_executable()
    return exe if exe.endswith(" -m cli") else quote(exe)


def _double_quote(text: str) -> str:
    """sh double quotes: the systemd unit wraps the whole script in single quotes."""
    if re.fullmatch(r"[\w@%+=:,./-]+", text):
        return text
    return '"' + re.sub(r'([\\"$`])', r"\\\1", text) + '"'


def _cron(when: When, exe: str, db: str, report: str, crawl_args: list[str]) -> str:
    log = str(Path(db).with_name("collector-weekly.log"))
    body = "; ".join(['echo "=== collector weekly run, $(date -u) ==="'] + weekly_script(exe, db, report, crawl_args))
    # A subshell (not { }) so its `exit` ends only the subshell and the failure notice below can
    # still print: cron mails that line (set MAILTO) while the full output goes to the log file.
    # mkdir: the log sits next to the store, whose folder does not exist before the first run.
    line = (f"{when.cron} mkdir -p {shlex.quote(str(Path(log).parent))} && ( {body} ) >> {shlex.quote(log)} 2>&1 "
            f"|| echo \"collector: the weekly run found changes or failed (exit $?); open\" {shlex.quote(report)} "
            f"\"and see\" {shlex.quote(log)}")
    line = line.replace("%", r"\%")   # cron turns a bare % into a newline
    return "\n".join([
        f"# collector: weekly crawl + diff + report, {when.text} (server time).",
        "# Install: `crontab -e` and paste the line below (keep it on ONE line).",
        f"# Output goes to {log}; set MAILTO=you@example.org above it to get a mail when changes are found.",
        line,
        "",
    ])


def _systemd_escape(text: str) -> str:
    # systemd expands $VAR and %specifiers in ExecStart; $$ and %% are the literal characters,
    # and it reads C-style backslash escapes even inside quotes.
    return text.replace("\\", "\\\\").replace("'", "\\'").replace("%", "%%").replace("$", "$$")


def _systemd(when: When, exe: str, db: str, report: str, crawl_args: list[str]) -> str:
    script = "; ".join(weekly_script(exe, db, report, crawl_args, quote=_double_quote))
    service = "\n".join([
        "[Unit]",
        "Description=collector: weekly crawl of the tool documentation, diff and report",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        f"ExecStart=/bin/sh -c '{_systemd_escape(script)}'",
        "# Exit status 1 means changes to review (or a failed step): `systemctl --user status " + UNIT + "`",
        "# shows it as failed, and the report is written either way.",
        "",
    ])
    timer = "\n".join([
        "[Unit]",
        f"Description=Run {UNIT}.service {when.text}",
        "",
        "[Timer]",
        f"OnCalendar={when.systemd}",
        "# Catch up after the machine was off at the scheduled time.",
        "Persistent=true",
        "RandomizedDelaySec=15min",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ])
    return "\n".join([
        f"# collector: weekly crawl + diff + report, {when.text} (local time).",
        "# Save the two files below in ~/.config/systemd/user/, then run:",
        "#   systemctl --user daemon-reload",
        f"#   systemctl --user enable --now {UNIT}.timer",
        "#   loginctl enable-linger $USER    # keep the timer running while you are logged out",
        f"# ---- {UNIT}.service ----",
        service,
        f"# ---- {UNIT}.timer ----",
        timer,
    ])


def _install_note(install: str, spaces: int) -> list[str]:
    """A YAML comment above the pip line: what it installs, and what to edit while a placeholder."""
    pad = " " * spaces
    if install == INSTALL_PLACEHOLDER:
        return [f"{pad}# EDIT the next line: the git+https URL of the repository your group keeps collector in",
                f"{pad}# (it installs the distribution {DISTRIBUTION}, command `collector`), or `.` when this",
                f"{pad}# job runs in a checkout of collector. Not `pip install collector`: an unrelated project."]
    return [f"{pad}# installs collector (distribution {DISTRIBUTION}, command `collector`)"]


def _indent(lines: list[str], spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in lines)


def _gitlab(when: When, exe: str, db: str, report: str, crawl_args: list[str], install: str) -> str:
    store_dir = str(Path(db).parent)
    return "\n".join([
        "# collector: weekly crawl + diff + report. Add this job to .gitlab-ci.yml, then create a",
        "# pipeline schedule (Build > Pipeline schedules > New schedule) with the cron pattern",
        f"#   {when.cron}",
        "# (that is " + when.text + " in the schedule's time zone). A week with changes fails the job;",
        "# the report is attached to it as an artifact either way.",
        "collector-weekly:",
        "  image: python:3.11          # not -slim: pip needs git for a git+https --install",
        "  rules:",
        '    - if: $CI_PIPELINE_SOURCE == "schedule"',
        '    - if: $CI_PIPELINE_SOURCE == "web"',
        "  # The store must survive from week to week: it is cached under a fixed key (saved even",
        "  # when the job fails) and also kept as an artifact as a backup.",
        "  cache:",
        "    key: collector-store",
        "    paths:",
        f"      - {store_dir}/",
        "    when: always",
        "  script:",
        *_install_note(install, 4),
        f"    - pip install {shlex.quote(install)}",
        f"    - mkdir -p {shlex.quote(store_dir)}",
        "    - |",
        _indent(weekly_script(exe, db, report, crawl_args), 6),
        "  artifacts:",
        "    when: always",
        "    name: collector-report",
        "    expire_in: 90 days",
        "    paths:",
        f"      - {report}",
        f"      - {store_dir}/",
        "",
    ])


def _github(when: When, exe: str, db: str, report: str, crawl_args: list[str], install: str) -> str:
    store_dir = str(Path(db).parent)
    return "\n".join([
        "# collector: weekly crawl + diff + report. Save as .github/workflows/collector-weekly.yml.",
        f"# Runs {when.text} UTC (and by hand from the Actions tab). A week with changes fails the",
        "# run, and the report is uploaded as the artifact `collector-report` either way.",
        "name: collector weekly",
        "on:",
        "  schedule:",
        f'    - cron: "{when.cron}"',
        "  workflow_dispatch: {}",
        "permissions:",
        "  contents: read",
        "  actions: read    # to fetch the store saved by the previous run",
        "concurrency:",
        "  group: collector-weekly",
        "  cancel-in-progress: false",
        "jobs:",
        "  crawl:",
        "    runs-on: ubuntu-latest",
        "    steps:",
        "      - uses: actions/checkout@v4     # your sources file, or collector itself with --install .",
        "      - uses: actions/setup-python@v5",
        "        with:",
        '          python-version: "3.11"',
        *_install_note(install, 6),
        f"      - run: pip install {shlex.quote(install)}",
        "      # The store is kept as an artifact (90 days) rather than a cache: GitHub evicts caches",
        "      # unused for 7 days, which a weekly job would hit.",
        "      - name: Restore the store from the previous run",
        "        env:",
        "          GH_TOKEN: ${{ github.token }}",
        "        run: |",
        f"          mkdir -p {shlex.quote(store_dir)}",
        "          prev=$(gh run list -R \"$GITHUB_REPOSITORY\" --workflow collector-weekly.yml --status completed "
        "--limit 1 --json databaseId -q '.[0].databaseId' || true)",
        f"          if [ -n \"$prev\" ]; then gh run download \"$prev\" -R \"$GITHUB_REPOSITORY\" -n collector-store "
        f"-D {shlex.quote(store_dir)} || echo \"No store from run $prev: starting a new one.\"; fi",
        "      - name: Crawl, diff, report",
        "        run: |",
        _indent(weekly_script(exe, db, report, crawl_args), 10),
        "      - name: Save the store for next week",
        "        if: always()",
        "        uses: actions/upload-artifact@v4",
        "        with:",
        "          name: collector-store",
        f"          path: {store_dir}/",
        "          retention-days: 90",
        "          if-no-files-found: ignore",
        "      - name: Upload the report",
        "        if: always()",
        "        uses: actions/upload-artifact@v4",
        "        with:",
        "          name: collector-report",
        f"          path: {report}",
        "          if-no-files-found: warn",
        "",
    ])
