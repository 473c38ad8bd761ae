from __future__ import annotations

import pytest

import streamseg as ss
from streamseg.errors import ConfigError
from streamseg.registry import register
from streamseg.segmenters.base import Segmenter


def test_builtins_are_registered():
    assert {"mog2", "knn"} <= set(ss.available())


def test_create_with_params_and_config():
    seg = ss.create("mog2", history="120")
    assert seg.config.history == 120
    again = ss.create("mog2", seg.config)
    assert again.config == seg.config
    with pytest.raises(ConfigError, match="either config or keyword"):
        ss.create("mog2", seg.config, history=3)


def test_unknown_name_lists_available():
    with pytest.raises(ConfigError, match=r"unknown method 'nope' \(available: .*mog2"):
        ss.create("nope")


def test_unknown_param_lists_fields():
    with pytest.raises(ConfigError, match=r"mog2: unknown parameter 'size' \(valid: history"):
        ss.create("mog2", size=3)


def test_missing_extra_names_the_install(monkeypatch):
    from streamseg import registry

    @register("needs-extra", requires=("no_such_module_xyz",), extra="baselines")
    class NeedsExtra(Segmenter):
        from dataclasses import dataclass

        @dataclass(frozen=True)
        class Config:
            pass

        def _learn_one(self, image):
            pass

        def _predict_one(self, image):
            return image

        def reset(self):
            pass

    try:
        assert "needs-extra" not in ss.available()
        assert "needs-extra" in ss.available(installed_only=False)
        with pytest.raises(ConfigError, match=r"pip install 'streamseg\[baselines\]'"):
            ss.create("needs-extra")
    finally:
        registry._REGISTRY.pop("needs-extra")
        registry._EXTRAS.pop("needs-extra")


def test_duplicate_name_is_refused():
    from streamseg.segmenters.mog2 import MOG2

    with pytest.raises(ValueError, match="already registered"):
        register("mog2")(type("Other", (MOG2,), {}))


@pytest.mark.parametrize(
    "items",
    [
        ["deepls.window=16", "deepls.net.width=8"],
        ["methods.deepls.window=16", "methods.deepls.net.width=8"],
        ["window=16", "net.width=8"],
    ],
)
def test_method_overrides_take_each_form(items):
    from streamseg.registry import method_overrides

    base = {"deepls": {"mode": "sync", "net": {"norm": "group"}}}
    params = method_overrides(items, ["deepls"], base)
    assert params == {
        "deepls": {"mode": "sync", "window": 16, "net": {"norm": "group", "width": 8}}
    }


@pytest.mark.parametrize(
    ("names", "item", "shown"),
    [
        (
            ["mog2"],
            "knn.history=3",
            "is not a method of this run (mog2); use METHOD.KEY=VALUE, e.g. mog2.history=3",
        ),
        (["deepls"], "trian.steps=3", "'trian' names no method of this run nor a parameter"),
        (["mog2", "knn"], "history=3", "use METHOD.KEY=VALUE (e.g. mog2.history=500)"),
    ],
)
def test_method_overrides_show_the_right_form(names, item, shown):
    from streamseg.registry import method_overrides

    with pytest.raises(ConfigError) as err:
        method_overrides([item], names)
    assert shown in str(err.value)
