"""Build the configured model backend: the runners and the models they get."""

from __future__ import annotations

from functools import partial

from driver_monitor.config.perception import PerceptionConfig, TrackerBackend
from driver_monitor.perception.backends.bundle import open_bundle
from driver_monitor.perception.backends.model_tracker import ModelFaceTracker
from driver_monitor.perception.backends.runtime import LiteRtRunner, OnnxRunner


def create_model_tracker(config: PerceptionConfig) -> ModelFaceTracker:
    """A ModelFaceTracker on LiteRT (the bundle's tflite files) or onnxruntime (the vendored
    ONNX conversions of the same files); ModelError (one line) when it cannot be built."""
    bundle = open_bundle(config.model_path)
    if config.backend is TrackerBackend.litert:
        return ModelFaceTracker(config, LiteRtRunner, bundle)
    if config.backend is TrackerBackend.onnxruntime:
        from driver_monitor.perception.backends.onnx_models import load_onnx_models

        models = load_onnx_models(bundle)
        factory = partial(_onnx_runner, providers=config.onnx_providers)
        return ModelFaceTracker(config, factory, bundle, models=models)
    raise ValueError(f"not a model backend: {config.backend}")


def _onnx_runner(model: bytes, name: str, threads: int, providers: tuple[str, ...]) -> OnnxRunner:
    return OnnxRunner(model, name, threads, providers)
