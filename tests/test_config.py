from __future__ import annotations

from pathlib import Path

import pytest

from streamseg.config import OutputConfig, dump_config, load_config, run_config_from_dict
from streamseg.errors import ConfigError


def test_run_config_resolves_defaults_and_overrides():
    cfg = run_config_from_dict(
        {"source": {"uri": "synthetic"}, "methods": [{"name": "mog2", "history": 100}, "knn"]},
        overrides=["methods.mog2.var_threshold=20", "max_frames=7", "outputs.masks=out"],
    )
    assert cfg.methods[0].config.history == 100
    assert cfg.methods[0].config.var_threshold == 20.0
    assert cfg.methods[1].config.dist2_threshold == 400.0
    assert cfg.max_frames == 7
    assert cfg.outputs == OutputConfig(masks="out")


@pytest.mark.parametrize(
    ("data", "overrides", "match"),
    [
        ({"methods": ["mog3"]}, [], "unknown method 'mog3'"),
        ({"methods": [{"name": "mog2", "histroy": 1}]}, [], "unknown parameter 'histroy'"),
        ({"methods": [{"name": "mog2", "history": 0}]}, [], "history must be in 1"),
        ({"methods": ["mog2"]}, ["methods.knn.history=3"], "knn is not a method of this run"),
        ({"methods": ["mog2"]}, ["sources.uri=x"], "'sources' names no method of this run"),
        ({"methods": ["mog2", "mog2"]}, [], "listed twice"),
        ({"method": ["mog2"]}, [], "unknown key 'method'"),
        ({"methods": ["mog2"], "source": [5]}, [], "source must be a mapping"),
        ({"methods": ["mog2"], "outputs": ["a"]}, [], "outputs must be a mapping"),
        ({"methods": ["mog2"], "max_frames": -4}, [], "max_frames must be >= 1"),
    ],
)
def test_run_config_errors(data, overrides, match):
    with pytest.raises(ConfigError, match=match):
        run_config_from_dict(data, overrides)


def test_dump_and_load_round_trip(tmp_path: Path):
    cfg = run_config_from_dict(
        {
            "source": {"uri": "clip.mp4", "gray": True},
            "methods": [{"name": "knn", "history": 50}],
            "outputs": {"video": "m.mp4"},
        }
    )
    path = tmp_path / "run.yaml"
    path.write_text(dump_config(cfg))
    assert load_config(path) == cfg


@pytest.mark.parametrize("text", ["source: [unclosed", "- a list"])
def test_load_config_bad_yaml(tmp_path: Path, text: str):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=str(path)):
        load_config(path)


def test_load_config_missing(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_load_config_that_is_no_text_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary)


def test_a_source_may_be_given_as_its_uri():
    cfg = run_config_from_dict({"source": "clip.mp4", "methods": ["mog2"]})
    assert cfg.source.uri == "clip.mp4"
    assert run_config_from_dict({"source": 0, "methods": ["mog2"]}).source.uri == "0"


def test_shipped_configs_load():
    root = Path(__file__).resolve().parents[1] / "configs"
    files = sorted(root.glob("*.yaml"))
    assert files
    for path in files:
        data = __import__("yaml").safe_load(path.read_text())
        if "streams" in data:  # the many-camera config has its own schema
            continue
        if "zones" in data:  # so has the zones file (--zones)
            from streamseg.events import load_event_file

            load_event_file(path)
            continue
        load_config(path)


def test_partial_nested_override_keeps_the_fields_own_default():
    """`--set methods.deepls.mask.close=3` changes closing only, not DeepLS's threshold."""
    from streamseg.registry import method_config

    default = method_config("deepls", {}).mask
    changed = method_config("deepls", {"mask": {"close": 3}}).mask
    assert (changed.k, changed.floor, changed.blur) == (default.k, default.floor, default.blur)
    assert changed.close == 3
    with pytest.raises(ConfigError, match="unknown parameter 'nope'"):
        method_config("deepls", {"mask": {"nope": 1}})


