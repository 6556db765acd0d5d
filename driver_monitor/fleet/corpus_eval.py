"""`eval CORPUS`: every drive of a corpus scored and summed (evaluation/corpus.py for the numbers).

A replay output is scored as it is; a drive with a per-frame table (an extraction, a
recording's features.parquet) is decided from it with the config (feature replay); a recording
without one is replayed in full. With `--config`, every drive is decided again under that config.
Each table is checked against the config before anything runs (one line naming the file).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from driver_monitor.config import Config, load_config
from driver_monitor.errors import InputError
from driver_monitor.evaluation.corpus import CorpusScore, DriveScore
from driver_monitor.evaluation.truth import ClipTruth
from driver_monitor.fleet.corpus import CorpusEntry
from driver_monitor.fleet.evaluate import DriveJob, evaluate_job
from driver_monitor.fleet.executor import Engine
from driver_monitor.fleet.table import read_table_info

CONFIG_ID = "config"


def drive_jobs(entries: Sequence[CorpusEntry], truth: dict[str, ClipTruth] | None,
               configs: Sequence[tuple[str, Config]], max_latency_s: float, early_s: float,
               decide_all: bool) -> list[DriveJob]:
    """One job per drive with every config (none: a replay scored as it is). Tables are checked
    against each config first (InputError)."""
    jobs = []
    settings = tuple((cid, c.model_dump(mode="json")) for cid, c in configs)
    for entry in entries:
        decide = decide_all or entry.events is None
        if decide and entry.table is not None:
            info = read_table_info(entry.table)
            for _, config in configs:
                info.check_config(config)
        elif decide and entry.recording is None:
            raise InputError(f"{entry.root}: no feature table to decide the drive from (extract it, or replay it in full)")
        labels = entry.read_labels()
        jobs.append(DriveJob(entry, tuple(labels) if labels is not None else None, entry.truth_of(truth),
                             settings if decide else (), None, max_latency_s, early_s))
    return jobs


def evaluate_corpus(entries: Sequence[CorpusEntry], truth: dict[str, ClipTruth] | None, config: Config | None,
                    engine: Engine, max_latency_s: float = 4.0, early_s: float = 0.5) -> CorpusScore:
    jobs = drive_jobs(entries, truth, [(CONFIG_ID, config if config is not None else load_config())],
                      max_latency_s, early_s, decide_all=config is not None)
    if engine.ray is not None:
        jobs = [_with_frames_ref(job, engine) for job in jobs]
    scores: dict[str, DriveScore] = {}
    for job_scores in engine.run_tasks(evaluate_job, jobs):
        for _, drive_score in job_scores:
            scores[drive_score.name] = drive_score
    return CorpusScore([scores[e.name] for e in entries])


def _with_frames_ref(job: DriveJob, engine: Engine) -> DriveJob:
    """On Ray the frames travel through the object store (the workers need no shared disk)."""
    from dataclasses import replace

    from driver_monitor.fleet.table import read_feature_table

    if not job.configs or job.entry.table is None:
        return job
    return replace(job, frames_ref=[engine.put(read_feature_table(job.entry.table).frames)])


def write_corpus_reports(entries: Sequence[CorpusEntry], result: CorpusScore, truth_path: Path | None,
                         config: Config | None, out_dir: Path, max_latency_s: float = 4.0, early_s: float = 0.5) -> Path:
    """`eval CORPUS --report DIR`: each drive's HTML report (a drive decided here is replayed
    from its table into DIR/replays/NAME first) and DIR/index.html with one row per drive."""
    from driver_monitor.fleet.feature_replay import replay_features
    from driver_monitor.replay import replay
    from driver_monitor.report.corpus import CorpusDrive, write_corpus_report
    from driver_monitor.report.drive_report import ReportRequest, write_report

    drives = []
    by_name = {d.name: d for d in result.drives}
    for entry in entries:
        score = by_name[entry.name]
        replay_dir = entry.root
        if config is not None or entry.events is None:
            replay_dir = out_dir / "replays" / entry.name
            used = config if config is not None else load_config()
            if entry.table is not None:
                replay_features(entry.table, used, replay_dir, progress=False)
            else:
                assert entry.recording is not None
                replay(entry.recording, used, replay_dir, progress=False)
        report = write_report(ReportRequest(replay_dir, out_dir / f"{entry.name}.html", labels=entry.labels
                                            if truth_path is None else None, truth=truth_path, clip=entry.clip,
                                            max_latency_s=max_latency_s, early_s=early_s))
        info = {"hours": f"{score.duration_s / 3600:.3f}",
                "face found": f"{100 * report.face_found:.1f} %" if report.face_found is not None else "-"}
        drives.append(CorpusDrive(entry.name, report.path, score.detail, info))
    return write_corpus_report(drives, out_dir / "index.html")
