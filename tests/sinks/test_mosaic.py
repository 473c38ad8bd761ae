from __future__ import annotations

from pathlib import Path

import numpy as np

from streamseg.sinks.mosaic import MosaicSink, mosaic


def test_a_known_ground_truth_gets_a_tile_of_its_own():
    image = np.full((40, 60, 3), 90, np.uint8)
    mask = np.zeros((40, 60), np.uint8)
    truth = mask.copy()
    truth[10:30, 20:40] = 255
    plain = mosaic(image, {"mog2": mask})
    shown = mosaic(image, {"mog2": mask}, truth=truth)
    assert plain.shape == (40, 120, 3) and shown.shape == (40, 180, 3)
    tile = shown[:, 60:120]
    assert not np.array_equal(tile[20, 30], tile[2, 2])  # the truth is tinted on its tile


def test_the_demo_mosaic_shows_the_synthetic_scenes_truth(tmp_path: Path):
    import streamseg as ss
    from streamseg.sources.synthetic import SyntheticSource

    video = tmp_path / "m.mp4"
    with (
        SyntheticSource(width=64, height=48, frames=3) as src,
        ss.create("mog2") as seg,
        MosaicSink(video) as sink,
    ):
        ss.run(src, {"mog2": seg}, [sink])
    import av

    with av.open(str(video)) as container:
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (3 * 64, 48)  # input | ground truth | mog2
