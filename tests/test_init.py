"""The package's lazy public names."""

from __future__ import annotations

import subprocess
import sys

import streamseg


def test_every_public_name_resolves_to_where_it_lives():
    assert set(streamseg.__all__) == set(streamseg._EXPORTS)
    for name, module in streamseg._EXPORTS.items():
        assert getattr(streamseg, name) is getattr(sys.modules[module], name)
    assert streamseg.sources.ArraySource is not None  # a subpackage, by attribute
    assert set(streamseg.__all__) <= set(dir(streamseg))


def test_importing_the_package_loads_nothing_heavy():
    code = "import sys, streamseg; print(sorted({'numpy', 'cv2', 'av'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        streamseg.nope  # noqa: B018
