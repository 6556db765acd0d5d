"""The real clips as other cameras would film them, scored against their truth.

    python benchmarks/real_variants.py [--variants gray flip ...] [--work DIR] [--config YAML]
    python benchmarks/real_variants.py --rescore --work DIR [--config YAML]

A held-back set of real in-car clips judges the detectors, so a rule tuned on the five clips
of ../shared/data/real must also hold when the same drives come from another camera. Each
clip is rewritten (H.264 crf 12, same frame times) as

    gray    a monochrome picture (the near-infrared cameras of most car DMS give no colour)
    flip    mirrored (the camera on the other side of the driver, a right-hand-drive car)
    half    half the width and height (a lower-resolution camera, a driver further away)
    dark    gamma 1.8 (less light: dusk, a tinted window)
    rot8    turned by 8 degrees (a camera mounted askew)
    fps30   every other frame of a 60 fps clip
    fps15   15 frames a second (every 4th frame of a 60 fps clip, every 2nd of a 30 fps one)
    fps10   10 frames a second (every 6th / 3rd frame: a slow camera, a loaded car computer)
    noisy   Gaussian sensor noise, sigma 8 grey levels (a small sensor at night, high gain)
    bright  gamma 0.6 (over-exposed: low sun on the face)
    blur    Gaussian blur, sigma 1.5 px (a soft fixed-focus lens, a smeared window)
    shake   each frame shifted up to 4 px and turned up to 1 degree (a dash mount vibrating)
    wide    the picture in the middle of one twice as wide and high (a wider camera's view of
            the cabin: the face half its share of the picture)
    wide3   the same three times as wide and high (a cabin camera that sees both front seats:
            the face 7-11 % of the picture's width)
    crf35   H.264 at crf 35 (the heavy compression of a dash camera's recording)
    phoneleft, phoneright
            a hand holding a phone to the ear on that side of the picture (a phone call;
            drawn where MediaPipe finds the face on each frame)
    sunglasses
            dark lenses over the eyes (drawn where MediaPipe finds the face)
    facemask, whitemask, blackmask
            a surgical mask (pale blue, white, black) over the nose, mouth and chin (drawn
            where MediaPipe finds the face, lit as the face is; the eyes clear)
    glare   reflections on the glasses: a veil of light over each lens and a glint beside
            the iris (drawn where MediaPipe finds the face)
    lateglare
            the same from 3 s into the clip on (after the driver's open eyes were learned)
    sideshade
            sun through the side window: one side of the face in shadow, the boundary down
            the nose (drawn where MediaPipe finds the face)
    flicker the whole picture's brightness stepping every 0.2-0.6 s (trees, street lamps)
    close   a camera close to the face (480x480, the face's box 1/1.15 of it: it leaves the
            picture at the edges when the head moves)
    late    the lead-in cut: the clip starts 0.15 s before the first behaviour (the detectors
            have not seen the driver's open eyes or the road ahead for long, or at all); the
            truth moves with it

and combinations of them joined by "+" (`gray+noisy`: a night-time infrared camera), then replayed with the packaged default config and scored by `eval --truth`'s rules
(evaluation/truth.py): expected events found, false alerts. The truth stays the clip's own
(times are unchanged except for `late`; directions in truth.yaml are not scored). tests/test_real_variants.py
keeps a few of these; docs/robustness.md has the table and what the failures are.

--rescore decides every variant replayed earlier into --work again from its feature table
(`replay --features`: the events a full replay with that config gives, in seconds instead of
minutes, docs/scaling.md), so a change of a detector or a threshold is measured on every
variant at once: run it with the code or --config before and after the change.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("DRIVER_MONITOR_SHARED", REPO.parent / "shared")) / "data" / "real"


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def _half(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)


def _dark(img: np.ndarray) -> np.ndarray:
    return np.clip(255.0 * (img / 255.0) ** 1.8, 0, 255).astype(np.uint8)


def _rot8(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 8, 1.0)
    return cv2.warpAffine(img, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)


def _bright(img: np.ndarray) -> np.ndarray:
    return np.clip(255.0 * (img / 255.0) ** 0.6, 0, 255).astype(np.uint8)


def _noisy(img: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(int(img[::16, ::16].sum()))  # the same noise on every run
    return np.clip(img + rng.normal(0.0, 8.0, img.shape), 0, 255).astype(np.uint8)


def _blur(img: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), 1.5)


def _shake(img: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(int(img[::16, ::16].sum()) + 1)  # the same shake on every run
    h, w = img.shape[:2]
    move = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-1.0, 1.0)), 1.0)
    move[:, 2] += rng.uniform(-4.0, 4.0, 2)
    return cv2.warpAffine(img, move, (w, h), borderMode=cv2.BORDER_REPLICATE)


def _wide(img: np.ndarray, factor: int = 2) -> np.ndarray:
    """The picture in the middle of one `factor` times as wide and high (a dark interior
    around it): the same face in a wider camera's view of the cabin, 1/factor of its share of
    the picture."""
    h, w = img.shape[:2]
    top, left = (factor - 1) * h // 2, (factor - 1) * w // 2
    return cv2.copyMakeBorder(img, top, (factor - 1) * h - top, left, (factor - 1) * w - left, cv2.BORDER_CONSTANT,
                              value=(40, 40, 40))


class _PhoneAtEar:
    """A hand holding a phone to the driver's ear on one side of the picture (a phone call:
    the contest data set the car clips come from has a class of them, and the truth's `other`
    spans name "phone at the ear"), drawn where MediaPipe finds the face on each frame of the
    clip (kept where it last was while no face is found). The phone covers the ear and the
    side of the head from the temple to the jaw, tilted toward the mouth; the fingers grip
    its outer edge and the palm covers the corner of the jaw; the eye stays clear, as it does
    in a call. One instance per clip (it follows the face from frame to frame)."""

    def __init__(self, side: str):
        self.side = side
        self._faces = _FaceFinder()

    def __call__(self, img: np.ndarray) -> np.ndarray:
        face = self._faces.follow(img)
        return img if face is None else _draw_phone(img.copy(), face, self.side)

    def close(self) -> None:
        self._faces.close()


class _FaceFinder:
    """MediaPipe's face landmarks (pixels) on consecutive frames of one clip; `last`: those of
    the last frame a face was found on."""

    def __init__(self) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        from driver_monitor.perception.model import VENDORED_MODEL_PATH

        options = vision.FaceLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(VENDORED_MODEL_PATH)),
                                               running_mode=vision.RunningMode.VIDEO, num_faces=1)
        self._landmarker = vision.FaceLandmarker.create_from_options(options)
        self._frame = 0
        self.last: np.ndarray | None = None

    def find(self, img: np.ndarray) -> np.ndarray | None:
        import mediapipe as mp

        h, w = img.shape[:2]
        found = self._landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB,
                                                           data=np.ascontiguousarray(img)), self._frame * 33)
        self._frame += 1
        return np.array([(p.x * w, p.y * h) for p in found.face_landmarks[0]]) if found.face_landmarks else None

    def follow(self, img: np.ndarray) -> np.ndarray | None:
        """The face on this frame, or where it last was while none is found (None before the
        first)."""
        found = self.find(img)
        if found is not None:
            self.last = found
        return self.last

    def close(self) -> None:
        self._landmarker.close()


class _OnTheFace:
    """A change drawn where MediaPipe finds the face on each frame of one clip (kept where it
    last was while none is found): subclasses draw it in `draw`."""

    def __init__(self) -> None:
        self._faces = _FaceFinder()

    def __call__(self, img: np.ndarray) -> np.ndarray:
        face = self._faces.follow(img)
        return img if face is None else self.draw(img, face)

    def draw(self, img: np.ndarray, face: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        self._faces.close()


class _Sunglasses(_OnTheFace):
    """Dark lenses over the driver's eyes (sunglasses by day: the eyes cannot be judged, the
    rest of the face can), drawn where MediaPipe finds the face on each frame of the clip;
    each lens an ellipse around the eye's corners and lids, 1.6 times the eye's width, at 8 %
    of the picture's brightness under it."""

    # Eye corners (outer, inner) and the brow above each eye, MediaPipe's face mesh.
    _EYES = ((33, 133, 105), (263, 362, 334))

    def draw(self, img: np.ndarray, face: np.ndarray) -> np.ndarray:
        out = img.copy()
        mask = np.zeros(img.shape[:2], np.uint8)
        for outer, inner, brow in self._EYES:
            a, b = face[outer], face[inner]
            centre = (a + b) / 2.0 + (face[brow] - (a + b) / 2.0) * 0.15
            width = float(np.linalg.norm(a - b))
            angle = float(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0])))
            cv2.ellipse(mask, (int(centre[0]), int(centre[1])), (int(0.8 * width), int(0.55 * width)), angle, 0, 360, 255, -1)
        lens = mask.astype(bool)
        out[lens] = (out[lens].astype(np.float32) * 0.08 + 6.0).astype(np.uint8)
        return out


