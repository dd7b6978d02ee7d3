"""Operations: the jobs that drive the other packages -- crawl (the crawler subprocess, then the
evidence build), demo (the whole loop offline), schedule (weekly job configuration), prune.

May import every other knowledge package and crawler/. Nothing in knowledge/ imports ops.
"""
