"""EpisodeClock: the start / end hysteresis of the advisory emotional events."""

from __future__ import annotations

from driver_monitor.detectors.emotion.episode import EpisodeChange, EpisodeClock


def _run(clock: EpisodeClock, frames: list[tuple[float, bool | None]]) -> list[tuple[float, EpisodeChange]]:
    return [(t, c) for t, yes in frames if (c := clock.update(t, yes)) is not None]


def test_starts_after_start_after_s_of_yes_and_ends_after_end_after_s_without() -> None:
    frames = [(i / 10, 1.0 <= i / 10 < 5.0) for i in range(120)]
    assert _run(EpisodeClock(2.0, 3.0), frames) == [(3.0, EpisodeChange("start", 1.0)), (8.0, EpisodeChange("end", 5.0))]


def test_a_short_unjudged_gap_keeps_the_start_clock_a_longer_one_or_a_no_restarts_it() -> None:
    gap = [(i / 10, None if 1.5 <= i / 10 < 1.8 else i / 10 >= 1.0) for i in range(40)]
    assert _run(EpisodeClock(2.0, 3.0, grace_s=0.5), gap)[0] == (3.0, EpisodeChange("start", 1.0))
    long_gap = [(i / 10, None if 1.5 <= i / 10 < 2.5 else i / 10 >= 1.0) for i in range(60)]
    assert _run(EpisodeClock(2.0, 3.0, grace_s=0.5), long_gap)[0] == (4.5, EpisodeChange("start", 2.5))
    no = [(i / 10, False if i == 15 else i / 10 >= 1.0) for i in range(60)]
    assert _run(EpisodeClock(2.0, 3.0, grace_s=0.5), no)[0] == (3.6, EpisodeChange("start", 1.6))