class _FaceMask:
    """A surgical face mask over the nose, mouth and chin (drivers wear them; the contest data
    set the car clips come from was filmed in 2023), drawn where MediaPipe finds the face on
    each frame of the clip: from halfway down the nose over the face's contour below the
    cheekbones and the chin, with three darker pleats. The eyes stay clear; the mouth, and so
    a yawn, is hidden. Lit as the face is: the mask's colour is its colour in daylight
    (on skin of luma DAYLIGHT_SKIN_LUMA) scaled by the luma of this frame's cheeks, so a white
    mask in a dark cabin is as much brighter than the skin as a white mask is."""

    # MediaPipe's face-oval contour from below the image-left ear (93) round the chin (152) to
    # below the image-right ear (323); the bridge between the eyes (6) and the nose tip (1);
    # the cheeks (50, 280).
    _LOWER_OVAL = (93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323)
    _BRIDGE, _TIP, _CHEEKS = 6, 1, (50, 280)
    DAYLIGHT_SKIN_LUMA = 150.0
    # RGB in daylight: (mask, pleats).
    COLOURS = {"blue": ((172, 205, 226), (140, 170, 192)), "white": ((240, 240, 236), (205, 205, 200)),
               "black": ((30, 30, 34), (52, 52, 58))}

    def __init__(self, colour: str = "blue") -> None:
        self.colour, self.pleat = (np.array(c, np.float64) for c in self.COLOURS[colour])
        self._faces = _FaceFinder()

    def __call__(self, img: np.ndarray) -> np.ndarray:
        face = self._faces.find(img)  # (not `follow`: a mask turns away with the face, and one
        if face is None:              # left where the face was would look like a face there)
            return img
        h, w = img.shape[:2]
        cheeks = [img[int(np.clip(y, 2, h - 3)) - 2:int(np.clip(y, 2, h - 3)) + 3,
                      int(np.clip(x, 2, w - 3)) - 2:int(np.clip(x, 2, w - 3)) + 3].reshape(-1, 3)
                  for x, y in face[list(self._CHEEKS)]]
        skin_luma = float(np.median(np.concatenate(cheeks) @ np.array([0.299, 0.587, 0.114])))
        light = skin_luma / self.DAYLIGHT_SKIN_LUMA
        colour = tuple(int(v) for v in np.clip(self.colour * light, 0, 255))
        pleat = tuple(int(v) for v in np.clip(self.pleat * light, 0, 255))
        top = face[self._BRIDGE] + 0.45 * (face[self._TIP] - face[self._BRIDGE])
        outline = np.array([*(face[i] for i in self._LOWER_OVAL), top])
        out = img.copy()
        cv2.fillPoly(out, [np.round(outline).astype(np.int32)], colour)
        left, right, chin = face[93], face[323], face[152]
        for share in (0.3, 0.5, 0.7):  # pleats: from side to side, between the top and the chin
            a = left + share * (chin - left) * 0.8 + (top - left) * (1 - share) * 0.3
            b = right + share * (chin - right) * 0.8 + (top - right) * (1 - share) * 0.3
            cv2.line(out, tuple(int(v) for v in a), tuple(int(v) for v in b), pleat, max(1, int(np.linalg.norm(right - left) / 80)))
        return out

    def close(self) -> None:
        self._faces.close()


