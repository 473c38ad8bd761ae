"""``streamseg config``: the example configurations shipped with streamseg."""

from __future__ import annotations

import click

from streamseg.cli._common import EXIT_OK, stdout_console


@click.group("config")
def config_group() -> None:
    """The example configurations shipped with streamseg.

    \b
    Each is usable by name wherever a configuration file is:
      streamseg run --config cpu-small
      streamseg config show cdnet > my-run.yaml     a start for your own
    """


@config_group.command("list")
def config_list_cmd() -> int:
    """The shipped configurations, each with what it is for."""
    from streamseg.config import shipped_configs

    console = stdout_console()
    for name, path in shipped_configs().items():
        lines = path.read_text(encoding="utf-8").splitlines()
        about = lines[0].lstrip("# ").strip() if lines and lines[0].startswith("#") else ""
        console.print(f"{name:<10} {about}")
    return EXIT_OK


@config_group.command("show")
@click.argument("name", metavar="NAME")
def config_show_cmd(name: str) -> int:
    """Print the shipped configuration NAME (YAML, with its comments)."""
    from streamseg.config import shipped_configs
    from streamseg.errors import ConfigError

    shipped = shipped_configs()
    if name.removesuffix(".yaml") not in shipped:
        raise ConfigError(f"no shipped configuration {name!r} (shipped: {', '.join(shipped)})")
    click.echo(shipped[name.removesuffix(".yaml")].read_text(encoding="utf-8"), nl=False)
    return EXIT_OK
