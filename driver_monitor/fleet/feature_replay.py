"""`replay --features FEATURES`: calibration, detectors and policy over a per-frame table, without
the picture or the tracker (DESIGN.md "Feature replay must decide what a full replay decides").

    features.parquet|csv ─▶ FrameInput per frame ─▶ Pipeline.check_picture (camera health from
        the table's picture statistics) ─▶ Pipeline.process_features ─▶ the replay's sinks

The same outputs as `replay` (events.jsonl, the feature table, run.yaml, CAN / serial when
switched on), and the same events: the table holds every input the detectors and the policy
read (outputs/feature_table.py), and fleet/table.py refuses a table made under other
settings, face model or feature code.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from driver_monitor.assembly import Mode, RunIo
from driver_monitor.config import Config
from driver_monitor.errors import InputError
from driver_monitor.fleet.stage_cache import SharedDrive
from driver_monitor.fleet.table import FrameInput, read_feature_table
from driver_monitor.messages import Event, FrameResult
from driver_monitor.outputs.base import Sink
from driver_monitor.pipeline import Pipeline
from driver_monitor.progress import with_progress
from driver_monitor.provenance import run_provenance
from driver_monitor.replay import ReplaySummary

# The youngest generation's threshold while frames are decided (CPython's default: 700).
YOUNG_GC_THRESHOLD = 10_000


@contextmanager
def kept_out_of_gc() -> Iterator[None]:
    """The cycle collector kept off the frames' work while they are decided:

    - every object alive now (the table's frames: tens of thousands that live the whole
      replay) moved out of its generations (gc.freeze): each collection of the old generation
      traversed all of them again (~13 us a frame of a Parquet feature replay, a tenth of it);
    - the youngest generation collected every 10,000 new containers instead of 700: what
      survives one (the results the feature table holds until its next chunk, the detectors'
      windows) was traversed again by each collection of the middle generation, every tenth.
      ~6 % of a compiled Parquet feature replay (126 -> 118 us a frame); a replay makes no
      cyclic garbage (gc.collect() after one finds none), so nothing waits longer to be freed.

    Reference counting frees objects as usual. Both are undone afterwards, so a long-lived
    caller (a test run, a sweep worker) goes on collecting its own cycles as before."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], YOUNG_GC_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def decide(pipeline: Pipeline, frames: Iterable[FrameInput], source: Path) -> None:
    """Every frame through camera health, then (when judged) the detectors and the policy, as
    `Pipeline.process` does with the picture; the caller finishes the pipeline."""
    expression = pipeline.config.stress.expression_model.enabled
    check_picture, process_features = pipeline.check_picture, pipeline.process_features
    for frame in frames:
        if check_picture(frame.t, frame.picture, frame.vehicle) is not None:
            continue
        if not frame.judged:
            raise InputError(f"{source}: the frame at t={frame.t:.6f} s was not judged when the table was made "
                             "(a live camera fault): it has no features; replay the recording in full")
        process_features(frame.features, frame.vehicle, frame.perception if expression else None, frame.picture)


class EventCollector:
    """Sink: every event line, as events.jsonl would hold it (the form eval scores)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def write(self, result: FrameResult) -> None:
        if result.events:
            self.events.extend(e.to_json_dict() for e in result.events)

    def write_events(self, events: Sequence[Event]) -> None:
        self.events.extend(e.to_json_dict() for e in events)

    def close(self) -> None:
        pass


def decide_events(frames: Sequence[FrameInput], config: Config, source: Path,
                  shared: SharedDrive | None = None) -> list[dict[str, Any]]:
    """The event log a replay with `config` writes, from frames alone (sweeps, corpus eval).

    shared: what the configs of one drive share in this process (fleet/stage_cache.py): the
    stages a batch's configs decide alike are decided once, and the camera heart rate (~1 ms
    a second of drive, a fifth to a quarter of feature replay) once per `stress.rppg` setting."""
    collector = EventCollector()
    pipeline = Pipeline(config, None, [collector], image_models=False)
    run = shared.attach(pipeline) if shared is not None else None
    # Finished only when every frame was decided: the collector holds nothing to close, and
    # finishing a run the stage cache replays half-way would raise over what stopped it (a
    # Ctrl-C in a sweep must reach the command line as an interruption, not a RuntimeError).
    decide(pipeline, frames, source)
    pipeline.finish()
    if run is not None:
        run.done()
    return collector.events


def replay_features(
    features: str | Path,
    config: Config,
    out_dir: str | Path,
    progress: bool | None = None,
    config_path: str | Path | None = None,
    extra_sinks: Sequence[Sink] = (),
) -> ReplaySummary:
    """`replay --features`: the outputs of a replay, decided from a per-frame table."""
    out_dir = Path(out_dir)
    table = read_feature_table(features)  # all of it first: out_dir may be where it lies
    table.check_config(config)
    provenance = run_provenance("replay --features", config, table.path, config_path,
                                {"features_of": table.provenance.get("input")})
    pipeline = Pipeline(config, None, (), image_models=False)  # refused before the outputs are replaced
    io = RunIo.open(config, Mode.REPLAY, out_dir, None, provenance)
    pipeline.sinks = [*io.sinks, *extra_sinks]
    summary = ReplaySummary(table.path, out_dir, removed=io.removed_outputs)
    started = time.perf_counter()
    try:
        with kept_out_of_gc():
            decide(pipeline, with_progress(table.frames, len(table.frames), progress), table.path)
    finally:
        pipeline.finish()
        io.close()
    summary.take(pipeline, io, table.frames[0].t if table.frames else None, time.perf_counter() - started)
    return summary
