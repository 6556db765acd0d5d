"""See a drive: an interactive HTML report of a replay (drive_report.py), a report over many
drives (corpus.py) and an annotated video (annotate.py). docs/report.md describes them."""
