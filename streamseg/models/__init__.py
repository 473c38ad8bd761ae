"""Models shipped with streamseg: the starting points of online DeepLS.

``deepls_start.pt`` (grey), ``deepls_start_colour.pt`` (``net.colour``) and
``slnet_start.pt`` are small checkpoints trained on the built-in synthetic scene by
``tools/train_start_model.py`` (reproducible: fixed seeds, a fixed number of steps).
Online learning starts from them, so masks come from the first frame while
fine-tuning on the real stream begins.
"""

from __future__ import annotations

from pathlib import Path

from streamseg.errors import ModelError

__all__ = ["builtin_checkpoint", "BUILTIN_DIR"]

BUILTIN_DIR = Path(__file__).resolve().parent


def builtin_checkpoint(family: str = "unet", colour: bool = False) -> Path:
    """Path of the shipped starting checkpoint of ``family`` (``unet`` or ``slnet``).

    Args:
        family: the network family.
        colour: the checkpoint of a colour (BGR) network rather than a grey one.
    """
    names = {
        ("unet", False): "deepls_start.pt",
        ("unet", True): "deepls_start_colour.pt",
        ("slnet", False): "slnet_start.pt",
    }
    name = names.get((family, colour))
    if name is None:
        raise ModelError(f"no built-in model for family {family!r}{' in colour' if colour else ''}")
    path = BUILTIN_DIR / name
    if not path.exists():
        raise ModelError(
            f"the built-in model {path.name} is missing from this installation; "
            "rebuild it with `python tools/train_start_model.py` or use start=random"
        )
    return path
