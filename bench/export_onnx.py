#!/usr/bin/python3
"""Export the authors' G_B (the PyTorch module of bench_derain_torch.py with
their released weights) to ONNX with torch.onnx.export, for the ONNX Runtime
peer (bench/bench_derain_ort.js). Height and width are dynamic axes; opset 13
(instance norm is exported as InstanceNormalization, eps 1e-5).
Usage: export_onnx.py WEIGHTS.pth OUT.onnx"""
import os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_derain_torch import Generator  # noqa: E402


def main():
    path, out = sys.argv[1], sys.argv[2]
    g = Generator()
    g.load_official(torch.load(path, map_location="cpu"))
    g.eval()
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        torch.onnx.export(g, x, out, opset_version=13, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {2: "H", 3: "W"}, "output": {2: "H", 3: "W"}})
    print(f"wrote {out} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
