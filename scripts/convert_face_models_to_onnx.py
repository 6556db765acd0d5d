"""Convert the vendored Face Landmarker bundle's tflite models to ONNX (the onnxruntime backend).

Run once, in a throwaway environment (tensorflow is large and never a runtime dependency):

    python3 -m venv /tmp/convert-venv
    /tmp/convert-venv/bin/pip install tensorflow-cpu tf2onnx onnx onnxruntime ai-edge-litert
    /tmp/convert-venv/bin/python scripts/convert_face_models_to_onnx.py

It reads driver_monitor/perception/models/face_landmarker.task (checking its sha256), converts
face_detector, face_landmarks_detector and face_blendshapes with tf2onnx (`--opset 17`;
tflite2onnx fails on the landmark model, shared/REFERENCE.md), rewrites two kinds of node of
the landmark model for onnxruntime's CPU kernels (below), checks every output against the
LiteRT interpreter on random inputs, writes driver_monitor/perception/models/onnx/*.onnx and
prints their sha256 for driver_monitor/perception/backends/onnx_models.py.

Rewrites (same function, faster in onnxruntime; REFERENCE.md measured PRelu at half the
landmark model's time there):
  PRelu(x, a)                -> a * x + (1 - a) * Relu(x): elementwise ops that onnxruntime
                                fuses and vectorises (the slopes span -5.4..19.8, so
                                Max(x, a * x) would be wrong)
  Pad on the channel axis    -> a 1x1 Conv whose weights copy the input channels and add
                                zero ones (the ResNet-style channel growth after a MaxPool)
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

REPO = Path(__file__).resolve().parents[1]
BUNDLE = REPO / "driver_monitor" / "perception" / "models" / "face_landmarker.task"
BUNDLE_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
OUT = REPO / "driver_monitor" / "perception" / "models" / "onnx"
MODELS = ("face_detector", "face_landmarks_detector", "face_blendshapes")
OPSET = 17


def convert(tflite: Path, out: Path) -> onnx.ModelProto:
    import tf2onnx

    model, _ = tf2onnx.convert.from_tflite(str(tflite), opset=OPSET)
    return model


def rewrite_prelu(model: onnx.ModelProto) -> int:
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    nodes, count = [], 0
    for node in graph.node:
        if node.op_type != "PRelu" or node.input[1] not in inits:
            nodes.append(node)
            continue
        slope = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        x, y, base = node.input[0], node.output[0], node.output[0] + "/prelu"
        graph.initializer.extend([
            numpy_helper.from_array(slope, base + "/a"),
            numpy_helper.from_array((1.0 - slope).astype(np.float32), base + "/one_minus_a"),
        ])
        nodes += [
            helper.make_node("Relu", [x], [base + "/relu"]),
            helper.make_node("Mul", [x, base + "/a"], [base + "/ax"]),
            helper.make_node("Mul", [base + "/relu", base + "/one_minus_a"], [base + "/br"]),
            helper.make_node("Add", [base + "/ax", base + "/br"], [y]),
        ]
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return count


def rewrite_channel_pad(model: onnx.ModelProto) -> int:
    """Pad(x, pads=[0, 0, 0, 0, 0, extra, 0, 0]) on NCHW -> Conv 1x1 (identity + zeros)."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    shapes = _channel_counts(model)
    nodes, count = [], 0
    for node in graph.node:
        pads = numpy_helper.to_array(inits[node.input[1]]) if node.op_type == "Pad" and node.input[1] in inits else None
        if pads is None or len(pads) != 8 or np.any(np.delete(pads, 5) != 0) or node.input[0] not in shapes:
            nodes.append(node)
            continue
        c_in, extra = shapes[node.input[0]], int(pads[5])
        weight = np.zeros((c_in + extra, c_in, 1, 1), np.float32)
        weight[np.arange(c_in), np.arange(c_in), 0, 0] = 1.0
        name = node.output[0] + "/channel_pad_weight"
        graph.initializer.append(numpy_helper.from_array(weight, name))
        nodes.append(helper.make_node("Conv", [node.input[0], name], [node.output[0]], kernel_shape=[1, 1]))
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return count


def drop_unused_initializers(model: onnx.ModelProto) -> None:
    """The replaced nodes' constants (PRelu slopes, pad amounts) are no longer read."""
    used = {name for node in model.graph.node for name in node.input}
    keep = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)


def _channel_counts(model: onnx.ModelProto) -> dict[str, int]:
    inferred = onnx.shape_inference.infer_shapes(model)
    counts = {}
    for info in list(inferred.graph.value_info) + list(inferred.graph.input):
        dims = info.type.tensor_type.shape.dim
        if len(dims) == 4 and dims[1].dim_value:
            counts[info.name] = dims[1].dim_value
    return counts


def check(tflite: Path, model: onnx.ModelProto, seed: int = 0) -> float:
    """Largest absolute difference of any output against the LiteRT interpreter."""
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite))
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    x = np.random.default_rng(seed).random(detail["shape"], dtype=np.float32)
    interpreter.set_tensor(detail["index"], x)
    interpreter.invoke()
    expected = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})
    return max(float(np.abs(np.asarray(e).ravel() - np.asarray(g).ravel()).max()) for e, g in zip(expected, got, strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=BUNDLE)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = args.bundle.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if args.bundle == BUNDLE and digest != BUNDLE_SHA256:
        print(f"error: {args.bundle}: sha256 {digest}, expected {BUNDLE_SHA256}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(args.bundle) as bundle:
        for name in MODELS:
            tflite = Path(tmp) / f"{name}.tflite"
            tflite.write_bytes(bundle.read(f"{name}.tflite"))
            model = convert(tflite, args.out / f"{name}.onnx")
            prelu = rewrite_prelu(model)
            pads = rewrite_channel_pad(model)
            drop_unused_initializers(model)
            onnx.checker.check_model(model)
            error = check(tflite, model)
            path = args.out / f"{name}.onnx"
            path.write_bytes(model.SerializeToString())
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            print(f"{name}: {prelu} PRelu and {pads} channel Pad rewritten; max |onnx - tflite| {error:.2e}")
            print(f'    "{name}.onnx": "{sha}",')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
