"""`driver-monitor` subcommands. Thin: parse arguments, call the library, print one line per
problem (never a traceback) and exit with a meaningful status."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from driver_monitor import __version__
from driver_monitor.errors import ConfigError, DriverMonitorError, InputError
from driver_monitor.report import commands as report_commands

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 2


def _cmd_check_config(args: argparse.Namespace) -> int:
    from driver_monitor.config import load_config
    from driver_monitor.config.summary import summarize

    config = load_config(args.path)
    from driver_monitor.vehicle.io import check_io_config

    check_io_config(config)  # the DBC files and the vehicle signal mapping
    print(f"{args.path}: valid")
    print(summarize(config))
    return EXIT_OK


def _cmd_replay(args: argparse.Namespace) -> int:
    from driver_monitor.config import load_config
    from driver_monitor.replay import replay

    config = load_config(args.config)
    if args.gif_fps is not None:
        config = config.model_copy(update={"video": config.video.model_copy(update={"gif_fps": args.gif_fps})})
    from driver_monitor.vehicle.io import with_io_overrides

    config = with_io_overrides(config, args.can_interface, args.can_channel, args.serial_port)
    out_dir = Path(args.out) if args.out else _default_out_dir(Path(args.input))
    from driver_monitor.report.commands import replay_hooks

    with replay_hooks(args, config) as hooks:  # --annotate: a video sink; --report: after the replay
        summary = replay(args.input, config, out_dir, progress=None if not args.no_progress else False,
                         realtime=args.realtime, tracker=hooks.tracker, extra_sinks=hooks.sinks)
        print(summary.text())
        hooks.after(args, out_dir, config)
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    from driver_monitor.service import run_daemon

    # Command-line outputs win over the config file, on start and on every SIGHUP reload.
    overrides: dict[str, dict[str, object]] = {}
    if args.can_interface or args.can_channel:
        overrides["can"] = {"enabled": True}
        if args.can_interface:
            overrides["can"]["interface"] = args.can_interface
        if args.can_channel:
            overrides["can"]["channel"] = args.can_channel
    if args.serial_port:
        overrides["serial"] = {"enabled": True, "port": args.serial_port}
    return run_daemon(args.config, args.camera, args.state_dir, overrides)


def _cmd_status(args: argparse.Namespace) -> int:
    import json

    from driver_monitor.runtime_state import format_state, read_state, resolve_state_dir

    state_dir = args.state_dir
    if state_dir is None and args.config is not None:
        from driver_monitor.config import load_config

        state_dir = load_config(args.config).service.state_dir  # the daemon's own setting
    state = read_state(resolve_state_dir(state_dir))
    print(json.dumps(state, indent=1, sort_keys=True) if args.json else format_state(state))
    return EXIT_OK


def _cmd_simulate(args: argparse.Namespace) -> int:
    from driver_monitor.sim.simulate import simulate

    summary = simulate(args.scenario, args.out, fps=args.fps, size=args.size, seed=args.seed, face=args.face)
    print(summary.text())
    return EXIT_OK


def _cmd_heart_rate(args: argparse.Namespace) -> int:
    from driver_monitor.sources.heart_rate_serial import watch

    summary = watch(args.port, args.baud, args.seconds, sys.stdout)
    print(f"{summary.lines_ok} readings, {summary.lines_bad} bad lines in {args.seconds:g} s")
    return EXIT_OK if summary.lines_ok > 0 else EXIT_ERROR


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 640x480: {text!r}") from None
    if not (64 <= w <= 3840 and 48 <= h <= 2160):
        raise argparse.ArgumentTypeError(f"size out of range (64x48 .. 3840x2160): {text!r}")
    return w, h


def _cmd_eval(args: argparse.Namespace) -> int:
    from driver_monitor.outputs.event_log import read_event_log

    events = Path(args.events)
    detections = read_event_log(events / "events.jsonl" if events.is_dir() else events)
    if args.truth is not None:
        return _eval_truth(args, events, detections)
    if args.labels is None:
        raise InputError("eval needs LABELS (labels.jsonl or a recording directory) or --truth truth.yaml")
    from driver_monitor.evaluation.scoring import report, score

    labels = Path(args.labels)
    truth = read_event_log(labels / "labels.jsonl" if labels.is_dir() else labels)
    names = args.name or None
    scores = score(detections, truth, args.max_latency_s, args.early_s, names)
    print(report(scores))
    from driver_monitor.report.commands import eval_report

    eval_report(args, events, scores)
    return EXIT_OK


def _eval_truth(args: argparse.Namespace, events: Path, detections: list[dict]) -> int:
    """Score against behaviour-interval truth (truth.yaml); exit 1 when an expected event is
    missed or a false alert was raised, so scripts and CI can gate on it."""
    from driver_monitor.evaluation.truth import find_clip, load_truth, report, score_clip

    truth = load_truth(args.truth)
    clip = find_clip(truth, args.clip or (events.name if events.is_dir() else events.parent.name))
    result = score_clip(clip, truth[clip], detections)
    print(report([result]))
    from driver_monitor.report.commands import eval_report

    eval_report(args, events, result)
    return EXIT_OK if result.ok else EXIT_ERROR


def _default_out_dir(input_path: Path) -> Path:
    name = input_path.name if input_path.is_dir() else input_path.stem
    return Path("replay-out") / name


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driver-monitor",
        description="In-car driver-state monitoring: replay drives, check configs, run the daemon.",
    )
    parser.add_argument("--version", action="version", version=f"driver-monitor {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("check-config", help="validate a YAML config and summarise it")
    p.add_argument("path", help="the YAML file to check")
    p.set_defaults(func=_cmd_check_config)

    p = sub.add_parser("replay", help="run a video file or recording directory through the pipeline")
    p.add_argument("input", help="a video file (mp4/mkv/avi/mov/gif) or a recording directory")
    p.add_argument("--config", "-c", default=None, help="config YAML (default: the packaged default.yaml)")
    p.add_argument("--out", "-o", default=None, help="output directory (default: replay-out/NAME)")
    p.add_argument("--gif-fps", type=_positive_float, default=None, help="frame rate to read a GIF at (overrides video.gif_fps)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    p.add_argument("--can-interface", default=None, metavar="NAME", help="send DMS CAN frames on this python-can interface (socketcan, udp_multicast, virtual, ...); switches can.enabled on")
    p.add_argument("--can-channel", default=None, metavar="CH", help="CAN channel (can0, a multicast group, ...); overrides can.channel")
    p.add_argument("--serial-port", default=None, metavar="URL", help="send serial frames to this pyserial URL (/dev/ttyUSB0, /dev/pts/N, socket://...); switches serial.enabled on")
    p.add_argument("--realtime", action="store_true", help="pace the replay at recording speed (default: as fast as possible; outputs are timed by the recording either way)")
    report_commands.add_replay_options(p)
    p.set_defaults(func=_cmd_replay)

    p = sub.add_parser("eval", help="score a replay's events against a recording's labels")
    p.add_argument("events", help="events.jsonl or the replay output directory holding it")
    p.add_argument("labels", nargs="?", default=None, help="labels.jsonl or the recording directory holding it (or use --truth)")
    p.add_argument("--truth", default=None, metavar="YAML", help="behaviour-interval truth (truth.yaml form, ../shared/data/real/): expected events and false alerts, exit 1 unless all found and none false")
    p.add_argument("--clip", default=None, help="the clip of --truth this replay is (default: the replay directory's name)")
    p.add_argument("--max-latency-s", type=_positive_float, default=4.0, help="latest a detection may fire after the label ends (default 4)")
    p.add_argument("--early-s", type=float, default=0.5, help="earliest a detection may fire before the label starts (default 0.5)")
    p.add_argument("--name", action="append", help="only these event names (repeatable)")
    report_commands.add_eval_options(p)
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("run", help="the live daemon: camera -> pipeline -> outputs (systemd Type=notify)")
    p.add_argument("--config", "-c", default=None, help="config YAML, re-read on SIGHUP (default: the packaged default.yaml)")
    p.add_argument("--camera", default=None, help="V4L2 device path or index, or a video file/URL standing in for it (overrides camera.device)")
    p.add_argument("--state-dir", default=None, help="where state.json goes (default: service.state_dir, $RUNTIME_DIRECTORY or /run/driver-monitor)")
    p.add_argument("--can-interface", default=None, help="send DMS frames / read vehicle signals on this python-can interface (socketcan, udp_multicast, ...; enables can)")
    p.add_argument("--can-channel", default=None, help="its channel (can0, a multicast group, ...; enables can)")
    p.add_argument("--serial-port", default=None, help="send the serial frames to this pyserial port or URL (enables serial)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("status", help="show the running daemon's state, fps and faults")
    p.add_argument("--state-dir", default=None, help="the daemon's state directory (default: service.state_dir of --config, $RUNTIME_DIRECTORY or /run/driver-monitor)")
    p.add_argument("--config", "-c", default=None, help="the daemon's config, to find its service.state_dir")
    p.add_argument("--json", action="store_true", help="print the raw state file")
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("simulate", help="render a scripted synthetic drive (scenario YAML) into a recording directory")
    p.add_argument("scenario", help="scenario YAML (see scenarios/ and docs/simulation.md)")
    p.add_argument("--out", "-o", required=True, help="recording directory to write (video.mkv, labels.jsonl, truth.csv, ...)")
    p.add_argument("--fps", type=_positive_float, default=None, help="frame rate (overrides camera.fps)")
    p.add_argument("--size", type=_size, default=None, help="WIDTHxHEIGHT (overrides camera.width/height)")
    p.add_argument("--seed", type=int, default=None, help="random seed (overrides the scenario's seed)")
    p.add_argument("--face", default=None, help="bundled face (astronaut, obama, biden) or a photo path")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("heart-rate", help="watch a serial heart-rate sensor's lines (format in docs/stress.md)")
    p.add_argument("port", help="serial port or pyserial URL (/dev/ttyUSB0, socket://host:port, ...)")
    p.add_argument("--baud", type=int, default=115200, help="baud rate (default 115200)")
    p.add_argument("--seconds", type=_positive_float, default=10.0, help="how long to listen (default 10)")
    p.set_defaults(func=_cmd_heart_rate)

    report_commands.register(sub)  # report, annotate
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ConfigError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_CONFIG
    except DriverMonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `driver-monitor ... | head`: the reader left, not an error
        sys.stderr.close()
        return EXIT_OK
