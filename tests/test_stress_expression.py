"""The ONNX expression-model plug-in, end to end with tiny models built here with onnx.helper:
crop, channel order, normalisation, layout, output mapping, softmax, rate limit, the Pipeline
wiring into the stress detector, and one-line errors for bad models and configs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from driver_monitor.config import Config
from driver_monitor.config.stress import ExpressionModelConfig
from driver_monitor.errors import ConfigError
from driver_monitor.messages import FaceObservation, Frame
from driver_monitor.perception.expression import ExpressionModel, face_crop
from driver_monitor.pipeline import Pipeline

SIZE = 16
# Logit weights: class k's logit is the mean of channel k (in the order the model gets).
W = np.eye(3, dtype=np.float32)


def build_model(path: Path, layout: str = "NCHW", size: int = SIZE) -> Path:
    """input `face` (1,3,S,S) or (1,S,S,3) -> `va` = channel means [ch0, ch2] and `logits`
    = channel means [ch0, ch1, ch2] @ W (for a softmax over three classes)."""
    if layout == "NCHW":
        shape, axes = [1, 3, size, size], [2, 3]
    else:
        shape, axes = [1, size, size, 3], [1, 2]
    nodes = [
        helper.make_node("ReduceMean", ["face"], ["means"], axes=axes, keepdims=0),
        helper.make_node("Gather", ["means", "idx"], ["va"], axis=1),
        helper.make_node("MatMul", ["means", "w"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_expression",
        [helper.make_tensor_value_info("face", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("va", TensorProto.FLOAT, [1, 2]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])],
        initializer=[helper.make_tensor("idx", TensorProto.INT64, [2], [0, 2]),
                     helper.make_tensor("w", TensorProto.FLOAT, [3, 3], W.reshape(-1).tolist())],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def model_config(path: Path, **overrides: object) -> ExpressionModelConfig:
    data: dict[str, object] = {
        "enabled": True, "model_path": str(path), "input_width_px": SIZE, "input_height_px": SIZE,
        "crop_margin": 0.0, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "min_interval_s": 0.5,
        "outputs": [{"name": "va", "signals": ["valence", "arousal"]},
                    {"name": "logits", "signals": ["calm", "happy", "angry"], "softmax": True}],
    }
    data.update(overrides)
    return ExpressionModelConfig.model_validate(data)


FACE_RGB = (200, 100, 40)
BOX = (40.0, 30.0, 80.0, 70.0)  # a 40x40 face


def picture() -> np.ndarray:
    """Blue background, the face box filled with FACE_RGB."""
    img = np.zeros((120, 160, 3), dtype=np.uint8)
    img[:, :] = (0, 0, 255)
    img[30:70, 40:80] = FACE_RGB
    return img


def observation(t: float) -> FaceObservation:
    return FaceObservation(t=t, landmarks_px=np.zeros((478, 3), np.float32), blendshapes={},
                           transform=np.eye(4), box_px=BOX, image_size=(160, 120))


def norm(v: float) -> float:
    return (v / 255.0 - 0.5) / 0.25


def softmax(x: list[float]) -> list[float]:
    e = np.exp(np.asarray(x) - max(x))
    return (e / e.sum()).tolist()


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_crop_normalisation_layout_and_output_mapping(tmp_path: Path, layout: str) -> None:
    model = ExpressionModel(model_config(build_model(tmp_path / "m.onnx", layout), layout=layout))
    out = model.update(Frame(t=0.0, image=picture()), observation(0.0))
    r, g, b = (norm(v) for v in FACE_RGB)
    assert out["expression_valence"] == pytest.approx(r, abs=1e-5)  # channel 0 = R: the face only
    assert out["expression_arousal"] == pytest.approx(b, abs=1e-5)
    probs = softmax([r, g, b])
    assert [out[f"expression_{k}"] for k in ("calm", "happy", "angry")] == pytest.approx(probs, abs=1e-5)


def test_bgr_channel_order_swaps_the_channels(tmp_path: Path) -> None:
    model = ExpressionModel(model_config(build_model(tmp_path / "m.onnx"), channel_order="BGR"))
    out = model.update(Frame(t=0.0, image=picture()), observation(0.0))
    assert out["expression_valence"] == pytest.approx(norm(FACE_RGB[2]), abs=1e-5)
    assert out["expression_arousal"] == pytest.approx(norm(FACE_RGB[0]), abs=1e-5)


def test_crop_margin_takes_in_the_background(tmp_path: Path) -> None:
    # margin 0.5: an 80x80 crop, a quarter of it is the face, the rest blue background.
    model = ExpressionModel(model_config(build_model(tmp_path / "m.onnx"), crop_margin=0.5))
    out = model.update(Frame(t=0.0, image=picture()), observation(0.0))
    assert out["expression_valence"] == pytest.approx(norm(0.25 * FACE_RGB[0]), abs=0.02)
    assert out["expression_arousal"] == pytest.approx(norm(0.25 * FACE_RGB[2] + 0.75 * 255), abs=0.02)


def test_crop_outside_the_picture_is_zero_padded() -> None:
    img = np.full((20, 20, 3), 100, np.uint8)
    crop = face_crop(img, (10.0, 10.0, 30.0, 30.0), 0.0, 20, 20)  # half the box is outside
    assert crop.shape == (20, 20, 3)
    assert (crop[:10, :10] == 100).all() and (crop[10:, 10:] == 0).all()


def test_rate_limit_holds_outputs_and_no_face_gives_nan(tmp_path: Path) -> None:
    model = ExpressionModel(model_config(build_model(tmp_path / "m.onnx")))
    first = model.update(Frame(t=0.0, image=picture()), observation(0.0))
    dark = np.zeros_like(picture())
    held = model.update(Frame(t=0.4, image=dark), observation(0.4))  # < min_interval_s: held
    assert held == first
    fresh = model.update(Frame(t=0.5, image=dark), observation(0.5))
    assert fresh["expression_valence"] == pytest.approx(norm(0), abs=1e-5)
    gone = model.update(Frame(t=0.6, image=dark), None)
    assert set(gone) == set(first) and all(math.isnan(v) for v in gone.values())


def test_bad_models_and_configs_are_one_line_errors(tmp_path: Path) -> None:
    path = build_model(tmp_path / "m.onnx")
    cases = [
        (model_config(tmp_path / "missing.onnx"), "model_path: .*missing.onnx: no such file"),
        (model_config(path, outputs=[{"name": "nope", "signals": ["x"]}]), r"outputs.0.name: 'nope' is not an output"),
        (model_config(path, outputs=[{"name": "va", "signals": ["only_one"]}]), "has 2 values, 1 signals are named"),
        (model_config(path, input_width_px=32), "input of .* has shape"),
        (model_config(path, layout="NHWC"), "input of .* has shape"),
        (model_config(path, input_name="image"), "input_name: 'image' is not an input"),
        (model_config(path, providers=["CUDAExecutionProvider"]) if "CUDAExecutionProvider" not in _available() else None, "none of"),
    ]
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    cases.append((model_config(junk), "junk.onnx: not a loadable ONNX model"))
    for config, pattern in cases:
        if config is None:
            continue
        with pytest.raises(ConfigError, match=pattern) as info:
            ExpressionModel(config)
        assert len(info.value.problems) == 1 and "\n" not in info.value.problems[0]


def _available() -> list[str]:
    import onnxruntime as ort

    return ort.get_available_providers()


def test_enabled_without_model_or_outputs_is_a_config_error() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="model_path is required"):
        ExpressionModelConfig(enabled=True)


def test_a_stress_sign_for_a_signal_no_output_gives_is_a_config_error() -> None:
    # A misspelt signal in stress_signs ("arousl") validated and never counted towards stress:
    # its expression_ column never came, so the model's cue was silently off.
    from pydantic import ValidationError

    outputs = [{"name": "va", "signals": ["valence", "arousal"]}]
    with pytest.raises(ValidationError, match=r"stress_signs: 'arousl' is not a signal of outputs \(valence, arousal\)"):
        ExpressionModelConfig(enabled=True, model_path="m.onnx", outputs=outputs, stress_signs={"arousl": 1.0})
    ok = ExpressionModelConfig(enabled=True, model_path="m.onnx", outputs=outputs, stress_signs={"valence": -1.0})
    assert ok.stress_signs == {"valence": -1.0}


class FixedTracker:
    """Sees the same face box in every frame (the model only needs the box)."""

    def track(self, frame: Frame) -> FaceObservation:
        return observation(frame.t)

    def close(self) -> None:
        pass


def test_pipeline_feeds_model_signals_to_the_stress_detector(tmp_path: Path) -> None:
    path = build_model(tmp_path / "m.onnx")
    config = Config.model_validate({"stress": {
        "baseline": {"baseline_s": 10.0, "cue_smoothing_time_constant_s": 0.0},
        "expression_model": model_config(path, stress_signs={"angry": 1.0}, min_interval_s=0.0).model_dump(mode="json"),
    }, "camera": {"frozen_frame_s": 60.0, "covered_lens_contrast": 0.0}})
    # The synthetic pictures repeat exactly and the "angry" one is one flat colour: not a
    # frozen or covered camera here (pipeline camera health), just the expression plumbing.
    pipeline = Pipeline(config, FixedTracker())
    calm = picture()
    angry = picture()
    angry[30:70, 40:80] = (0, 0, 255)  # channel 2 high -> "angry" class probability up
    rows = {}
    for k in range(0, 301):
        t = k / 10.0
        rows[round(t, 1)] = pipeline.process(Frame(t=t, image=angry if t >= 20.0 else calm)).row()
    assert rows[5.0]["expression_angry"] == pytest.approx(softmax([norm(v) for v in FACE_RGB])[2], abs=1e-5)
    assert rows[15.0]["stress_level"] == 0
    # p(angry) rises from 0.063 to 0.965: +0.90 / 0.3 per unit = 3.0 units; it is the only
    # cue here (no blendshapes, no pulse): the score approaches 3.0 with tau 3 s from 19.9 s.
    assert rows[29.0]["expression_angry"] == pytest.approx(softmax([norm(0), norm(0), norm(255)])[2], abs=1e-5)
    assert rows[19.0]["stress_level"] == 0
    assert rows[29.0]["stress_level"] == 3 and rows[29.0]["stress_score"] == pytest.approx(3.0 * (1 - math.exp(-9.1 / 3)), abs=0.01)
