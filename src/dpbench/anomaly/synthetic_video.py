"""A synthetic surveillance video in the UCSD layout, for the quick preset and the tests.

A fixed camera looks at a textured walkway (static background plus mild sensor noise).
Normal clips show "pedestrians" (small rectangles) walking up or down the walkway at walking
speed. Test clips also contain abnormal events over a frame span, each of a kind and a grade
(``GRADES``: ``easy``, ``medium``, ``subtle``), so that a better encoder can show it on the subtle ones:

* ``bike``: a pedestrian-sized object moving 5x / 3x / 2x walking speed;
* ``wrong_way``: a walker crossing at 90 / 60 / 35 degrees from the walkway's direction (directions
  never seen in training);
* ``cart``: a shape of 12x10 / 8x8 / 5x7 pixels (at 64x64; a pedestrian is 3x6) at walking speed.

Test clip ``i`` holds the events of ``EVENT_CYCLE[i mod 9]``, every (kind, grade) pair in turn; the
kind and grade of each clip's events are written to ``Test/events.json``.

Clips are written exactly like UCSD Ped1/Ped2 so that the same loader reads them::

    <root>/UCSDsynth/Train/Train001/001.tif ...
    <root>/UCSDsynth/Test/Test001/001.tif ...
    <root>/UCSDsynth/Test/UCSDsynth.m          (real ``.m`` syntax, 1-based frame ranges)

Everything is a function of the seed.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from dpbench.anomaly.ucsd import format_gt
from dpbench.io import atomic_path, write_json

log = logging.getLogger(__name__)

SUBSET = "UCSDsynth"
GRADES = ("easy", "medium", "subtle")
# every (kind, grade) pair once, the grades mixed within any three consecutive clips
EVENT_CYCLE: tuple[tuple[tuple[str, str], ...], ...] = (
    (("bike", "easy"),), (("wrong_way", "medium"),), (("cart", "subtle"),),
    (("bike", "subtle"),), (("wrong_way", "easy"),), (("cart", "medium"),),
    (("bike", "medium"),), (("wrong_way", "subtle"),), (("cart", "easy"),),
)
WALK_SPEED = (0.6, 1.2)  # pixels per frame at 64x64
BIKE_FACTOR = {"easy": 5.0, "medium": 3.0, "subtle": 2.0}  # times the mean walking speed
WRONG_WAY_ANGLE = {"easy": 90.0, "medium": 60.0, "subtle": 35.0}  # degrees from the walkway's direction
CART_SIZE = {"easy": (12.0, 10.0), "medium": (8.0, 8.0), "subtle": (5.0, 7.0)}  # width, height at 64x64
# walkers differ widely in contrast (clothing), abnormal objects stay in the middle of that range,
# so that motion energy alone does not give the events away
PED_CONTRAST = (25.0, 90.0)
ANOMALY_CONTRAST = (30.0, 50.0)


@dataclass
class _Object:
    x: float
    y: float
    w: float
    h: float
    vx: float
    vy: float
    contrast: float
    kind: str = "pedestrian"

    def coverage(self, size: int) -> np.ndarray:
        """Fraction of each pixel covered by the rectangle (anti-aliased rendering)."""
        idx = np.arange(size, dtype=np.float64)
        cx = np.clip(np.minimum(idx + 1, self.x + self.w) - np.maximum(idx, self.x), 0, 1)
        cy = np.clip(np.minimum(idx + 1, self.y + self.h) - np.maximum(idx, self.y), 0, 1)
        return np.outer(cy, cx)

    def step(self) -> None:
        self.x += self.vx
        self.y += self.vy

    def visible_fraction(self, size: int) -> float:
        return float(self.coverage(size).sum() / (self.w * self.h))

    def gone(self, size: int) -> bool:
        return self.y > size or self.y + self.h < 0 or self.x > size or self.x + self.w < 0


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    tex = gaussian_filter(rng.normal(size=(size, size)), sigma=size / 24)
    tex = (tex - tex.min()) / (np.ptp(tex) + 1e-12)
    bg = 80.0 + 50.0 * tex
    # the walkway: a slightly brighter vertical band with darker kerbs
    lo, hi = size // 6, size - size // 6
    bg[:, lo:hi] += 15.0
    bg[:, lo - 1 : lo + 1] -= 25.0
    bg[:, hi - 1 : hi + 1] -= 25.0
    return bg


def _pedestrian(rng: np.random.Generator, size: int, *, at_edge: bool) -> _Object:
    scale = size / 64
    w, h = 3.0 * scale, 6.0 * scale
    lo, hi = size / 6 + 1, size - size / 6 - 1 - w
    speed = rng.uniform(*WALK_SPEED) * scale
    down = rng.random() < 0.5
    x = rng.uniform(lo, hi)
    if at_edge:
        y = -h if down else float(size)
    else:
        y = rng.uniform(0, size - h)
    contrast = rng.choice([-1.0, 1.0]) * rng.uniform(*PED_CONTRAST)
    return _Object(x, y, w, h, rng.uniform(-0.1, 0.1) * scale, speed if down else -speed, contrast)


def _anomaly(kind: str, rng: np.random.Generator, size: int, grade: str = "easy") -> _Object:
    if grade not in GRADES:
        raise ValueError(f"unknown anomaly grade {grade!r}: expected one of {GRADES}")
    scale = size / 64
    lo, hi = size / 6 + 1, size - size / 6 - 1
    down = rng.random() < 0.5
    contrast = rng.choice([-1.0, 1.0]) * rng.uniform(*ANOMALY_CONTRAST)
    walk = float(np.mean(WALK_SPEED)) * scale
    if kind == "bike":
        w, h = 4.0 * scale, 7.0 * scale
        speed = rng.uniform(0.9, 1.1) * BIKE_FACTOR[grade] * walk
        return _Object(rng.uniform(lo, hi - w), -h if down else float(size), w, h, 0.0, speed if down else -speed, contrast, kind)
    if kind == "wrong_way":
        w, h = 3.0 * scale, 6.0 * scale
        right = rng.random() < 0.5
        speed = rng.uniform(1.2, 1.6) * scale
        angle = np.deg2rad(WRONG_WAY_ANGLE[grade])
        vx, vy = speed * np.sin(angle), speed * np.cos(angle)
        return _Object(-w if right else float(size), rng.uniform(size / 5, size - size / 5 - h), w, h,
                       vx if right else -vx, vy if down else -vy, contrast, kind)
    if kind == "cart":
        w, h = (v * scale for v in CART_SIZE[grade])
        speed = rng.uniform(*WALK_SPEED) * scale
        return _Object(rng.uniform(lo, hi - w), -h if down else float(size), w, h, 0.0, speed if down else -speed, contrast, kind)
    raise ValueError(f"unknown anomaly kind {kind!r}: expected bike, wrong_way or cart")


def render_clip(
    rng: np.random.Generator,
    background: np.ndarray,
    n_frames: int,
    *,
    n_pedestrians: int = 4,
    events: tuple[tuple[str, str], ...] = (),
    noise: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Render one clip with ``events`` ((kind, grade) pairs, one after another); return uint8 frames
    (T, H, W) and 0/1 frame labels (T,)."""
    size = background.shape[0]
    people = [_pedestrian(rng, size, at_edge=False) for _ in range(n_pedestrians)]
    # events run one after another: the first starts in the first third of the clip, each
    # next one a few frames after the previous abnormal object has left the view
    pending = list(events)
    next_start = int(rng.integers(int(0.15 * n_frames), max(int(0.3 * n_frames), int(0.15 * n_frames) + 1)))
    active: list[_Object] = []
    frames = np.empty((n_frames, size, size), dtype=np.uint8)
    labels = np.zeros(n_frames, dtype=np.int8)
    for t in range(n_frames):
        if pending and not active and t >= next_start:
            kind, grade = pending.pop(0)
            active.append(_anomaly(kind, rng, size, grade))
        img = background.copy()
        for obj in people + active:
            img += obj.contrast * obj.coverage(size)
        if any(obj.visible_fraction(size) >= 0.2 for obj in active):
            labels[t] = 1
        img += rng.normal(scale=noise, size=img.shape)
        frames[t] = np.clip(np.round(img), 0, 255).astype(np.uint8)
        for obj in people + active:
            obj.step()
        people = [p if not p.gone(size) else _pedestrian(rng, size, at_edge=True) for p in people]
        if active and all(a.gone(size) for a in active):
            next_start = t + 1 + int(rng.integers(3, 7))
        active = [a for a in active if not a.gone(size)]
    return frames, labels


