from __future__ import annotations

import os

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
    from streamseg.segmenters import registration

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
        registration._REGISTRY.pop("needs-extra")
        registration._EXTRAS.pop("needs-extra")


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


@pytest.mark.parametrize(
    ("name", "params"),
    [("mog2", "MOG2Params"), ("knn", "KNNParams"), ("rpca", "RPCAParams")]
    + [("deepls", "DeepLSParams"), ("slnet", "DeepLSParams")],
)
def test_the_typed_parameters_are_the_config_fields(name: str, params: str):
    """streamseg/_keywords.py types create()'s keywords: a field added to a Config goes
    there too, with the same annotation (a nested config also as a mapping)."""
    import dataclasses

    from streamseg import _keywords
    from streamseg.registry import method_class

    typed = {k: v.__forward_arg__ for k, v in getattr(_keywords, params).__annotations__.items()}
    nested = {"ModelConfig", "TrainConfig", "MaskRule", "MemoryConfig"}
    fields = {
        f.name: f"{f.type} | Mapping[str, Any]" if f.type in nested else str(f.type)
        for f in dataclasses.fields(method_class(name).Config)
    }
    assert fields == typed


def test_type_checkers_flag_a_mistyped_parameter(tmp_path, monkeypatch):
    from pathlib import Path

    mypy = pytest.importorskip("mypy.api")
    # A name of its own each run: mypy's shared cache (below) otherwise reports a module
    # "use" of an earlier run, with that run's path.
    snippet = tmp_path / f"use_{tmp_path.name.replace('-', '_')}_{os.getpid()}.py"
    lines = [
        "import streamseg as ss",
        "reveal_type(ss.create('mog2', history=200))",
        "ss.create('mog2', histroy=200)",
        "ss.create('deepls', window='16')",
        "reveal_type(ss.create('deepls', net={'width': 8}, mode='sync', providers=()))",
        "reveal_type(ss.create(str(1), **{'history': 3}))",
    ]
    snippet.write_text("\n".join(lines) + "\n")
    # Only streamseg is analysed (numpy for its types): torch's sources would take a minute.
    config = tmp_path / "mypy.ini"
    config.write_text(
        "[mypy]\nignore_missing_imports = True\nfollow_imports = skip\n"
        "[mypy-streamseg,streamseg.*,numpy,numpy.*]\nfollow_imports = normal\n"
    )
    monkeypatch.setenv("MYPYPATH", str(Path(__file__).resolve().parents[1]))
    cache = Path(__file__).resolve().parents[1] / ".mypy_cache" / "snippets"
    out, _, _ = mypy.run(["--config-file", str(config), "--cache-dir", str(cache), str(snippet)])
    found: dict[int, str] = {}
    for line in out.splitlines():
        if line.startswith(f"{snippet}:"):
            number = int(line.split(":")[1])
            found[number] = found.get(number, "") + line
    assert 'Revealed type is "streamseg.segmenters.mog2.MOG2"' in found.pop(2, ""), out
    assert 'Unexpected keyword argument "histroy"' in found.pop(3), out
    assert "error" in found.pop(4), out  # a str for an int
    assert 'Revealed type is "streamseg.segmenters.deepls.segmenter.DeepLS"' in found.pop(5)
    assert 'Revealed type is "streamseg.segmenters.base.Segmenter"' in found.pop(6), out
    assert found == {}, out


def test_the_registry_loads_the_methods_on_its_first_look_up():
    # The package import registers the built-in methods; the registry and the run schema
    # import none of them until a look-up needs them (`streamseg --help` stays fast).
    import subprocess
    import sys

    code = (
        "import sys, streamseg.registry, streamseg.config\n"
        "assert not [m for m in sys.modules if m.startswith('streamseg.segmenters')]\n"
        "import streamseg.registry as r\n"
        "assert 'mog2' in r.available() and r.method_class('mog2').name == 'mog2'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
