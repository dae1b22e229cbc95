#!/usr/bin/python3
"""PyTorch peer of bench_derain.c: the NLCL generator G_B (reference section
5.1, the authors' architecture) with the authors' released weights, one forward
on a W x H image, batch 1, torch.no_grad(), N threads. Prints the median wall
time of `reps` runs, GFLOP/s (2 FLOP per MAC) and peak RSS of this process.
Usage: bench_derain_torch.py WEIGHTS.pth W H [reps] [threads]"""
import resource, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, padding=1)
        self.b = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        t = F.relu(F.instance_norm(self.a(x)))
        return x + F.instance_norm(self.b(t))


class Generator(nn.Module):
    def __init__(self, c=32, k=16):
        super().__init__()
        self.inp = nn.Conv2d(3, c, 3, padding=1)
        self.blocks = nn.ModuleList([Block(c) for _ in range(k)])
        self.s0 = nn.Conv2d(c, c, 3, padding=1)
        self.s1 = nn.Conv2d(c, c, 3, padding=1)
        self.out = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, x):
        x = self.inp(x)
        for b in self.blocks:
            x = b(x)
        x = self.s1(F.relu(F.instance_norm(self.s0(x))))
        return self.out(x)

    def load_official(self, sd):
        k = len(self.blocks)
        m = {"inp": "gen.0", "s0": f"gen.{k+1}.conv.0", "s1": f"gen.{k+1}.conv.3", "out": f"gen.{k+2}"}
        for i in range(k):
            m[f"blocks.{i}.a"] = f"gen.{i+1}.model.0.conv"
            m[f"blocks.{i}.b"] = f"gen.{i+1}.model.1.conv"
        self.load_state_dict({f"{a}.{p}": sd[f"{b}.{p}"] for a, b in m.items() for p in ("weight", "bias")})


def main():
    path, W, H = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    torch.set_num_threads(threads)
    g = Generator()
    g.load_official(torch.load(path, map_location="cpu"))
    g.eval()
    x = torch.rand(1, 3, H, W) * 2 - 1
    t = []
    with torch.no_grad():
        for r in range(reps + 1):
            t0 = time.perf_counter()
            g(x)
            if r:
                t.append(time.perf_counter() - t0)
    t.sort()
    med = t[len(t) // 2]
    macs = W * H * 9.0 * (3 * 32 + 34 * 32 * 32 + 32 * 3)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch derain {W}x{H}: {med:.3f} s (median of {reps}, fastest {t[0]:.3f}), {2*macs/med/1e9:.1f} GFLOP/s, "
          f"peak RSS {rss:.1f} MiB, {torch.get_num_threads()} threads, torch {torch.__version__}")


if __name__ == "__main__":
    main()
