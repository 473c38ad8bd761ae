"""Throughput and latency: decode alone vs decode + each method + writing masks, side by side.

For each frame size a test video is written with PyAV (from a CDnet sequence's
frames when one is given, else the synthetic scene), then, in one process and
one after the other on the same file:

* ``decode``: the file source alone;
* ``<method>``: decode → ``seg.apply`` → PNG masks (``binNNNNNN.png``) through
  :func:`streamseg.run`, so the numbers are the product's own path.

Method names may carry a variant: ``deepls`` is the default a run on a file gets
(trained in step with the frames, ``mode=paced``: a round every ``train_every``
frames on the trainer's thread), ``deepls:async`` what a live source gets (the
trainer runs beside the frames as fast as it can), ``deepls:frozen`` the same
network with no training (the shipped starting model, inference only),
``deepls:int8`` that model quantized to int8 (calibrated on the test video, as a
user calibrates on the camera's footage) and ``deepls:sync`` trains inline.
``--realtime`` paces the file at its frame rate, as a camera would deliver it.
Reported: end-to-end fps in steady state (after the first frame, whose one-time
start-up — importing torch, building the trainer and the first session — is its
own column) and its share of the decode-only rate, per-frame latency p50/p99,
the method's own ms/frame, the online trainer's steps, swaps and first swap
time, the peak RSS, and the cost of ``rpca`` per frame over that of the frozen
DeepLS model (float32 and int8), with RPCA's split between its amortised window
solves and its own per-frame step.

    python tools/bench.py --methods deepls,deepls:async,deepls:frozen,rpca,mog2 \\
        --sizes 320x240,640x480 \\
        --frames-from ../shared/data/cdnet_highway/input --json bench.json
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
from _common import frame_sizes, positive_int, run_tool

import streamseg as ss
from streamseg.jsonout import dumps
from streamseg.sinks import PngMaskSink, VideoWriter
from streamseg.timings import Timings

VARIANTS: dict[str, dict[str, Any]] = {
    "deepls": {},
    "deepls:async": {"mode": "async"},
    "deepls:frozen": {"frozen": True},
    "deepls:int8": {"frozen": True, "int8": True},
    "deepls:sync": {"mode": "sync"},
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_video(path: Path, size: tuple[int, int], frames: int, folder: str | None) -> Path:
    """A test video at ``size`` from ``folder``'s images (or the synthetic scene)."""
    w, h = size
    with VideoWriter(path, fps=25, crf=18) as writer:
        if folder:
            with ss.open_source(folder) as src:
                images = [f.image for _, f in zip(range(frames), src, strict=False)]
            for i in range(frames):
                img = images[i % len(images)]
                writer.write(cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA))
        else:
            scene = ss.SyntheticScene(width=w, height=h, frames=frames)
            for t in range(frames):
                writer.write(scene.render(t)[0])
    return path