def label_ranges(labels: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous runs of 1 as 1-based inclusive (start, end) ranges."""
    padded = np.concatenate([[0], np.asarray(labels, dtype=np.int8), [0]])
    diff = np.diff(padded)
    starts = np.flatnonzero(diff == 1) + 1
    ends = np.flatnonzero(diff == -1)
    return [(int(a), int(b)) for a, b in zip(starts, ends)]


def _write_clip(clip_dir: Path, frames: np.ndarray) -> None:
    import tifffile

    clip_dir.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames, 1):
        with atomic_path(clip_dir / f"{i:03d}.tif") as tmp:
            tifffile.imwrite(tmp, frame, photometric="minisblack", metadata=None)


def generate(
    root: str | os.PathLike[str],
    *,
    seed: int = 0,
    n_train: int = 4,
    n_test: int = 4,
    n_frames: int = 40,
    size: int = 64,
    n_pedestrians: int = 4,
    noise: float = 2.0,
) -> Path:
    """Write the synthetic dataset under ``root/UCSDsynth``; return that folder.

    The ``.m`` ground truth is written last (atomically), so its presence marks a complete set.
    """
    if min(n_train, n_test) < 1 or n_frames < 8 or size < 16:
        raise ValueError("need n_train, n_test >= 1, n_frames >= 8 and size >= 16")
    out = Path(root) / SUBSET
    seq = np.random.SeedSequence(seed)
    bg_seq, train_seq, test_seq = seq.spawn(3)
    background = _background(np.random.default_rng(bg_seq), size)
    for i, s in enumerate(train_seq.spawn(n_train), 1):
        frames, _ = render_clip(np.random.default_rng(s), background, n_frames, n_pedestrians=n_pedestrians, noise=noise)
        _write_clip(out / "Train" / f"Train{i:03d}", frames)
    gt, record = [], {}
    for i, s in enumerate(test_seq.spawn(n_test), 1):
        events = EVENT_CYCLE[(i - 1) % len(EVENT_CYCLE)]
        frames, labels = render_clip(np.random.default_rng(s), background, n_frames, n_pedestrians=n_pedestrians, events=events, noise=noise)
        _write_clip(out / "Test" / f"Test{i:03d}", frames)
        gt.append(label_ranges(labels))
        record[f"Test{i:03d}"] = [{"kind": k, "grade": g} for k, g in events]
    write_json(out / "Test" / "events.json", record)
    with atomic_path(out / "Test" / f"{SUBSET}.m") as tmp:
        tmp.write_text(format_gt(gt))
    log.info("wrote synthetic video set (%d train, %d test clips of %d frames, %dx%d) to %s", n_train, n_test, n_frames, size, size, out)
    return out
