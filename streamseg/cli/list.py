"""``streamseg list``: the registered methods, or one method's parameters."""

from __future__ import annotations

import click

from streamseg.cli._common import EXIT_OK, stdout_console


@click.command("list")
@click.argument("method", metavar="[METHOD]", required=False)
def list_cmd(method: str | None) -> int:
    """Registered methods with their parameters, and the source and output kinds.

    With METHOD: each of its parameters with its type, default and meaning.
    """
    from streamseg.cli.tables import methods_table
    from streamseg.params import config_fields
    from streamseg.registry import available, method_class

    if method is not None:
        return _describe_method(method)
    rows = []
    for name in available(installed_only=False):
        try:
            cls = method_class(name)
        except Exception as err:  # a method whose extra is missing: say how to get it
            rows.append((name, "", str(err)))
            continue
        params = ", ".join(f"{k}={v[1]!r}" for k, v in config_fields(cls.Config).items())
        doc = _about(cls)
        rows.append((name, params, f"experimental: {doc}" if cls.experimental else doc))
    console = stdout_console()
    console.print(methods_table(rows))
    console.print("streamseg list METHOD describes each parameter of METHOD")
    console.print(
        "sources: video file (PyAV, OpenCV fallback), image folder / CDnet sequence, "
        "webcam index or /dev/videoN, rtsp:// http(s):// streams, synthetic[:k=v,...]"
    )
    console.print(
        "outputs: --masks DIR (binNNNNNN.png), --video (mosaic), --overlay, --mask-video, "
        "--web (live view)"
    )
    return EXIT_OK


def _about(cls: type) -> str:
    """The first paragraph of a method's docstring, on one line, without Sphinx quotes."""
    import inspect

    paragraph = inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0]
    return " ".join(paragraph.split()).replace("``", "")


def _describe_method(name: str) -> int:
    """``streamseg list METHOD``: a table of the method's parameters."""
    from streamseg.cli.tables import parameters_table
    from streamseg.params import describe_config
    from streamseg.registry import method_class

    cls = method_class(name)
    about = _about(cls)
    title = f"{name}: {about}" if about else name
    rows = describe_config(cls.Config)
    console = stdout_console()
    if rows:
        console.print(parameters_table(title, rows))
        example = next((r for r in rows if r[1] in ("int", "float")), rows[0])
        console.print(
            f"set one with --set {name}.PARAMETER=VALUE (e.g. --set {name}.{example[0]}="
            f"{example[2]}), or under its name in a config file's methods: list"
        )
    else:
        console.print(f"{title}\n{name} takes no parameters")
    return EXIT_OK
