"""The CDnet sequence layout, and scoring a folder of results against it.

A sequence folder holds ``input/inNNNNNN.(jpg|png)``, ``groundtruth/gtNNNNNN.png``,
``ROI.bmp`` (nonzero = scored) and ``temporalROI.txt`` ("first last": only frames
in that range are scored). Masks are read as grayscale *by value*, never by
palette index (some ground-truth PNGs are 2-colour palette images).

Example:
    >>> from streamseg.evaluation.cdnet import CDnetSequence
    >>> seq = CDnetSequence("../shared/data/cdnet_highway")  # doctest: +SKIP
    >>> seq.temporal_roi, len(seq.scored_indices())  # doctest: +SKIP
    ((470, 900), 431)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import numpy as np

from streamseg.errors import EvaluationError
from streamseg.evaluation.metrics import Confusion, Scores

__all__ = ["CDnetSequence", "evaluate_folder", "find_sequences", "read_mask"]

log = logging.getLogger(__name__)


def read_mask(path: Path) -> np.ndarray:
    """A mask or ground-truth image as ``uint8 H×W`` gray values."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise EvaluationError(f"cannot read image {path}: not an image file OpenCV can decode")
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
        return read_mask(path) if path.exists() else None

    @cached_property
    def ground_truth_files(self) -> dict[int, Path]:
        """Frame index → ground-truth file."""
        files = {}
        for path in (self.root / "groundtruth").iterdir():
            match = re.fullmatch(r"gt(\d+)\.(png|bmp|jpg)", path.name)
            if match:
                files[int(match.group(1))] = path
        if not files:
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
        return first, last

    def scored_indices(self) -> list[int]:
        """Frames that are scored: inside the temporal ROI and with ground truth."""
        first, last = self.temporal_roi
        return sorted(i for i in self.ground_truth_files if first <= i <= last)

    def ground_truth(self, index: int) -> np.ndarray:
        """Ground truth of frame ``index``."""
        try:
            return read_mask(self.ground_truth_files[index])
        except KeyError:
            raise EvaluationError(f"{self.root}: no ground truth for frame {index}") from None

    def __repr__(self) -> str:
        return f"CDnetSequence({str(self.root)!r})"


def evaluate_folder(
    sequence: CDnetSequence | str | Path, results: str | Path, *, allow_missing: bool = False
) -> Scores:
    """Score a folder of ``binNNNNNN.png`` results against a CDnet sequence.

    Args:
        sequence: the sequence (or its folder).
        results: the folder holding the results.
        allow_missing: count a missing result as an all-background mask instead of failing.

    Raises:
        EvaluationError: missing results (unless allowed), unreadable files, size mismatch.
    """
    seq = sequence if isinstance(sequence, CDnetSequence) else CDnetSequence(sequence)
    folder = Path(results)
    if not folder.is_dir():
        raise EvaluationError(f"{folder}: no such results folder")
    indices = seq.scored_indices()
    missing = [i for i in indices if not (folder / f"bin{i:06d}.png").exists()]
    if missing and not allow_missing:
        raise EvaluationError(
            f"{folder}: {len(missing)} of {len(indices)} scored frames have no "
            f"result (first: bin{missing[0]:06d}.png); --allow-missing scores them as background"
        )
    confusion = Confusion()
    warned = False
    for index in indices:
        gt = seq.ground_truth(index)
        path = folder / f"bin{index:06d}.png"
        pred = read_mask(path) if path.exists() else np.zeros_like(gt)
        if not warned and ((pred != 0) & (pred != 255)).any():
            # A photo saved under a mask's name scores as garbage without this.
            log.warning("%s: not a 0/255 mask; pixels >= 128 count as foreground", path)
            warned = True
        try:
            confusion.update(pred, gt, seq.roi)
        except EvaluationError as err:
            raise EvaluationError(f"{path}: {err}") from None
    return confusion.compute()


def find_sequences(root: str | Path) -> Iterator[tuple[str, CDnetSequence]]:
    """Every CDnet sequence under ``root`` as ``(category, sequence)``, sorted.

    ``root`` may be one sequence, a folder of sequences, or CDnet's own
    category/sequence tree. The category is the folder above the sequence
    (relative to ``root``), or the sequence's own name at top level.
    """
    base = Path(root)
    if base.is_file():
        raise EvaluationError(f"{base}: a file; give the sequence folder (with groundtruth/)")
    if not base.is_dir():
        raise EvaluationError(f"{base}: no such folder")
    found = sorted(p.parent for p in base.rglob("groundtruth") if p.is_dir())
    if not found:
        raise EvaluationError(f"{base}: no CDnet sequence (no groundtruth/ folder) under it")
    for seq_root in found:
        rel = seq_root.relative_to(base)
        category = rel.parts[-2] if len(rel.parts) >= 2 else seq_root.name
        yield category, CDnetSequence(seq_root)
