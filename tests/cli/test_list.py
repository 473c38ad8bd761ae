from __future__ import annotations

from streamseg.cli import main


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "mog2" in out and "history=500" in out


def test_list_describes_a_methods_parameters(capsys):
    assert main(["list", "deepls"]) == 0
    out = capsys.readouterr().out
    for text in ("window", "int", "32", "frames in the sliding window", "net.width"):
        assert text in out, text
    assert "channels of the first level" in out and "train.steps" in out
    assert main(["list", "mog3"]) == 2
    assert "unknown method 'mog3'" in capsys.readouterr().err
