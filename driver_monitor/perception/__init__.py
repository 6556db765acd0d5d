"""Perception: face tracking (MediaPipe), landmark geometry and per-frame features."""
