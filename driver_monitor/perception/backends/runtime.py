"""Model runners: one interface over LiteRT and onnxruntime.

Both take one float32 input tensor and return the model's outputs in the model's order.
Only the landmark model gets more than one thread: several interpreters spinning threads
on 2 cores slow each other (shared/REFERENCE.md, "running the face models without MediaPipe").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from driver_monitor.errors import ModelError
from driver_monitor.perception.tracker import quiet_native_stderr


class ModelRunner(Protocol):
    name: str
    input_shape: tuple[int | None, ...]
    output_shapes: list[tuple[int | None, ...]]

    def run(self, tensor: np.ndarray) -> list[np.ndarray]: ...

    def run_image(self, image: np.ndarray, scale: float, offset: float) -> list[np.ndarray]:
        """An (H, W, 3) uint8 image as the model's float input `image * scale + offset`."""
        ...


class LiteRtRunner:
    """A tflite model in the LiteRT interpreter (ai-edge-litert) with its XNNPACK CPU kernels."""

    def __init__(self, model: bytes, name: str, threads: int = 1):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise ModelError(f"LiteRT is not importable ({exc}); pip install ai-edge-litert") from None
        self.name = name
        try:
            with quiet_native_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate" on fd 2
                self._interpreter = Interpreter(model_content=model, num_threads=threads)
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{name}: cannot be loaded by LiteRT ({_first_line(exc)})") from None
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._outputs = [d["index"] for d in self._interpreter.get_output_details()]
        self.input_shape: tuple[int | None, ...] = tuple(int(v) for v in self._interpreter.get_input_details()[0]["shape"])
        self.output_shapes: list[tuple[int | None, ...]] = [
            tuple(int(v) for v in d["shape"]) for d in self._interpreter.get_output_details()]

    def run(self, tensor: np.ndarray) -> list[np.ndarray]:
        self._interpreter.set_tensor(self._input, tensor)
        self._interpreter.invoke()
        return [self._interpreter.get_tensor(i) for i in self._outputs]

    def run_image(self, image: np.ndarray, scale: float, offset: float) -> list[np.ndarray]:
        # Scaled straight into the interpreter's input buffer: no float copy of the crop.
        # The view must be gone before invoke (LiteRT refuses to run with one held).
        view = self._interpreter.tensor(self._input)()
        np.multiply(image, np.float32(scale), out=view[0], casting="unsafe")
        if offset:
            view += np.float32(offset)
        del view
        self._interpreter.invoke()
        return [self._interpreter.get_tensor(i) for i in self._outputs]


class OnnxRunner:
    """An ONNX model in onnxruntime, on the execution providers given in order of preference
    (e.g. TensorrtExecutionProvider, CUDAExecutionProvider, CPUExecutionProvider)."""

    def __init__(self, model: bytes, name: str, threads: int = 1, providers: Sequence[str] = ("CPUExecutionProvider",)):
        import onnxruntime as ort

        available = ort.get_available_providers()
        missing = [p for p in providers if p not in available]
        if missing:
            raise ModelError(
                f"{name}: onnxruntime has no {', '.join(missing)} here (available: {', '.join(available)})"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: no provider notes on stderr
        if threads == 1:  # no pool thread spinning beside the caller's on a 2-core machine
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.name = name
        try:
            self._session = ort.InferenceSession(model, sess_options=options, providers=list(providers))
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
            raise ModelError(f"{name}: cannot be loaded by onnxruntime ({_first_line(exc)})") from None
        self._input = self._session.get_inputs()[0].name
        # A named (symbolic) dimension, the batch of a converted model: None, any size.
        self.input_shape = _dims(self._session.get_inputs()[0].shape)
        self.output_shapes = [_dims(o.shape) for o in self._session.get_outputs()]
        self.providers = self._session.get_providers()

    def run(self, tensor: np.ndarray) -> list[np.ndarray]:
        return self._session.run(None, {self._input: tensor})

    def run_image(self, image: np.ndarray, scale: float, offset: float) -> list[np.ndarray]:
        tensor = np.multiply(image[None], np.float32(scale), dtype=np.float32)
        if offset:
            tensor += np.float32(offset)
        return self.run(tensor)


def _dims(shape: Sequence[object]) -> tuple[int | None, ...]:
    return tuple(v if isinstance(v, int) else None for v in shape)


def check_model(runner: ModelRunner, input_shape: tuple[int, ...], output_sizes: tuple[int, ...],
                ordered: bool = True) -> None:
    """ModelError (one line naming the model) unless its input is `input_shape` (a dimension
    the model leaves open matches any) and its first outputs hold `output_sizes` elements (in
    that order, or in any with `ordered` False). A bundle's model of another shape loads and
    fails only on the first face, on every frame after: this catches it when it is built."""
    found_input = getattr(runner, "input_shape", None)
    found_outputs = getattr(runner, "output_shapes", None)
    if found_input is None or found_outputs is None:  # a runner that cannot say: nothing to check
        return
    inputs_match = len(found_input) == len(input_shape) and all(
        f is None or f == e for f, e in zip(found_input, input_shape, strict=True))
    # An open dimension is the batch (1 here).
    sizes = [math.prod(v for v in shape if v is not None) for shape in found_outputs[: len(output_sizes)]]
    outputs_match = sizes == list(output_sizes) if ordered else sorted(sizes) == sorted(output_sizes)
    if not (inputs_match and outputs_match):
        raise ModelError(
            f"{runner.name}: not the model expected there (input {_shape(found_input)}, expected {_shape(input_shape)}; "
            f"outputs {', '.join(_shape(o) for o in found_outputs)}, expected {' and '.join(str(n) for n in output_sizes)} values)"
        )


def _shape(shape: Sequence[int | None]) -> str:
    return "x".join("?" if v is None else str(v) for v in shape)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
