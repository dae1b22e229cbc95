#!/usr/bin/python3
"""PyTorch peer of bench_conv.c: 3x3 conv C->C at HxW, batch 1, forward,
backward-data (grad w.r.t. input) and backward-weights (grad w.r.t. weight
and bias), median of reps, on torch.get_num_threads() threads.
Usage: bench_conv_torch.py [C] [H] [W] [reps] [threads]"""
import sys, time
import torch
import torch.nn.functional as F

C = int(sys.argv[1]) if len(sys.argv) > 1 else 32
H = int(sys.argv[2]) if len(sys.argv) > 2 else 256
W = int(sys.argv[3]) if len(sys.argv) > 3 else H
reps = int(sys.argv[4]) if len(sys.argv) > 4 else 20
threads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
torch.set_num_threads(threads)
x = torch.randn(1, C, H, W)
w = torch.randn(C, C, 3, 3) * 0.05
b = torch.randn(C)
dy = torch.randn(1, C, H, W)
gflop = 2.0 * C * C * 9 * H * W / 1e9

def med(f):
    for _ in range(2):
        f()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter(); f(); t.append(time.perf_counter() - t0)
    t.sort()
    return t[len(t) // 2]

with torch.no_grad():
    tf = med(lambda: F.conv2d(x, w, b, padding=1))
# backward-data and backward-weights separately, as the C benchmark does
tbd = med(lambda: torch.ops.aten.convolution_backward(dy, x, w, [C], [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, False, False]))
tbw = med(lambda: torch.ops.aten.convolution_backward(dy, x, w, [C], [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [False, True, True]))
print(f"conv3x3 {C}->{C} {H}x{W} batch 1, {torch.get_num_threads()} threads, torch {torch.__version__}")
for name, t in (("forward", tf), ("backward-data", tbd), ("backward-weights", tbw)):
    print(f"torch {name:<16} {t*1e3:8.2f} ms  {gflop/t:6.1f} GFLOP/s")
