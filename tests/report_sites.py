"""A small DVC-shaped documentation site in three versions, with designed changes, for the report's
time tests (`--as-of`, the changelog). Pages are our own text in the real site's shape.

v1 -> v2 (the designed changes the changelog must list, and nothing else):
  costs    /doc/studio/plans: "free for teams of up to 5 members" -> "can have 2 collaborators ... upgrade
           to the Enterprise plan" (the study's limit of 5 no longer holds: the verdict goes holds ->
           stale; the new text also states pricing facts: free-tier, paid-tier, commercial-support)
  storage  /doc/user-guide/remote-storage gains a WebDAV section (fact storage_backend: webdav)
           and loses its HDFS sentence (fact storage_backend: hdfs)
  pipelines /doc/command-reference/run answers 404: once is "possibly gone": its content is kept
           (verdicts and facts stay), and `collector diff` flags its passages as possibly removed
v2 -> v3:
  storage  the remote-storage page gains a MinIO section (fact storage_backend: minio)
  (none)   the 404 page is gone for good (second 404 in a row)
"""
from __future__ import annotations

import time

from conftest import html

ORIGIN = "https://dvc.org"
FILLER = {f"/doc/guide/page-{n}": html(f"Guide {n}", "/doc", extra=f"<p>Git-based data versioning with .dvc "
                                           f"files, part {n}.</p>") for n in range(22)}
FILLER["/doc/guide/pipelines"] = html("Pipelines", "/doc", extra="<p>A stage wraps any command, without code "
                                      "changes. The Python API (dvc.api) reads data from code.</p>")
STORAGE_V1 = ("<h2 id='supported'>Supported storage</h2><p>A DVC remote can be an Amazon S3 bucket, a Google Cloud "
              "Storage bucket or an SSH server.</p><h2 id='hadoop'>Hadoop</h2><p>HDFS clusters work as remote "
              "storage too.</p>")
STORAGE_V2 = ("<h2 id='supported'>Supported storage</h2><p>A DVC remote can be an Amazon S3 bucket, a Google Cloud "
              "Storage bucket or an SSH server.</p><h2 id='webdav'>WebDAV</h2><p>WebDAV servers work as remote "
              "storage too.</p>")
STORAGE_V3 = STORAGE_V2 + "<h2 id='minio'>MinIO</h2><p>MinIO object storage works as a remote storage too.</p>"


def site(version: int) -> dict[str, str]:
    links = ["/doc/command-reference/repro", "/doc/studio/plans", "/doc/user-guide/remote-storage", *FILLER]
    if version == 1:
        links.insert(0, "/doc/command-reference/run")
    storage = {1: STORAGE_V1, 2: STORAGE_V2, 3: STORAGE_V3}[version]
    files = {"/doc": html("DVC documentation", *links), **FILLER,
             "/doc/command-reference/repro": html("dvc repro", "/doc", extra="<p>dvc repro reruns the stages.</p>"),
             "/doc/user-guide/remote-storage": html("Remote storage", "/doc", extra=storage)}
    if version == 1:
        files["/doc/command-reference/run"] = html("dvc run", "/doc", extra="<p>dvc run adds a stage and runs it.</p>")
        files["/doc/studio/plans"] = html("Plans", "/doc", extra="<p>DVC Studio is free for teams of up to 5 members "
                                                                 "on the Free plan.</p>")
    else:
        files["/doc/studio/plans"] = html("Plans", "/doc", extra="<p>By default, teams are on the Free plan and can "
                                                                 "have 2 collaborators. To add more than 2 "
                                                                 "collaborators, upgrade to the Enterprise plan.</p>")
    return files


def sources_file(path) -> str:
    path.write_text(f'[[source]]\ntool = "dvc"\nroots = ["{ORIGIN}/doc"]\nallow = ["{ORIGIN}/doc"]\n'
                    f'content = ["main"]\n', encoding="utf-8")
    return path


def next_second() -> None:
    """Store timestamps are to the second, and a review made in the second the next crawl finishes
    counts after it. Weeks apart in real life; here the next crawl waits for the next second."""
    start = time.time()
    time.sleep(1.001 - (start % 1))
