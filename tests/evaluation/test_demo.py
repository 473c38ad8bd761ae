from __future__ import annotations

import json
from pathlib import Path

from streamseg.evaluation.demo import demo_config, demo_markdown, run_demo, write_demo
from streamseg.registry import available


def test_the_demo_runs_every_stable_method_unless_named(tmp_path: Path):
    every = demo_config(tmp_path)
    assert [m.name for m in every.methods] == available(experimental=False)
    assert every.outputs.overwrite and not every.source.realtime
    watched = demo_config(tmp_path, methods=["knn"], web="0")
    assert [m.name for m in watched.methods] == ["knn"] and watched.source.realtime


def test_the_demo_scores_each_method_after_its_warm_up_and_writes_the_metrics(tmp_path: Path):
    cfg = demo_config(tmp_path, frames=40, size="64x48", methods=["mog2", "knn"])
    result = run_demo(cfg)
    assert result.first_scored == 8 and result.stats.frames == 40
    assert [r.method for r in result.rows] == ["mog2", "knn"]
    assert all(0 < r.f_measure <= 1 and r.fps > 0 for r in result.rows)
    md, js = write_demo(result, tmp_path)
    assert md.read_text() == demo_markdown(result.rows)
    assert md.read_text().count("\n") == 4  # header, rule, a row per method
    rows = json.loads(js.read_text())
    assert rows[0]["method"] == "mog2" and rows[0]["f_measure"] == result.rows[0].f_measure
    assert (tmp_path / "mosaic.mp4").exists() and (tmp_path / "masks" / "knn").is_dir()
