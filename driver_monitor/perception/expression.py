"""Optional expression model: a user-supplied ONNX face-crop model run with onnxruntime in the
perception stage (it needs the picture, which the detectors never see).

    frame + face box ─▶ square crop (+margin) ─▶ resize ─▶ channel order ─▶ (x/scale - mean)/std
      ─▶ layout (NCHW | NHWC) ─▶ onnxruntime ─▶ output tensors ─▶ named signals

The signals go into the per-frame values as `expression_<signal>` columns, which the stress
detector reads through DetectorInput.upstream (config `stress.expression_model.stress_signs`)
and the replay writes into the feature table. No weights are shipped or downloaded; how to plug
in a published model is in docs/stress.md. The model runs at most every `min_interval_s`
(it costs far more than the landmarks) and its outputs are held in between.

Load-time problems (missing file, not ONNX, unknown input / output names, wrong output sizes,
no usable execution provider) raise ConfigError with one line naming the key or file; a
failure while running is logged once and gives NaN signals, never an exception in the loop.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from driver_monitor.config.stress import ChannelOrder, ExpressionModelConfig, TensorLayout
from driver_monitor.errors import ConfigError
from driver_monitor.messages import FaceObservation, Frame, Scalar
from driver_monitor.names import EXPRESSION_PREFIX

log = logging.getLogger(__name__)

COLUMN_PREFIX = EXPRESSION_PREFIX
_KEY = "stress.expression_model"


def build_expression_model(config: ExpressionModelConfig) -> ExpressionModel | None:
    return ExpressionModel(config) if config.enabled else None


class ExpressionModel:
    def __init__(self, config: ExpressionModelConfig):
        import onnxruntime as ort  # lazily: only when a model is configured

        self.config = config
        path = config.model_path
        if path is None or not path.is_file():
            raise ConfigError([f"{_KEY}.model_path: {path}: no such file"])
        available = ort.get_available_providers()
        providers = [p for p in config.providers if p in available]
        if not providers:
            raise ConfigError([f"{_KEY}.providers: none of {config.providers} is available here (available: {available})"])
        options = ort.SessionOptions()
        # The face tracker needs the cores too (REFERENCE.md: sessions spinning threads on
        # 2 cores slow each other).
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError([f"{path}: not a loadable ONNX model ({reason})"]) from None
        inputs = {i.name: i for i in self.session.get_inputs()}
        self.input_name = config.input_name or self.session.get_inputs()[0].name
        if self.input_name not in inputs:
            raise ConfigError([f"{_KEY}.input_name: {self.input_name!r} is not an input of {path} (inputs: {list(inputs)})"])
        outputs = [o.name for o in self.session.get_outputs()]
        for k, out in enumerate(config.outputs):
            if out.name not in outputs:
                raise ConfigError([f"{_KEY}.outputs.{k}.name: {out.name!r} is not an output of {path} (outputs: {outputs})"])
        self._check_input_shape(inputs[self.input_name].shape, path)
        self.signals = [s for out in config.outputs for s in out.signals]
        self.columns_nan: dict[str, Scalar] = {COLUMN_PREFIX + s: math.nan for s in self.signals}
        self._held: dict[str, Scalar] = dict(self.columns_nan)
        self._last_run_t: float | None = None
        self._failed = False
        # A dry run on a blank crop: output sizes are checked before the first frame.
        self._run(np.zeros((config.input_height_px, config.input_width_px, 3), dtype=np.uint8), strict=True)

    def _check_input_shape(self, shape: list[Any], path: object) -> None:
        c = self.config
        if len(shape) != 4:
            raise ConfigError([f"{_KEY}.input_name: input of {path} has rank {len(shape)}, expected 4 (NCHW or NHWC)"])
        expected = [1, 3, c.input_height_px, c.input_width_px] if c.layout is TensorLayout.nchw else [1, c.input_height_px, c.input_width_px, 3]
        for got, want, what in zip(shape[1:], expected[1:], ("dim 1", "dim 2", "dim 3"), strict=True):
            if isinstance(got, int) and got != want:
                raise ConfigError([
                    f"{_KEY}: input of {path} has shape {shape}, config expects {expected} "
                    f"(layout {c.layout.value}, input_height_px / input_width_px; {what} differs)"
                ])

    # -- per frame ------------------------------------------------------------------------

    def update(self, frame: Frame, obs: FaceObservation | None) -> dict[str, Scalar]:
        """The `expression_*` columns for this frame: NaN without a face, the held outputs
        between runs."""
        if obs is None:
            self._held = dict(self.columns_nan)
            self._last_run_t = None
            return dict(self._held)
        if self._last_run_t is None or frame.t - self._last_run_t >= self.config.min_interval_s or frame.t < self._last_run_t:
            self._last_run_t = frame.t
            self._held = self.infer(frame.image, obs.box_px)
        return dict(self._held)

    def infer(self, image: np.ndarray, box_px: tuple[float, float, float, float]) -> dict[str, Scalar]:
        crop = face_crop(image, box_px, self.config.crop_margin, self.config.input_width_px, self.config.input_height_px)
        return self._run(crop, strict=False)

    def preprocess(self, crop_rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) RGB uint8 at the input size -> the input tensor (float32, batch 1)."""
        c = self.config
        x = crop_rgb.astype(np.float32)
        if c.channel_order is ChannelOrder.bgr:
            x = x[:, :, ::-1]
        x = (x / np.float32(c.input_scale) - np.asarray(c.mean, np.float32)) / np.asarray(c.std, np.float32)
        if c.layout is TensorLayout.nchw:
            x = x.transpose(2, 0, 1)
        return np.ascontiguousarray(x[None], dtype=np.float32)

    def _run(self, crop_rgb: np.ndarray, strict: bool) -> dict[str, Scalar]:
        c = self.config
        try:
            results = self.session.run([o.name for o in c.outputs], {self.input_name: self.preprocess(crop_rgb)})
        except Exception as exc:  # a broken model must not stop the loop
            if strict:
                raise ConfigError([f"{c.model_path}: the model failed on a {c.input_height_px}x{c.input_width_px} input ({exc})"]) from None
            if not self._failed:
                log.warning("%s: expression model failed (%s); its signals are NaN", c.model_path, exc)
                self._failed = True
            return dict(self.columns_nan)
        row: dict[str, Scalar] = {}
        for k, (out, value) in enumerate(zip(c.outputs, results, strict=True)):
            v = np.asarray(value, dtype=np.float64).reshape(-1)
            if v.size != len(out.signals):
                raise ConfigError([f"{_KEY}.outputs.{k}.signals: output {out.name!r} has {v.size} values, {len(out.signals)} signals are named"])
            if out.softmax:
                e = np.exp(v - v.max())
                v = e / e.sum()
            row.update({COLUMN_PREFIX + s: float(x) for s, x in zip(out.signals, v, strict=True)})
        return row


def face_crop(image: np.ndarray, box_px: tuple[float, float, float, float], margin: float, width: int, height: int) -> np.ndarray:
    """A square crop around the face box grown by `margin` per side, zero-padded where it
    leaves the picture, resized to (height, width)."""
    import cv2  # from mediapipe's opencv-contrib wheel (REFERENCE.md: never a second OpenCV)

    x0, y0, x1, y1 = box_px
    side = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * margin)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    size = max(1, int(round(side)))
    h, w = image.shape[:2]
    canvas = np.zeros((size, size, 3), dtype=np.uint8)
    sx0, sy0 = max(0, left), max(0, top)
    sx1, sy1 = min(w, left + size), min(h, top + size)
    if sx1 > sx0 and sy1 > sy0:
        canvas[sy0 - top:sy1 - top, sx0 - left:sx1 - left] = image[sy0:sy1, sx0:sx1]
    interp = cv2.INTER_AREA if size > max(width, height) else cv2.INTER_LINEAR
    return cv2.resize(canvas, (width, height), interpolation=interp)
