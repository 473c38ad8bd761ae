"""``streamseg eval``: score masks, or run methods and score them, on CDnet-layout data."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from streamseg.cli._common import (
    EXIT_OK,
    Stopper,
    show_progress,
    split_methods,
    stderr_console,
)

if TYPE_CHECKING:
    from streamseg.evaluation.benchmark import Report


@click.command("eval")
@click.argument("path", metavar="PATH")
@click.argument("results", metavar="[RESULTS]", required=False)
@click.option(
    "--method",
    "-m",
    metavar="NAME[,NAME...]",
    help="Run these methods causally on PATH and score them (instead of RESULTS).",
)
@click.option(
    "--out",
    "-o",
    metavar="REPORT",
    help="Report folder: CSV, JSON, Markdown, plots (and masks/ with --method, which needs it).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="METHOD.KEY=VALUE",
    help="Method parameter for the run, e.g. deepls.window=16 (KEY=VALUE with one method; "
    "repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--allow-missing",
    is_flag=True,
    help="Score missing result frames as all background instead of failing.",
)
@click.option(
    "--offset",
    type=int,
    default=0,
    metavar="N",
    help="RESULTS are numbered N below the frames: binK.png scores frame K+N (masks of a "
    "video count from 1; a sequence whose input starts at frame 301 needs 300).",
)
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write PNG plots.")
@click.option("--progress/--no-progress", default=None, help="Progress bar.")
def eval_cmd(
    path: str,
    results: str | None,
    method: str | None,
    out: str | None,
    overrides: tuple[str, ...],
    as_json: bool,
    allow_missing: bool,
    offset: int,
    plots: bool,
    progress: bool | None,
) -> int:
    """Score segmentation on CDnet-layout data with CDnet 2014's rules.

    \b
    PATH is a sequence, a folder of sequences or CDnet's category/sequence tree.
      streamseg eval SEQUENCE RESULTS          score existing binNNNNNN.png masks
      streamseg eval PATH RESULTS              RESULTS/<sequence>/binNNNNNN.png
      streamseg eval PATH --method deepls,rpca,mog2,knn --out REPORT
                                               run each method causally, score, report
    Per sequence, per category and overall (mean over categories, as CDnet reports):
    recall, specificity, FPR, FNR, PWC, precision, F-measure, and ms/frame; and the
    ceilings no single setting is owed (chosen with the ground truth per sequence): F at
    each scoring method's best threshold, and the best method's F.
    """
    from streamseg.errors import ConfigError
    from streamseg.evaluation.benchmark import score_results

    if (results is None) == (method is None):
        raise ConfigError("give either RESULTS (masks to score) or --method (methods to run)")
    if method is not None and out is None:
        raise ConfigError("--method needs --out REPORT (where masks and the report go)")
    if overrides and method is None:
        raise ConfigError("--set sets parameters of the methods --method runs: give --method")
    if offset and results is None:
        raise ConfigError("--offset renumbers RESULTS; --method numbers its masks as the frames")
    exit_code = EXIT_OK
    if results is not None:
        report = score_results(path, results, allow_missing=allow_missing, offset=offset)
    else:
        assert method is not None and out is not None
        show = show_progress(progress)
        ran, exit_code = _run_methods(path, method, out, overrides, allow_missing, show)
        if ran is None:
            return exit_code
        report = ran
    _write(report, out, plots, as_json)
    return exit_code


def _run_methods(
    path: str,
    method: str,
    out: str,
    overrides: tuple[str, ...],
    allow_missing: bool,
    progress: bool,
) -> tuple[Report | None, int]:
    """Run the methods causally on ``path`` and score them: the report (None when a stop
    interrupted it) and the exit code."""
    from rich.markup import escape

    from streamseg.cli.progress import folder_bar
    from streamseg.evaluation.benchmark import benchmark
    from streamseg.registry import method_class, method_overrides

    names = split_methods(method)
    reproducible = {n: dict(method_class(n).reproducible) for n in names}
    params = method_overrides(overrides, names, reproducible)
    with Stopper() as stopper, folder_bar(stderr_console(), progress) as bar:
        task = bar.add_task("evaluating", total=None)

        def on_progress(label: str, index: int, total: int | None) -> None:
            bar.update(task, description=escape(label), advance=1)  # a folder's name

        report = benchmark(
            path,
            names,
            out,
            params=params,
            allow_missing=allow_missing,
            on_progress=on_progress,
            stop=stopper.event,
        )
    if report.meta.get("interrupted"):
        # A report over the sequences that happened to finish would read as the whole.
        stderr_console().print(
            f"interrupted: the report was not written; masks so far are in {out}/masks/"
        )
        return None, stopper.exit_code
    # A stop that came after the last frame interrupted nothing: the report is whole.
    return report, stopper.exit_code


def _write(report: Report, out: str | None, plots: bool, as_json: bool) -> None:
    """Write the report to ``out`` (if given) and print it on stdout."""
    from streamseg.evaluation.report import markdown, write_report
    from streamseg.jsonout import dumps

    if out is not None:
        write_report(report, out, plots=plots)
    if as_json:
        click.echo(dumps(report.as_dict(), indent=2))
    else:
        click.echo(markdown(report))
        if out is not None:
            stderr_console().print(f"wrote the report to {out}/")
