from __future__ import annotations

from pathlib import Path

import pytest

from streamseg.cli import main


def test_the_shipped_configs_are_listed_shown_and_run_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.chdir(tmp_path)  # no configs/ here: the package's own are used
    assert main(["config", "list"]) == 0
    assert "cpu-small" in capsys.readouterr().out
    assert main(["config", "show", "cpu-small"]) == 0
    assert "name: mog2" in capsys.readouterr().out
    assert main(["config", "show", "nope"]) == 2
    assert "cpu-small" in capsys.readouterr().err
    assert main(["run", "--config", "cpu-small", "--max-frames", "3", "--no-progress"]) == 0
    assert len(list((tmp_path / "out" / "cpu-small").glob("bin*.png"))) == 3
