"""The CDnet sequence layout, and scoring a folder of results against it.

A sequence folder holds ``input/inNNNNNN.(jpg|png)``, ``groundtruth/gtNNNNNN.png``,
``ROI.bmp`` (nonzero = scored) and ``temporalROI.txt`` ("first last": only frames
in that range are scored, and each of them must have ground truth, as CDnet's own
comparator requires; without the file every ground-truth frame there is is scored).
Masks are read as grayscale *by value*, never by palette index (some ground-truth
PNGs are 2-colour palette images). Ground truth must hold only CDnet's values
(0, 50, 85, 170, 255): anything else (a colour, a JPEG's artefacts, 16-bit depth)
would be silently ignored as "unknown", so it is an error instead.

Example:
    >>> from streamseg.evaluation.cdnet import CDnetSequence
    >>> seq = CDnetSequence("../shared/data/cdnet_highway")  # doctest: +SKIP
    >>> seq.temporal_roi, len(seq.scored_indices())  # doctest: +SKIP
    ((470, 900), 431)
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import numpy as np

from streamseg.errors import EvaluationError
from streamseg.evaluation.metrics import (
    GT_MOTION,
    GT_OUTSIDE,
    GT_SHADOW,
    GT_STATIC,
    GT_UNKNOWN,
    Confusion,
    Scores,
)
from streamseg.evaluation.objects import ObjectCounter

__all__ = [
    "CDnetSequence",
    "check_roi",
    "evaluate_folder",
    "find_sequences",
    "read_ground_truth",
    "read_mask",
]

log = logging.getLogger(__name__)


def read_mask(path: Path) -> np.ndarray:
    """A mask or ground-truth image as ``uint8 H×W`` gray values."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise EvaluationError(f"cannot read image {path}: not an image file OpenCV can decode")
    return image


# CDnet's ground-truth values, as a lookup table for a cheap per-frame check.
_GT_VALUES = np.zeros(256, bool)
_GT_VALUES[[GT_STATIC, GT_SHADOW, GT_OUTSIDE, GT_UNKNOWN, GT_MOTION]] = True


def read_ground_truth(path: Path) -> np.ndarray:
    """A ground-truth image as ``uint8 H×W``, checked to hold only CDnet's values.

    Raises:
        EvaluationError: unreadable, not 8-bit, colour, or values CDnet does not define.
    """
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise EvaluationError(f"cannot read image {path}: not an image file OpenCV can decode")
    if image.dtype != np.uint8:
        raise EvaluationError(
            f"{path}: {image.dtype} ground truth; CDnet's is 8-bit (0/50/85/170/255)"
        )
    if image.ndim == 3:
        if image.shape[2] == 4:
            image = image[..., :3]
        # Grey stored as RGB is grey; a coloured label is not CDnet's.
        if not (image == image[..., :1]).all():
            raise EvaluationError(
                f"{path}: colour ground truth; CDnet's is grey (0 static, 50 shadow, "
                "85 outside ROI, 170 unknown, 255 motion)"
            )
        image = np.ascontiguousarray(image[..., 0])
    bad = ~_GT_VALUES[image]
    if bad.any():
        found = ", ".join(str(v) for v in np.unique(image[bad])[:5])
        raise EvaluationError(
            f"{path}: values CDnet does not define ({found}); ground truth holds only "
            "0 static, 50 shadow, 85 outside ROI, 170 unknown, 255 motion (a JPEG's "
            "artefacts or a colour map would be scored wrongly)"
        )
    return image