def test_a_mistyped_section_is_named_before_it_is_missed():
    from streamseg.config import run_sections

    with pytest.raises(ConfigError, match=r"unknown key 'sourc' \(valid: source, methods"):
        run_sections({"sourc": {"uri": "synthetic"}, "methods": ["mog2"]})


@pytest.mark.parametrize("item", ["mog2.history=20", "methods.mog2.history=20", "history=20"])
def test_a_method_parameter_may_be_set_in_each_form(item: str):
    """METHOD.KEY is the form shown everywhere; the YAML's nesting and, for the one
    method of a run, the bare KEY are accepted too."""
    cfg = run_config_from_dict({"source": "synthetic", "methods": ["mog2"]}, [item])
    assert cfg.methods[0].config.history == 20
    if item != "history=20":
        cfg = run_config_from_dict({"methods": ["knn", "mog2"]}, [item, "knn.history=7"])
        assert [m.config.history for m in cfg.methods] == [7, 20]


@pytest.mark.parametrize(
    ("methods", "item", "shown"),
    [
        (
            ["mog2"],
            "knn.history=3",
            "is not a method of this run (mog2); use METHOD.KEY=VALUE, e.g. mog2.history=3",
        ),
        (["mog2"], "sourc.uri=x", "source.KEY=VALUE, outputs.KEY=VALUE"),
        (["mog2"], "histroy=3", "METHOD.KEY=VALUE (e.g. mog2.history=500)"),
        (["mog2", "knn"], "history=3", "METHOD.KEY=VALUE (e.g. mog2.history=500)"),
        (["mog2"], "source.fps.x=3", "source.KEY=VALUE"),
    ],
)
def test_a_misplaced_override_is_shown_its_right_form(methods, item: str, shown: str):
    with pytest.raises(ConfigError) as err:
        run_config_from_dict({"methods": methods}, [item])
    assert str(err.value).startswith(f"--set {item}: ") and shown in str(err.value)


def test_shipped_configs_are_found_by_name_where_no_such_file_exists(tmp_path, monkeypatch):
    from streamseg.config import find_config, shipped_configs

    monkeypatch.chdir(tmp_path)
    shipped = shipped_configs()
    assert {"cameras", "cdnet", "cpu-small", "default", "rtsp"} <= set(shipped)
    for given in ("cdnet", "cdnet.yaml", "configs/cdnet.yaml"):
        assert find_config(given) == shipped["cdnet"]
    (tmp_path / "cdnet.yaml").write_text("methods: [knn]\n")
    assert find_config("cdnet.yaml") == Path("cdnet.yaml")  # a file of that name wins
    with pytest.raises(ConfigError, match="does not exist.*cameras, cdnet"):
        find_config("elsewhere/cdnet.yaml")
    # The repository's configs/ is the package's folder, not a copy.
    root = Path(__file__).resolve().parents[1]
    assert (root / "configs").resolve() == shipped["cdnet"].parent.resolve()


def test_the_wheel_ships_the_configs_and_the_license(tmp_path: Path):
    import shutil
    import subprocess
    import sys
    import zipfile

    root = Path(__file__).resolve().parents[1]
    src = tmp_path / "src"  # a copy: building in place would leave build/ in the checkout
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(root / "streamseg", src / "streamseg", ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(root / name, src / name)
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*cmd, str(src), "-w", str(tmp_path)], check=True, timeout=300)
    (wheel,) = tmp_path.glob("streamseg-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).name for n in names if n.startswith("streamseg/configs/")}
    assert {p.name for p in (root / "configs").glob("*.yaml")} == shipped
    (license_file,) = [n for n in names if n.endswith("LICENSE")]
    assert "MIT License" in zipfile.ZipFile(wheel).read(license_file).decode()


def test_ci_runs_the_readmes_test_command():
    """CI installs and tests as the README tells a user to (torch from the CPU index)."""
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    command = readme[readme.index("# 2. install everything") :].splitlines()[1]
    assert (root / ".ci" / "run").read_text().strip().splitlines()[-1] == command
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in command
