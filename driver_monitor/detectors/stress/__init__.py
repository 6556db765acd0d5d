"""Stress detection (advisory only): camera heart rate (rPPG) with quality and abstention,
HRV, facial tension and blink-rate cues against the driver's own baseline, external heart
rate, and an optional expression model's outputs (docs/stress.md).

rppg.py (heart rate from skin colour), cues.py (baseline and cue deviations), detector.py
(StressDetector: level 0..3, confidence, `stress` events), signals.py (generated traces).
"""
