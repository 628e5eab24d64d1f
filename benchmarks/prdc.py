"""Time and peak memory of ganbench's precision/recall/density/coverage against ``prdc``.

Usage::

    python benchmarks/prdc.py [--n 10000] [--n-large 50000] [--dim 2048] [--skip-large]
                              [--threads N] [--device cpu]

Both sides get the same features: ``--n`` real and ``--n`` fake rows of
``--dim`` float32 dimensions drawn from one seeded standard normal (the
fakes from a second stream, slightly wider, so that no value is 0 or 1).

* ganbench: :func:`ganbench.metrics.prdc.precision_recall_density_coverage`
  (chunked float32 tiles, exact where rounding matters, default memory budget);
* reference: ``prdc.compute_prdc`` twice, with ``nearest_k=3`` (precision,
  recall) and ``nearest_k=5`` (density, coverage), since it takes one k for
  all four values. Its time for one call is printed as well.

Each side runs in its own subprocess, so that peak resident memory (the
child's ``VmHWM``: features, libraries and the computation) is its own.
The values must agree: prdc rounds its distances to float32 (ganbench
compares exact ones), which may flip a comparison that sits within a
float32 rounding of a radius, so a difference of a few 1/n is possible.

Then ganbench alone at ``--n-large`` rows a side (50,000 x 2,048 is 2 x 400
MB of features, where prdc would need three 10 GB distance matrices), with
its peak memory against the 4 GiB target.

The final lines are ``prdc/ganbench time ratio: R`` and ``prdc/ganbench
peak memory ratio: M`` at ``--n``, and the large run's peak.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

# This script shares its name with the package it measures: keep its own
# folder off the import path, or ``import prdc`` would import this file.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

GIB = 2**30
LARGE_TARGET_BYTES = 4 * GIB
SEED = 0


def peak_rss_bytes() -> int:
    """This process's peak resident memory (``VmHWM``; ``ru_maxrss`` where /proc is missing)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def make_features(n: int, dim: int):
    """Real and fake features (n, dim) float32, generated without float64 temporaries."""
    import torch

    gen = torch.Generator().manual_seed(SEED)
    real = torch.randn(n, dim, generator=gen)
    fake = torch.randn(n, dim, generator=gen).mul_(1.02)
    return real, fake


def worker(side: str, n: int, dim: int, threads: int | None, device: str) -> dict:
    """One side's measurement, run in a fresh process."""
    import torch

    if threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
        torch.set_num_threads(threads)
    real, fake = make_features(n, dim)
    before = peak_rss_bytes()
    if side == "ganbench":
        from ganbench.metrics.prdc import precision_recall_density_coverage

        start = time.perf_counter()
        result = precision_recall_density_coverage(real, fake, device=device)
        seconds = time.perf_counter() - start
        values = [result.precision, result.recall, result.density, result.coverage]
        one_call = seconds
    else:
        from prdc import compute_prdc

        real_np, fake_np = real.numpy(), fake.numpy()
        with contextlib.redirect_stdout(sys.stderr):  # prdc prints the sample counts
            start = time.perf_counter()
            pr = compute_prdc(real_np, fake_np, nearest_k=3)
            one_call = time.perf_counter() - start
            dc = compute_prdc(real_np, fake_np, nearest_k=5)
            seconds = time.perf_counter() - start
        values = [pr["precision"], pr["recall"], dc["density"], dc["coverage"]]
    return {
        "seconds": seconds,
        "one_call_seconds": one_call,
        "values": [float(v) for v in values],
        "peak_bytes": peak_rss_bytes(),
        "before_bytes": before,
        "threads": torch.get_num_threads(),
    }


def run_side(side: str, n: int, args: argparse.Namespace) -> dict:
    """Run :func:`worker` in a subprocess and return its measurement."""
    command = [sys.executable, __file__, "--worker", side, "--n", str(n), "--dim", str(args.dim)]
    command += ["--device", args.device]
    if args.threads:
        command += ["--threads", str(args.threads)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def describe(name: str, m: dict) -> str:
    values = ", ".join(f"{v:.5f}" for v in m["values"])
    return (
        f"{name:9s} {m['seconds']:8.2f} s   peak {m['peak_bytes'] / GIB:6.2f} GiB "
        f"(features and libraries {m['before_bytes'] / GIB:.2f} GiB)   P, R, D, C = {values}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="rows a side, both implementations")
    parser.add_argument("--n-large", type=int, default=50_000, help="rows a side, ganbench alone")
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--skip-large", action="store_true", help="skip the --n-large run")
    parser.add_argument("--threads", type=int, default=None, help="torch and BLAS threads")
    parser.add_argument("--device", default="cpu", help="ganbench's device")
    parser.add_argument("--worker", choices=["ganbench", "prdc"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.n, args.dim, args.threads, args.device)))
        return

    print(f"{args.n} real and {args.n} fake features of {args.dim} dimensions (float32)")
    ours = run_side("ganbench", args.n, args)
    ref = run_side("prdc", args.n, args)
    print(describe("ganbench", ours) + f"   [{ours['threads']} thread(s), {args.device}]")
    print(describe("prdc", ref) + f"   [one call of the two: {ref['one_call_seconds']:.2f} s]")
    diff = max(abs(a - b) for a, b in zip(ours["values"], ref["values"], strict=True))
    print(f"largest difference of the four values: {diff:.2e} (1/n = {1 / args.n:.1e})")
    print(f"prdc/ganbench time ratio: {ref['seconds'] / ours['seconds']:.1f}")
    print(f"prdc/ganbench peak memory ratio: {ref['peak_bytes'] / ours['peak_bytes']:.1f}")
    if args.skip_large:
        return
    print(f"ganbench alone: {args.n_large} real and {args.n_large} fake features")
    large = run_side("ganbench", args.n_large, args)
    print(describe("ganbench", large))
    verdict = "within" if large["peak_bytes"] <= LARGE_TARGET_BYTES else "OVER"
    print(
        f"large run peak memory: {large['peak_bytes'] / GIB:.2f} GiB, {verdict} the "
        f"{LARGE_TARGET_BYTES / GIB:.0f} GiB target; time {large['seconds']:.0f} s"
    )


if __name__ == "__main__":
    main()
