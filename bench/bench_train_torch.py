#!/usr/bin/python3
"""PyTorch side of the training benchmark: one full NLCL iteration exactly as
docs/TRAINING.md defines it (forward, D step with Adam, G step with the
non-local sampling, all L_G terms, backward, Adam for G_B, G_R, H_loc, H_B,
H_R, momentum update), `paper` preset with batch 1: C=32, K=16, ndf=64,
heads 256 wide, N/N_B/N_R = 256/8/256, loc taps 0,2,4,8,12, farthest
location negatives, momentum 0.99, tau 0.07, identity term on. The model
is tests/fixtures/nlcl_torch.py (the fixtures' reference).

Usage: bench_train_torch.py [crop ...] [--warmup W] [--reps R] [--threads T]
  Default crops 64 128 256. With several crops each runs in its own process,
  so peak RSS is per size. Default warm-up/timed iterations: 2/5 below crop
  256, 1/2 at 256.

Prints per crop, machine-readable:
  torch crop=64 iter_s=<median s/iteration> min_s=<fastest iteration>
  search_share=<median share of the iteration spent in the non-local searches>
  search_s=<median s> peak_rss_mib=<maxrss of the process>
The machine is shared: compare with the C benchmark run right after, and
look at min_s as well as the median when the load is high.
"""
import argparse
import os
import resource
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
import nlcl_torch as nt  # noqa: E402


def run_one(crop, warmup, reps, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = nt.Config()            # the paper preset (batch set below)
    m = nt.NLCL(cfg)
    for net in (m.D, m.H_loc, m.H_B, m.H_R):
        nt.init_xavier(net, 0.02)
    m.reset_keys()
    m.make_optimizers()
    sampler = nt.Sampler(torch.Generator().manual_seed(1))
    n = 1
    times, shares, searches = [], [], []
    for it in range(warmup + reps):
        # data stands in for the crops (not timed: loading is not part of the step)
        O = torch.rand(n, 3, crop, crop) * 2 - 1
        B = torch.rand(n, 3, crop, crop) * 2 - 1
        m.set_lr(nt.lr_at(it + 1, 10 ** 6, cfg.lr, 10 ** 6, 10 ** 6 // 21))
        timer = [0.0]
        t0 = time.perf_counter()
        m.iteration(O, B, sampler, timer)
        dt = time.perf_counter() - t0
        if it >= warmup:
            times.append(dt)
            searches.append(timer[0])
            shares.append(timer[0] / dt)
    med = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"torch crop={crop} iter_s={med(times):.3f} min_s={min(times):.3f} search_share={med(shares):.4f} "
          f"search_s={med(searches):.4f} peak_rss_mib={rss_mib:.0f} threads={threads} "
          f"warmup={warmup} reps={reps} all_s={','.join(f'{t:.3f}' for t in times)}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("crops", nargs="*", type=int, default=[64, 128, 256])
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    for c in a.crops:
        if c < 32:
            ap.error("crop must be >= 32 (the anchor range is [16, crop-16])")
    if len(a.crops) == 1:
        c = a.crops[0]
        w = a.warmup if a.warmup is not None else (1 if c >= 256 else 2)
        r = a.reps if a.reps is not None else (2 if c >= 256 else 5)
        run_one(c, w, r, a.threads)
        return
    print(f"# NLCL training iteration, paper preset, batch 1, torch {torch.__version__}, "
          f"{a.threads} threads", flush=True)
    for c in a.crops:
        cmd = [sys.executable, os.path.abspath(__file__), str(c), "--threads", str(a.threads)]
        if a.warmup is not None:
            cmd += ["--warmup", str(a.warmup)]
        if a.reps is not None:
            cmd += ["--reps", str(a.reps)]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