def bench_decode(video: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    with ss.open_source(video) as src:
        n = sum(1 for _ in src)
    seconds = time.perf_counter() - t0
    return {"frames": n, "fps": n / seconds}


def steady_fps(latency_ms: Timings) -> float:
    """Frames per second after the first frame, from per-frame wall times of an unpaced run."""
    if len(latency_ms) < 2 or latency_ms.first is None:
        return float("nan")
    return (len(latency_ms) - 1) / ((latency_ms.total - latency_ms.first) / 1000.0)


def mean_after_first(ms: Timings) -> float:
    """Mean of every value but the first (which carries the one-time start-up)."""
    if len(ms) < 2 or ms.first is None:
        return float("nan")
    return (ms.total - ms.first) / (len(ms) - 1)


def int8_model(checkpoint: Path, video: Path, out: Path) -> Path:
    """``checkpoint`` as an int8 ONNX file calibrated on ``video`` (as users do on their camera)."""
    from streamseg.segmenters.deepls.export import export_model

    return export_model(checkpoint, out, int8=True, calibrate=video)


def make_segmenter(name: str, params: dict[str, Any], video: Path, out: Path) -> ss.Segmenter:
    method, _, variant = name.partition(":")
    extra = dict(VARIANTS.get(name, {}))
    if extra.pop("frozen", False):
        from streamseg.models import builtin_checkpoint

        colour = bool(params.get("net", {}).get("colour", False))
        weights = builtin_checkpoint("unet", colour)
        if extra.pop("int8", False):
            out.mkdir(parents=True, exist_ok=True)
            weights = int8_model(weights, video, out / "int8.onnx")
        extra["weights"] = str(weights)
    return ss.create(method, **{**extra, **params})


def bench_method(
    video: Path, name: str, out: Path, params: dict[str, Any], realtime: bool
) -> dict[str, Any]:
    with (
        ss.open_source(video) as src,
        make_segmenter(name, params, video, out.with_name(f"{out.name}_model")) as seg,
        PngMaskSink(out) as sink,
    ):
        stats = ss.run(src, {name: seg}, [sink], realtime=realtime)
    d = stats.as_dict()
    m = d["methods"][name]
    return {
        "frames": stats.frames,
        # Steady state: the first frame carries the one-time start-up (importing torch,
        # building the trainer and the first session), reported on its own; a camera
        # runs for hours, a 600-frame benchmark would otherwise spread it over 600 frames.
        "fps": steady_fps(stats.latency_ms) if not realtime else stats.fps,
        "fps_with_startup": stats.fps,
        "first_frame_ms": stats.latency_ms.first,
        "latency_ms_p50": d["latency_ms_p50"],
        "latency_ms_p99": d["latency_ms_p99"],
        "method_ms": mean_after_first(stats.methods[name].ms),
        "method_ms_p99": m["ms_p99"],
        **{
            k: v
            for k, v in m.items()
            if k
            in (
                "train_steps",
                "train_steps_per_s",
                "swaps",
                "first_swap_s",
                "model_version",
                "rollbacks",
                "solves",
                "solve_ms_mean",
            )
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--methods",
        default="deepls,deepls:frozen,rpca,mog2,knn",
        help="comma-separated method names (with :frozen/:int8/:sync variants)",
    )
    parser.add_argument(
        "--sizes", type=frame_sizes, default="320x240,640x480", help="comma-separated WxH"
    )
    parser.add_argument("--frames", type=positive_int, default=600, help="frames per video")
    parser.add_argument(
        "--frames-from", default=None, help="image folder for the test video (default: synthetic)"
    )
    parser.add_argument("--realtime", action="store_true", help="pace at the frame rate")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="METHOD.KEY=VALUE",
        help="method parameter, e.g. rpca.window=16 (repeatable)",
    )
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    from streamseg.registry import method_overrides

    methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in methods if ":" in m and m not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant {unknown[0]!r}: use one of {', '.join(VARIANTS)}")
    params = method_overrides(args.set, list(dict.fromkeys(m.split(":")[0] for m in methods)))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for w, h in args.sizes:
            video = make_video(
                Path(tmp) / f"bench_{w}x{h}.mp4", (w, h), args.frames, args.frames_from
            )
            results = {"decode": bench_decode(video)}
            for m in methods:
                out = Path(tmp) / f"{m.replace(':', '_')}_{w}x{h}"
                results[m] = bench_method(
                    video, m, out, params.get(m.split(":")[0], {}), args.realtime
                )
            for name, r in results.items():
                rows.append(
                    {"size": f"{w}x{h}", "pipeline": name, **r, "peak_rss_mb": peak_rss_mb()}
                )
                print(f"{w}x{h} {name}: {r['fps']:.1f} fps", file=sys.stderr, flush=True)
    header = (
        "| size | pipeline | fps end to end | share of decode | latency p50 ms "
        "| latency p99 ms | method ms/frame | first frame ms | trainer steps/s | first swap s |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|---|---|"]
    decode_fps = {r["size"]: r["fps"] for r in rows if r["pipeline"] == "decode"}

    def fmt(v: Any, digits: int = 2) -> str:
        return "–" if v is None or (isinstance(v, float) and v != v) else f"{v:.{digits}f}"

    for r in rows:
        lines.append(
            f"| {r['size']} | {r['pipeline']} | {r['fps']:.1f} "
            f"| {r['fps'] / decode_fps[r['size']]:.2f} | {fmt(r.get('latency_ms_p50'))} "
            f"| {fmt(r.get('latency_ms_p99'))} | {fmt(r.get('method_ms'))} "
            f"| {fmt(r.get('first_frame_ms'), 0)} | {fmt(r.get('train_steps_per_s'), 1)} "
            f"| {fmt(r.get('first_swap_s'), 1)} |"
        )
    ratios = {}
    for size in decode_fps:
        by = {r["pipeline"]: r for r in rows if r["size"] == size}
        if (
            "rpca" in by
            and by["rpca"].get("solves")
            and params.get("rpca", {}).get("mode") != "async"
        ):
            # In sync mode (the default) the window solves run inside apply(): split them out.
            r = by["rpca"]
            solving = r["solves"] * r["solve_ms_mean"] / r["frames"]
            lines.append(
                f"\nrpca at {size}: {r['method_ms']:.2f} ms/frame = {solving:.2f} ms of window "
                f"solves amortised + {r['method_ms'] - solving:.2f} ms per frame (projection, mask)"
            )
        for frozen, what in (("deepls:frozen", "float32"), ("deepls:int8", "int8")):
            if "rpca" in by and frozen in by:
                ratio = by["rpca"]["method_ms"] / by[frozen]["method_ms"]
                ratios[size if frozen == "deepls:frozen" else f"{size} int8"] = ratio
                lines.append(
                    f"\nrpca costs {ratio:.1f}× the frozen DeepLS model ({what}) per frame "
                    f"at {size} (window solves amortised over the run)"
                )
    print("\n".join(lines))
    if args.json:
        meta = {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d"),
            "argv": sys.argv,
            "realtime": args.realtime,
        }
        Path(args.json).write_text(
            dumps({"meta": meta, "rows": rows, "rpca_over_deepls": ratios}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
