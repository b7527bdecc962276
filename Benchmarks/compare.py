"""Runs `topiary bench` and the PyTorch reference alternately, several rounds, and prints
the median ms/step of each and their ratio (topiary / pytorch; below 1 = Topiary faster).
Alternating in one run keeps both under the same machine load. With --baseline, a second
Topiary binary (e.g. an older build) runs in the same rounds too, and the table gains its
columns, so before/after ratios come from one run."""
import argparse
import json
import statistics
import subprocess
import sys


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()
    return json.loads(out[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--topiary", required=True)
    ap.add_argument("--baseline", help="another topiary binary to time in the same rounds")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("case", nargs="+", help="model:batch:input:steps, e.g. mlp:64:1x28x28:500")
    a = ap.parse_args()
    rows = []
    for case in a.case:
        model, batch, shape, steps = case.split(":")
        common = ["--model", model, "--batch-size", batch, "--input", shape, "--steps", steps, "--threads", str(a.threads),
                  "--warmup", str(max(2, int(steps) // 10))]
        ours, theirs, base = [], [], []
        for _ in range(a.rounds):
            if a.baseline:
                base.append(run([a.baseline, "bench", *common, "--json"]))
            ours.append(run([a.topiary, "bench", *common, "--json"]))
            theirs.append(run([a.python, __file__.replace("compare.py", "pytorch_bench.py"), *common]))
        o = statistics.median(r["ms_per_step"] for r in ours)
        t = statistics.median(r["ms_per_step"] for r in theirs)
        om, tm = max(r["peak_rss_mb"] for r in ours), max(r["peak_rss_mb"] for r in theirs)
        b0 = statistics.median(r["ms_per_step"] for r in base) if base else None
        bm = max(r["peak_rss_mb"] for r in base) if base else None
        kernels = ours[-1].get("kernels", "?")
        rows.append((model, batch, shape, o, t, o / t, om, tm, b0, bm, kernels))
        print(f"{case}: topiary {o:.3f} ms, pytorch {t:.3f} ms" + (f", baseline {b0:.3f} ms" if base else ""),
              file=sys.stderr, flush=True)
    print(f"threads: {a.threads}, rounds: {a.rounds} (medians; peak memory is the largest resident set)")
    if a.baseline:
        print("| model | batch | input | before ms/step | after ms/step | pytorch ms/step | before ratio | after ratio "
              "| before MB | after MB | pytorch MB | kernels |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for m, b, s, o, t, r, om, tm, b0, bm, k in rows:
            print(f"| {m} | {b} | {s} | {b0:.3f} | {o:.3f} | {t:.3f} | {b0 / t:.2f} | {r:.2f} | {bm:.0f} | {om:.0f} | {tm:.0f} | {k} |")
    else:
        print("| model | batch | input | topiary ms/step | pytorch ms/step | ratio | topiary MB | pytorch MB |")
        print("|---|---|---|---|---|---|---|---|")
        for m, b, s, o, t, r, om, tm, *_ in rows:
            print(f"| {m} | {b} | {s} | {o:.3f} | {t:.3f} | {r:.2f} | {om:.0f} | {tm:.0f} |")


if __name__ == "__main__":
    main()
