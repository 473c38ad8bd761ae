from __future__ import annotations

from contextlib import nullcontext as does_not_raise

import pytest

from streamseg.errors import ConfigError
from streamseg.params import build, describe_config, parse_override
from streamseg.sources.base import SourceConfig


@pytest.mark.parametrize(
    ("values", "expected", "exception"),
    [
        ({"read_timeout": "2.5"}, 2.5, does_not_raise()),
        ({"read_timeout": 3}, 3.0, does_not_raise()),
        ({"read_timeout": -1}, None, pytest.raises(ConfigError, match="read_timeout")),
        ({"read_timeout": "soon"}, None, pytest.raises(ConfigError, match="expected a number")),
        ({"timeout": 3}, None, pytest.raises(ConfigError, match="unknown parameter 'timeout'")),
        ({"backend": "gstreamer"}, None, pytest.raises(ConfigError, match="not one of")),
    ],
)
def test_build_source_config(values, expected, exception):
    with exception:
        assert build(SourceConfig, values).read_timeout == expected


def test_build_coerces_bool_none_and_sizes():
    cfg = build(SourceConfig, {"gray": "yes", "drop_frames": "null"})
    assert cfg.gray is True and cfg.drop_frames is None
    from streamseg.sources.synthetic import SyntheticScene

    assert build(SyntheticScene, {"width": "64", "height": 48.0}).width == 64


def test_parse_override():
    assert parse_override("methods.mog2.history=300") == (["methods", "mog2", "history"], 300)
    assert parse_override("source.gray=true") == (["source", "gray"], True)
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("nonsense")


def test_every_parameter_of_every_method_is_described():
    from streamseg.registry import available
    from streamseg.segmenters.registration import registered

    for name in available(installed_only=False):
        rows = describe_config(registered()[name].Config)
        assert all(doc for _, _, _, doc in rows), (name, [r[0] for r in rows if not r[3]])
    rows = {r[0]: r for r in describe_config(registered()["slnet"].Config)}  # inherited docs
    assert rows["window"][1:3] == ("int", "32") and "sliding window" in rows["window"][3]
    assert rows["mode"][1] == "auto | paced | async | sync" and rows["weights"][1] == "str | None"
    assert rows["net.family"][2] == "'slnet'" and "``" not in rows["net.context"][3]