class CDnetSequence:
    """A CDnet-layout sequence on disk.

    Args:
        root: the sequence folder (holding ``input/`` and ``groundtruth/``).

    Raises:
        EvaluationError: the folder does not have the CDnet layout.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise EvaluationError(f"{self.root}: no such sequence folder")
        if not (self.root / "groundtruth").is_dir():
            raise EvaluationError(f"{self.root}: not a CDnet sequence (no groundtruth/ folder)")

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @cached_property
    def roi(self) -> np.ndarray | None:
        """The spatial ROI (nonzero = scored), ``None`` when the sequence has none."""
        path = self.root / "ROI.bmp"
        if not path.exists():
            return None
        roi = read_mask(path)
        if not roi.any():
            raise EvaluationError(f"{path}: no pixel is in the region of interest (all zero)")
        return roi

    @cached_property
    def ground_truth_files(self) -> dict[int, Path]:
        """Frame index → ground-truth file."""
        files = {}
        for path in (self.root / "groundtruth").iterdir():
            match = re.fullmatch(r"gt(\d+)\.(png|bmp)", path.name)
            if match:
                files[int(match.group(1))] = path
        if not files:
            lossy = sorted((self.root / "groundtruth").glob("gt*.jp*g"))
            if lossy:
                raise EvaluationError(
                    f"{lossy[0]}: JPEG ground truth; its compression alters the labels, "
                    "so CDnet's is PNG (convert it losslessly from the original labels)"
                )
            raise EvaluationError(f"{self.root}/groundtruth: no gtNNNNNN.png files")
        return files

    @cached_property
    def temporal_roi(self) -> tuple[int, int]:
        """First and last scored frame (all ground-truth frames if there is no temporalROI.txt)."""
        path = self.root / "temporalROI.txt"
        if not path.exists():
            indices = sorted(self.ground_truth_files)
            return indices[0], indices[-1]
        try:
            first, last = (int(v) for v in path.read_text().split()[:2])
        except ValueError:
            raise EvaluationError(f"{path}: expected two frame numbers") from None
        if first > last:
            raise EvaluationError(f"{path}: first frame {first} is after the last, {last}")
        missing = [i for i in range(first, last + 1) if i not in self.ground_truth_files]
        if missing:
            # CDnet's comparator stops on an incomplete folder; scoring the frames that
            # are there would give a score over fewer frames than the sequence claims.
            raise EvaluationError(
                f"{path} scores frames {first}-{last}, but {len(missing)} of them have no "
                f"ground truth (first: gt{missing[0]:06d}.png); fix the folder or the range"
            )
        return first, last

    def scored_indices(self) -> list[int]:
        """Frames that are scored: inside the temporal ROI and with ground truth."""
        first, last = self.temporal_roi
        return sorted(i for i in self.ground_truth_files if first <= i <= last)

    def ground_truth(self, index: int) -> np.ndarray:
        """Ground truth of frame ``index``."""
        try:
            return read_ground_truth(self.ground_truth_files[index])
        except KeyError:
            raise EvaluationError(f"{self.root}: no ground truth for frame {index}") from None

    def __repr__(self) -> str:
        return f"CDnetSequence({str(self.root)!r})"


def check_roi(seq: CDnetSequence, gt: np.ndarray) -> None:
    """Refuse a sequence whose ``ROI.bmp`` is not the size of its ground truth ``gt``.

    Raises:
        EvaluationError: naming ROI.bmp and both sizes.
    """
    if seq.roi is not None and seq.roi.shape != gt.shape:
        raise EvaluationError(
            f"{seq.root / 'ROI.bmp'} is {seq.roi.shape[1]}x{seq.roi.shape[0]} but the "
            f"ground truth is {gt.shape[1]}x{gt.shape[0]}; they must match"
        )


def evaluate_folder(
    sequence: CDnetSequence | str | Path,
    results: str | Path,
    *,
    allow_missing: bool = False,
    offset: int = 0,
    objects: ObjectCounter | None = None,
) -> Scores:
    """Score a folder of ``binNNNNNN.png`` results against a CDnet sequence.

    Args:
        sequence: the sequence (or its folder).
        results: the folder holding the results.
        allow_missing: count a missing result as an all-background mask instead of failing.
        offset: the results are numbered this much below the frames: frame ``i``'s result
            is ``bin{i - offset}.png`` (masks written from a video are numbered from 1,
            a sequence whose input starts at frame 301 needs 300).
        objects: counts the objects of every scored frame too (object recall, precision
            and false alarms: :mod:`~streamseg.evaluation.objects`).

    Raises:
        EvaluationError: missing results (unless allowed; the message names the offset that
            would line the results up, if one does), unreadable files, size mismatch.
    """
    seq = sequence if isinstance(sequence, CDnetSequence) else CDnetSequence(sequence)
    folder = Path(results)
    if not folder.is_dir():
        raise EvaluationError(f"{folder}: no such results folder")
    indices = seq.scored_indices()

    def result(index: int) -> Path:
        return folder / f"bin{index - offset:06d}.png"

    missing = [i for i in indices if not result(i).exists()]
    if missing and not allow_missing:
        raise EvaluationError(
            f"{folder}: {len(missing)} of {len(indices)} scored frames have no result "
            f"(first: {result(missing[0]).name}); {_missing_hint(seq, folder, offset)}"
        )
    confusion = Confusion()
    warned = False
    for index in indices:
        gt = seq.ground_truth(index)
        check_roi(seq, gt)
        path = result(index)
        pred = read_mask(path) if path.exists() else np.zeros_like(gt)
        if not warned and ((pred != 0) & (pred != 255)).any():
            # A photo saved under a mask's name scores as garbage without this.
            log.warning("%s: not a 0/255 mask; pixels >= 128 count as foreground", path)
            warned = True
        try:
            confusion.update(pred, gt, seq.roi)
        except EvaluationError as err:
            raise EvaluationError(f"{path}: {err}") from None
        if objects is not None:
            objects.update(pred, gt, seq.roi)
    scores = confusion.compute()
    if scores.tp + scores.fp + scores.fn + scores.tn == 0:
        # Every pixel of every scored frame is outside the ROI or unknown: a score over
        # nothing would be NaN and silently drop out of the means.
        raise EvaluationError(
            f"{seq.root}: no pixel is scored (the ground truth of frames "
            f"{indices[0]}-{indices[-1]} is all 'outside ROI'/'unknown', or outside ROI.bmp)"
        )
    return scores


def _missing_hint(seq: CDnetSequence, folder: Path, offset: int) -> str:
    """How to score a results folder that lacks some scored frames: the ``--offset``
    that lines its masks up with the frames, if one does, else ``--allow-missing``."""
    numbers = {
        int(match.group(1))
        for path in folder.glob("bin*.png")
        if (match := re.fullmatch(r"bin(\d+)\.png", path.name))
    }
    allow = "--allow-missing scores them as background"
    if not numbers:
        return f"the folder holds no binNNNNNN.png masks; {allow}"
    indices = seq.scored_indices()
    first_input = _first_input_number(seq)
    candidates: list[tuple[int, str]] = []
    if first_input is not None:
        candidates.append(
            (
                first_input - 1,
                f"masks written from a video are numbered from 1, this sequence's frames "
                f"from {first_input}",
            )
        )
        candidates.append((first_input - min(numbers), "the masks are shifted"))
    candidates.append((indices[0] - min(numbers), "the masks are shifted"))
    for shift, why in candidates:
        if shift != offset and all(i - shift in numbers for i in indices):
            return f"{why}: --offset {shift} lines them up (or {allow})"
    return allow


def _first_input_number(seq: CDnetSequence) -> int | None:
    """The frame number of the sequence's first input image, ``None`` without ``input/``."""
    from streamseg.sources.folder import list_images

    if not seq.input_dir.is_dir():
        return None
    images = list_images(seq.input_dir)
    return images[0][0] if images else None


