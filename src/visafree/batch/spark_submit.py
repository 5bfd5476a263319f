"""Launcher for spark-submit, which wants a file: `spark-submit ... spark_submit.py IN OUT --on DATE`
(docs/batch.md, "On a cluster"). visafree itself travels in --py-files."""

from visafree.batch.spark import main

if __name__ == "__main__":
    main()