class _Glare(_OnTheFace):
    """Reflections on the driver's glasses (sun, sky or the side window by day; the
    near-infrared lamp at night): over each lens (the region `_Sunglasses` darkens) a soft veil
    of light, strongest at the lens's upper outer edge (GLARE_VEIL of white there, fading to
    none across the lens), and a small saturated glint beside the iris; drawn where MediaPipe
    finds the face on each frame. The eye shows through the veil with less contrast, as
    through a lit window pane."""

    GLARE_VEIL = 0.6  # the share of white at the veil's strongest, the lens's upper outer edge

    def draw(self, img: np.ndarray, face: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        out = img.astype(np.float32)
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        for outer, inner, brow in _Sunglasses._EYES:
            a, b = face[outer], face[inner]
            centre = (a + b) / 2.0 + (face[brow] - (a + b) / 2.0) * 0.15
            width = float(np.linalg.norm(a - b))
            angle = float(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0])))
            lens = np.zeros((h, w), np.uint8)
            cv2.ellipse(lens, (int(centre[0]), int(centre[1])), (int(0.8 * width), int(0.55 * width)), angle, 0, 360, 255, -1)
            # The veil: strongest at the lens's upper outer edge, none at the opposite edge.
            edge = centre + (a - centre) * 0.8 + (face[brow] - centre) * 0.6
            reach = 1.6 * width
            veil = np.clip(1.0 - np.hypot(xs - edge[0], ys - edge[1]) / reach, 0.0, 1.0) * self.GLARE_VEIL
            veil *= cv2.GaussianBlur(lens.astype(np.float32) / 255.0, (0, 0), max(1.0, 0.05 * width))
            out = out * (1.0 - veil[..., None]) + 255.0 * veil[..., None]
            glint = centre + (a - b) * 0.12 - (face[brow] - centre) * 0.1
            cv2.circle(out, (int(glint[0]), int(glint[1])), max(1, int(0.07 * width)), (255.0, 255.0, 255.0), -1)
        return np.clip(out, 0, 255).astype(np.uint8)


