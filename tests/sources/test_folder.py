from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import streamseg as ss
from streamseg.errors import SourceError, SourceNotFoundError
from streamseg.sources.folder import FolderSource


def _write(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        if name.endswith(".txt"):
            (folder / name).write_text("not an image")
        else:
            cv2.imwrite(str(folder / name), np.full((6, 8, 3), 10 * i, np.uint8))


def test_cdnet_numbering_is_kept(tmp_path: Path):
    _write(tmp_path / "input", ["in000471.jpg", "in000470.jpg", "in000472.png", "notes.txt"])
    with ss.open_source(tmp_path / "input") as src:
        assert src.info.frame_count == 3 and not src.info.is_live
        assert [f.index for f in src] == [470, 471, 472]


def test_sequence_root_reads_input(synthetic_sequence: Path):
    with ss.open_source(synthetic_sequence) as src:
        frames = list(src)
    # streamseg synth numbers frames from 1, as CDnet does
    assert [f.index for f in frames[:3]] == [1, 2, 3] and len(frames) == 60
    assert all(f.number == f.index for f in frames)


def test_gray(tmp_path: Path):
    _write(tmp_path, ["a1.png"])
    with FolderSource(tmp_path, ss.SourceConfig(gray=True)) as src:
        assert next(iter(src)).image.shape == (6, 8)


def test_unnumbered_names_follow_numbered(tmp_path: Path):
    _write(tmp_path, ["b.png", "frame7.png", "a.png"])
    with ss.open_source(tmp_path) as src:
        assert [f.index for f in src] == [7, 8, 9]


def test_corrupt_image_is_skipped_and_counted(tmp_path: Path):
    _write(tmp_path, ["in000001.png", "in000003.png"])
    (tmp_path / "in000002.png").write_bytes(b"garbage")
    with ss.open_source(tmp_path) as src:
        assert [f.index for f in src] == [1, 3]
        assert src.dropped == 1 and "in000002.png" in (src.warning or "")


def _noise_jpegs(folder: Path, numbers: range, **params: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    flags = [v for item in params.items() for v in (getattr(cv2, item[0]), item[1])]
    for i in numbers:
        image = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"in{i:06d}.jpg"), image, flags)


@pytest.mark.parametrize(
    "params", [{}, {"IMWRITE_JPEG_PROGRESSIVE": 1}, {"IMWRITE_JPEG_RST_INTERVAL": 2}]
)
def test_a_truncated_jpeg_is_skipped_counted_and_quiet(tmp_path: Path, capfd, params):
    # libjpeg decodes a cut file with a flat grey lower half and only a line on stderr.
    _noise_jpegs(tmp_path, range(1, 6), **params)
    cut = tmp_path / "in000003.jpg"
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size * 2 // 3])
    capfd.readouterr()
    with ss.open_source(tmp_path) as src:
        stats = ss.run(src, {}, [])
    assert stats.frames == 4 and stats.dropped == 1
    assert "in000003.jpg" in (stats.warning or "")
    assert "JPEG" not in capfd.readouterr().err


def test_a_jpeg_with_bytes_after_its_end_is_read(tmp_path: Path):
    # Some cameras append data after the end marker: the image itself is complete.
    _noise_jpegs(tmp_path, range(1, 3))
    tail = tmp_path / "in000002.jpg"
    tail.write_bytes(tail.read_bytes() + b"\x00" * 100 + b"trailer")
    with ss.open_source(tmp_path) as src:
        assert [f.index for f in src] == [1, 2] and src.dropped == 0


def test_a_truncated_first_jpeg_does_not_set_the_size(tmp_path: Path, capfd):
    _noise_jpegs(tmp_path, range(1, 4))
    first = tmp_path / "in000001.jpg"
    first.write_bytes(first.read_bytes()[:300])
    with ss.open_source(tmp_path) as src:
        assert (src.info.width, src.info.height) == (64, 48)
        assert [f.index for f in src] == [2, 3]
    assert "JPEG" not in capfd.readouterr().err


def test_empty_folder(tmp_path: Path):
    with pytest.raises(SourceError, match="no images"), ss.open_source(tmp_path):
        pass


def test_missing_folder_like_path(tmp_path: Path):
    with pytest.raises(SourceNotFoundError), ss.open_source(tmp_path / "missing" / "input"):
        pass


def test_two_images_with_one_number_are_refused(tmp_path: Path):
    # Masks are named by the number: camA_001 and camB_001 would write one bin000001.png.
    _write(tmp_path, ["camA_001.png", "camB_001.png", "camA_002.png"])
    with pytest.raises(
        SourceError, match=r"camA_001.png and camB_001.png both carry frame number 1"
    ):
        ss.open_source(tmp_path).open()