def find_sequences(root: str | Path) -> Iterator[tuple[str, CDnetSequence]]:
    """Every CDnet sequence under ``root`` as ``(category, sequence)``, sorted.

    ``root`` may be one sequence, a folder of sequences, or CDnet's category/sequence
    tree; symbolic links to folders are followed (a tree of links to datasets kept
    elsewhere), each folder visited once however many links lead to it, so a link
    loop ends. The category is the folder above the sequence (relative to ``root``),
    or the sequence's own name at top level.
    """
    base = Path(root)
    if base.is_file():
        raise EvaluationError(f"{base}: a file; give the sequence folder (with groundtruth/)")
    if not base.is_dir():
        raise EvaluationError(f"{base}: no such folder")
    found: list[Path] = []
    visited: set[str] = set()
    for here, subdirs, _ in os.walk(base, followlinks=True):
        real = os.path.realpath(here)
        if real in visited:
            subdirs.clear()  # a link back into the tree, or a second way to one folder
            continue
        visited.add(real)
        if "groundtruth" in subdirs:
            found.append(Path(here))
        # Thousands of frames each, and never a sequence inside.
        subdirs[:] = [d for d in subdirs if d not in ("input", "groundtruth")]
    if not found:
        raise EvaluationError(f"{base}: no CDnet sequence (no groundtruth/ folder) under it")
    for seq_root in sorted(found):
        rel = seq_root.relative_to(base)
        category = rel.parts[-2] if len(rel.parts) >= 2 else seq_root.name
        yield category, CDnetSequence(seq_root)