class _LateGlare(_Glare):
    """`_Glare` from LATE_GLARE_S into the clip on (the sun comes round, the lamp reaches the
    glasses after the driver's open eyes were learned); the face is followed from the start."""

    LATE_GLARE_S = 3.0

    def __init__(self, clip: Path) -> None:
        super().__init__()
        with av.open(str(clip)) as src:
            stream = src.streams.video[0]
            self._first_glare_frame = round(self.LATE_GLARE_S * float(stream.average_rate or stream.guessed_rate))
        self._frame = 0

    def __call__(self, img: np.ndarray) -> np.ndarray:
        face = self._faces.follow(img)
        self._frame += 1
        return img if face is None or self._frame <= self._first_glare_frame else self.draw(img, face)


class _SideShade(_OnTheFace):
    """Sunlight through the side window: the face lit on one side and in shadow on the other,
    the boundary down the nose (the bridge between the eyes, 6, to the chin, 152, of
    MediaPipe's face mesh) softened over a tenth of the face's width; the shaded side of the
    picture at SHADE of its brightness, the lit side at LIT. Drawn where MediaPipe finds the
    face (kept where it last was while none is found)."""

    SHADE, LIT = 0.3, 1.15

    def draw(self, img: np.ndarray, face: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        top, chin = face[6], face[152]
        down = (chin - top) / max(float(np.linalg.norm(chin - top)), 1e-6)
        across = np.array([-down[1], down[0]])  # toward the image-left side of the face when upright
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        side = (xs - top[0]) * across[0] + (ys - top[1]) * across[1]  # px from the boundary
        soft = max(2.0, 0.1 * float(np.linalg.norm(face[234] - face[454])))
        lit = np.clip(0.5 + side / soft, 0.0, 1.0)
        gain = self.SHADE + (self.LIT - self.SHADE) * lit
        return np.clip(img.astype(np.float32) * gain[..., None], 0, 255).astype(np.uint8)


class _Flicker:
    """Light that changes as the car drives (under trees, past street lamps, in and out of a
    bridge's shadow): the whole picture's brightness steps to a new level (FLICKER_RANGE of its
    own) every 0.2-0.6 s, the step spread over 50 ms, the same steps on every run."""

    FLICKER_RANGE = (0.45, 1.15)

    def __init__(self, clip: Path) -> None:
        with av.open(str(clip)) as src:
            stream = src.streams.video[0]
            self._frame_s = 1.0 / float(stream.average_rate or stream.guessed_rate)
        rng = np.random.default_rng(7)
        self._steps: list[tuple[float, float]] = [(0.0, 1.0)]  # (time, level)
        while self._steps[-1][0] < 600.0:
            self._steps.append((self._steps[-1][0] + float(rng.uniform(0.2, 0.6)), float(rng.uniform(*self.FLICKER_RANGE))))
        self._frame = 0

    def level(self, t: float) -> float:
        for (_, before), (t1, after) in zip(self._steps, self._steps[1:], strict=False):
            if t < t1:
                return before
            if t < t1 + 0.05:
                return before + (after - before) * (t - t1) / 0.05
        return self._steps[-1][1]

    def __call__(self, img: np.ndarray) -> np.ndarray:
        gain = self.level(self._frame * self._frame_s)
        self._frame += 1
        return np.clip(img.astype(np.float32) * gain, 0, 255).astype(np.uint8)

    def close(self) -> None:
        pass


class _CloseCamera:
    """The clip as a camera close to the face gives it (in the steering column, on the
    dashboard in front of the driver): a 480x480 picture of a square CLOSE_FACE_SHARE times the
    side of the face's median box over the clip, so the face fills the picture and leaves it
    at the edges when the head moves, turns or tilts back."""

    def __init__(self, clip: Path):
        finder, boxes = _FaceFinder(), []
        try:
            with av.open(str(clip)) as src:
                for frame in src.decode(video=0):
                    face = finder.find(frame.to_ndarray(format="rgb24"))
                    if face is not None:
                        boxes.append((*face.min(axis=0), *face.max(axis=0)))
        finally:
            finder.close()
        x0, y0, x1, y1 = np.median(np.array(boxes), axis=0)
        scale = CLOSE_SIDE_PX / (max(x1 - x0, y1 - y0) * CLOSE_FACE_SHARE)
        self._warp = np.array([[scale, 0.0, CLOSE_SIDE_PX / 2 - scale * (x0 + x1) / 2],
                               [0.0, scale, CLOSE_SIDE_PX / 2 - scale * (y0 + y1) / 2]])

    def __call__(self, img: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(img, self._warp, (CLOSE_SIDE_PX, CLOSE_SIDE_PX), flags=cv2.INTER_AREA,
                              borderMode=cv2.BORDER_CONSTANT)

    def close(self) -> None:
        pass


CLOSE_SIDE_PX = 480
CLOSE_FACE_SHARE = 1.15  # the picture's side over the face's (landmarks' box): the face fills it


def _draw_phone(img: np.ndarray, face: np.ndarray, side: str) -> np.ndarray:
    # Face-contour points at the ears (234 image-left, 454 image-right), the jaw's corners
    # (172, 397) and the cheeks (50, 280) of MediaPipe's face mesh.
    ear, jaw, cheek = (face[234], face[172], face[50]) if side == "left" else (face[454], face[397], face[280])
    outward = -1.0 if side == "left" else 1.0
    face_w = float(np.linalg.norm(face[234] - face[454]))
    y, x = int(cheek[1]), int(cheek[0])
    patch = img[max(0, y - 4):y + 4, max(0, x - 4):x + 4].reshape(-1, 3)
    skin = tuple(int(v) for v in np.median(patch, axis=0)) if len(patch) else (180, 140, 120)
    centre = ear + np.array([outward * 0.06 * face_w, 0.05 * face_w])
    phone = cv2.boxPoints(((float(centre[0]), float(centre[1])), (0.2 * face_w, 0.7 * face_w), outward * 20.0))
    cv2.fillPoly(img, [phone.astype(np.int32)], (25, 25, 30))
    for k in range(4):  # the fingers over the phone's outer edge
        finger = centre + np.array([outward * 0.1 * face_w, (-0.12 + 0.09 * k) * face_w])
        cv2.ellipse(img, (int(finger[0]), int(finger[1])), (int(0.09 * face_w), int(0.04 * face_w)), 0, 0, 360, skin, -1)
    palm = (ear + jaw) / 2.0 + np.array([outward * 0.04 * face_w, 0.15 * face_w])
    cv2.ellipse(img, (int(palm[0]), int(palm[1])), (int(0.12 * face_w), int(0.22 * face_w)), outward * 15.0, 0, 360, skin, -1)
    return img


PICTURE_VARIANTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "gray": _gray, "flip": lambda img: img[:, ::-1], "half": _half, "dark": _dark, "rot8": _rot8,
    "noisy": _noisy, "bright": _bright, "blur": _blur, "shake": _shake, "wide": _wide,
    "wide3": lambda img: _wide(img, 3),
}
# Variants that find the face: a fresh one per clip (made from the clip's path, called per
# frame, closed at the end).
STATEFUL_VARIANTS: dict[str, Callable[[Path], _PhoneAtEar | _CloseCamera | _Sunglasses | _FaceMask | _Glare
                                         | _SideShade | _Flicker]] = {
    "phoneleft": lambda clip: _PhoneAtEar("left"), "phoneright": lambda clip: _PhoneAtEar("right"),
    "close": _CloseCamera, "sunglasses": lambda clip: _Sunglasses(), "facemask": lambda clip: _FaceMask(),
    "whitemask": lambda clip: _FaceMask("white"), "blackmask": lambda clip: _FaceMask("black"),
    "glare": lambda clip: _Glare(), "lateglare": _LateGlare, "sideshade": lambda clip: _SideShade(), "flicker": _Flicker,
}
CRF = {"crf35": "35"}  # the encoder's quality instead of the picture (crf 12 otherwise)
VARIANTS = (*PICTURE_VARIANTS, *STATEFUL_VARIANTS, "fps30", "fps15", "fps10", *CRF, "late")
# `late`: how long before the first behaviour (not talking) the cut clip starts.
LATE_LEAD_S = 0.15


def parse_variant(variant: str) -> list[str]:
    """The parts of a variant name ("gray+noisy" -> ["gray", "noisy"]), each a known variant."""
    parts = variant.split("+")
    unknown = [p for p in parts if p not in VARIANTS]
    if unknown or len(set(parts)) != len(parts):
        raise ValueError(f"variant {variant!r}: parts must be distinct ones of {', '.join(VARIANTS)}")
    return parts


def _frame_step(parts: list[str], rate: float) -> int | None:
    """Every how many frames one is kept (None: a frame-rate part does not apply to this rate)."""
    rates = [p for p in parts if p in ("fps30", "fps15", "fps10")]
    if len(rates) > 1:
        return None
    if "fps30" in parts:
        return 2 if rate >= 50 else None
    if "fps15" in parts:
        return round(rate / 15) if rate >= 25 else None
    if "fps10" in parts:
        return round(rate / 10) if rate >= 20 else None
    return 1


def late_start_s(truth) -> float | None:
    """Where `late` cuts the clip (truth: its ClipTruth); None when there is no lead-in to cut."""
    onsets = [b.start_s for b in truth.intervals if b.kind != "talking"]
    start = min(onsets) - LATE_LEAD_S if onsets else 0.0
    return start if start >= 0.05 else None


def shift_truth(truth, start_s: float):
    """The clip's truth for the clip cut at start_s (times from the new first frame); spans that
    end before the cut are dropped, those that straddle it start at 0."""
    from driver_monitor.evaluation.truth import ClipTruth

    def moved(spans: list[dict]) -> list[dict]:
        kept = []
        for span in spans:
            if span.get("start_s") is not None and span.get("end_s") is not None:
                if span["end_s"] - start_s <= 0:
                    continue
                span = {**span, "start_s": max(0.0, span["start_s"] - start_s), "end_s": span["end_s"] - start_s}
            kept.append(span)
        return kept

    data = truth.model_dump()
    for key in ("intervals", "ambiguous", "other"):
        data[key] = moved(data[key])
    data["duration_s"] = data["duration_s"] - start_s
    return ClipTruth.model_validate(data)


def write_variant(clip: Path, variant: str, out: Path, start_s: float = 0.0) -> Path | None:
    """`clip` rewritten as `variant` into out/<clip stem>__<variant>.mp4 (None: a frame rate
    variant the clip is too slow for). Frame times are kept (the first frame at 0), except
    that frames before start_s are cut (`late`; its caller finds start_s with late_start_s)."""
    parts = parse_variant(variant)
    target = out / f"{clip.stem}__{variant}.mp4"
    with av.open(str(clip)) as src:
        stream = src.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        every = _frame_step(parts, float(rate))
        if every is None:
            return None
        followers = [STATEFUL_VARIANTS[p](clip) for p in parts if p in STATEFUL_VARIANTS]
        # The face is found in the clip as filmed, before any other change.
        changes = [*followers, *(PICTURE_VARIANTS[p] for p in parts if p in PICTURE_VARIANTS)]
        crf = next((CRF[p] for p in parts if p in CRF), "12")
        out.mkdir(parents=True, exist_ok=True)
        with av.open(str(target), "w") as dst:
            enc = None
            kept = 0
            for frame in src.decode(stream):
                if frame.time is not None and frame.time < start_s - 1e-6:
                    continue
                kept += 1
                if (kept - 1) % every:
                    continue
                img = frame.to_ndarray(format="rgb24")
                for change in changes:
                    img = change(img)
                if enc is None:
                    enc = dst.add_stream("libx264", rate=rate / every)
                    enc.width, enc.height = img.shape[1] - img.shape[1] % 2, img.shape[0] - img.shape[0] % 2
                    enc.pix_fmt, enc.options = "yuv420p", {"crf": crf, "preset": "fast"}
                img = np.ascontiguousarray(img[: enc.height, : enc.width])
                for packet in enc.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    dst.mux(packet)
            if enc is not None:
                for packet in enc.encode(None):
                    dst.mux(packet)
        for follower in followers:
            follower.close()
    return target


def score_variant(path: Path, truth, out_dir: Path, config=None):
    """Replay `path` with `config` (default: the packaged one) into out_dir; its ClipScore
    against `truth` (the original clip's ClipTruth)."""
    from driver_monitor.config import load_config
    from driver_monitor.evaluation.truth import score_clip
    from driver_monitor.outputs.event_log import read_event_log
    from driver_monitor.replay import replay

    replay(path, config or load_config(), out_dir, progress=False)
    return score_clip(path.stem, truth, read_event_log(out_dir / "events.jsonl"))


def variant_truth(truth, name: str):
    """(clip truth, variant) of a replay named <clip>__<variant> (the truth moved for `late`);
    None for a name that is not one."""
    clip, _, variant = name.partition("__")
    if clip not in truth or not variant:
        return None
    try:
        parts = parse_variant(variant)
    except ValueError:
        return None
    clip_truth = truth[clip]
    if "late" in parts:
        start_s = late_start_s(clip_truth)
        if start_s is None:
            return None
        clip_truth = shift_truth(clip_truth, start_s)
    return clip_truth


def rescore(work: Path, truth, config) -> list:
    """The ClipScore of every variant replayed into work/replays, decided again from its
    feature table with `config`."""
    from driver_monitor.evaluation.truth import report, score_clip
    from driver_monitor.fleet.feature_replay import decide_events
    from driver_monitor.fleet.table import read_feature_table

    scores = []
    for replayed in sorted((work / "replays").iterdir()) if (work / "replays").is_dir() else []:
        clip_truth = variant_truth(truth, replayed.name)
        if clip_truth is None:
            continue
        table = read_feature_table(replayed)
        score = score_clip(replayed.name, clip_truth, decide_events(table.frames, config, table.path))
        scores.append(score)
        print(report([score]).splitlines()[1], flush=True)
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS),
                        help=f"of {', '.join(VARIANTS)}, or several joined by + (gray+noisy)")
    parser.add_argument("--clips", nargs="+", help="clip names of truth.yaml (default: all)")
    parser.add_argument("--work", type=Path, help="where the variants and replays go (default: a temp dir)")
    parser.add_argument("--config", type=Path, help="config YAML (default: the packaged default.yaml)")
    parser.add_argument("--rescore", action="store_true",
                        help="decide the variants replayed into --work again from their feature tables")
    args = parser.parse_args(argv)
    if not (REAL / "truth.yaml").is_file():
        print(f"{REAL}: no truth.yaml (../shared is missing)", file=sys.stderr)
        return 2
    logging.disable(logging.WARNING)
    from driver_monitor.config import load_config
    from driver_monitor.errors import DriverMonitorError
    from driver_monitor.evaluation.truth import load_truth, report

    try:
        config = load_config(args.config)
    except DriverMonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.rescore and args.work is None:
        parser.error("--rescore needs --work (the directory of an earlier run)")

    for variant in args.variants:
        try:
            parse_variant(variant)
        except ValueError as exc:
            parser.error(str(exc))
    work = args.work or Path(tempfile.mkdtemp(prefix="dm-real-variants-"))
    truth = load_truth(REAL / "truth.yaml")
    scores = []
    print(report([]).splitlines()[0], flush=True)
    if args.rescore:
        try:
            scores = rescore(work, truth, config)
        except DriverMonitorError as exc:  # a table of another feature-code version: replay again
            print(f"error: {exc}", file=sys.stderr)
            return 2
    for name in [] if args.rescore else args.clips or sorted(truth):
        for variant in args.variants:
            clip_truth, start_s = truth[name], 0.0
            if "late" in parse_variant(variant):
                start_s = late_start_s(clip_truth)
                if start_s is None:
                    continue
                clip_truth = shift_truth(clip_truth, start_s)
            path = write_variant(REAL / truth[name].file, variant, work / "clips", start_s)
            if path is None:
                continue
            score = score_variant(path, clip_truth, work / "replays" / path.stem, config)
            scores.append(score)
            print(report([score]).splitlines()[1], flush=True)
    found = sum(len(s.found) for s in scores)
    expected = found + sum(len(s.missed) for s in scores)
    false = sum(len(s.false_alerts) for s in scores)
    print(f"{len(scores)} variants: {found}/{expected} expected events found, {false} false alerts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
