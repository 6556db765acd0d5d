"""Face-tracker backends that run the vendored Face Landmarker models themselves.

MediaPipe Tasks runs the bundle's three models inside its graph; on these 2-core machines
about 4 ms of its ~10 ms per frame are graph overhead and work a tracker can skip
(shared/REFERENCE.md, "Speed on these machines"). This package runs the same models with a
plain interpreter and reproduces what the graph does around them, one job per module:

    bundle.py         the .task zip: the three tflite models and the geometry metadata
    runtime.py        model runners: LiteRT (ai-edge-litert) and onnxruntime (execution providers)
    onnx_models.py    the vendored ONNX conversions and their sha256
    detection.py      the face detector's SSD anchors, box decoding and weighted NMS
    roi.py            the rotated crop (detection or previous landmarks -> rect -> affine warp)
    face_geometry.py  the facial transformation matrix from the canonical face (Procrustes)
    model_tracker.py  the FaceTracker: detect when lost (+ periodic re-check), track the crop,
                      landmarks, blendshapes, matrix -> FaceObservation
"""
