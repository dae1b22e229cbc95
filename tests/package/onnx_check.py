"""ONNX export checked by python3-onnx and run in ONNX Runtime (tests/package/onnx.sh).

    /usr/bin/python3 onnx_check.py NLCL_BIN WORK_DIR MODEL_OR_- NAME

Exports MODEL with 'nlcl convert MODEL OUT.onnx' ("-": the default model
embedded in nlcl, 'nlcl convert OUT.onnx'), checks the file with
onnx.checker (full check, with shape inference), its opset, dynamic
dimensions, metadata and residual Add, then runs it in ONNX Runtime (Node's
onnxruntime-node, tests/package/ort_run.js) on images of several sizes in one
session and compares with 'nlcl derain': at most 1 level apart everywhere.
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from PIL import Image

nlcl_bin, work, model, name = sys.argv[1:5]
here = os.path.dirname(os.path.abspath(__file__))
failed = 0


def check(desc, cond):
    global failed
    print(("ok   " if cond else "FAIL ") + f"[{name}] " + desc)
    if not cond:
        failed = 1


def run(*args):
    return subprocess.run([nlcl_bin, *args], check=True, capture_output=True, text=True)


w = f"{work}/{name}"
os.makedirs(w, exist_ok=True)
margs = [] if model == "-" else ["-m", model]
out = f"{w}/model.onnx"
if model == "-":  # the default model embedded in nlcl: 'nlcl convert OUT.onnx'
    info, r = run("info").stdout, run("convert", out)
else:
    info, r = run("info", model).stdout, run("convert", model, out)
residual = any(l.split(":")[0].strip() == "residual" and l.split(":")[1].strip() == "1"
               for l in info.splitlines() if ":" in l)
print(r.stderr.strip())

# 1. the file, as python3-onnx sees it
m = onnx.load(out)
try:
    onnx.checker.check_model(m, full_check=True)
    ok = True
except Exception as e:  # the checker's own exception types vary by version
    print("checker:", e)
    ok = False
check(f"onnx.checker.check_model(full_check=True) accepts it ({os.path.getsize(out)} bytes, "
      f"{len(m.graph.node)} nodes)", ok)
opset = {o.domain: o.version for o in m.opset_import}.get("", 0)
check(f"default-domain opset {opset} >= 13, IR version {m.ir_version}", opset >= 13)
dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
check(f"input {m.graph.input[0].name} {dims(m.graph.input[0])}, output {m.graph.output[0].name} "
      f"{dims(m.graph.output[0])}: dynamic batch, height, width",
      dims(m.graph.input[0]) == ["batch", 3, "height", "width"] == dims(m.graph.output[0]))
meta = {p.key: p.value for p in m.metadata_props}
check(f"metadata nlcl_residual = {meta.get('nlcl_residual')} as the model's ({int(residual)})",
      meta.get("nlcl_residual") == str(int(residual)))
adds_input = [n for n in m.graph.node if n.op_type == "Add" and "input" in n.input]
check(f"the residual Add of the input is in the graph exactly when the model is residual "
      f"({len(adds_input)})", len(adds_input) == int(residual))
check("the last node is Clip(-1, 1) -> output",
      m.graph.node[-1].op_type == "Clip" and m.graph.node[-1].output[0] == "output")
inferred = onnx.shape_inference.infer_shapes(m)
check("shape inference keeps (batch, 3, height, width)", dims(inferred.graph.output[0]) == ["batch", 3, "height", "width"])

# 2. ONNX Runtime against nlcl derain, several sizes in one session
run("synth", "--scenes", "2", "--scene-size", "64", "-o", f"{w}/data")
imgs = []
for i, n in enumerate(sorted(os.listdir(f"{w}/data/rainy"))):
    a = np.asarray(Image.open(f"{w}/data/rainy/{n}").convert("RGB"))
    if i == 1:
        a = a[3:50, 0:61]  # non-square, odd sizes
    imgs.append(a)
imgs.append(np.asarray(Image.open(f"{w}/data/rainy/{sorted(os.listdir(f'{w}/data/rainy'))[0]}")
                       .convert("RGB"))[:1, :5])  # 1 x 5
args = []
for i, a in enumerate(imgs):
    Image.fromarray(a).save(f"{w}/in{i}.png")
    x = (a.astype(np.float64) / 255 * 2 - 1).astype(np.float32).transpose(2, 0, 1)
    np.ascontiguousarray(x).tofile(f"{w}/in{i}.raw")
    args += [f"{w}/in{i}.raw", str(a.shape[0]), str(a.shape[1]), f"{w}/out{i}.raw"]
    run("derain", "-q", *margs, "-o", f"{w}/ref{i}.png", f"{w}/in{i}.png")
env = dict(os.environ)
p = subprocess.run(["node", f"{here}/ort_run.js", out, *args], env=env, capture_output=True, text=True)
print(p.stdout.strip(), p.stderr.strip())
check("ONNX Runtime runs the model on every size", p.returncode == 0)
if p.returncode == 0:
    for i, a in enumerate(imgs):
        y = np.fromfile(f"{w}/out{i}.raw", np.float32)
        ok = y.size == a.size
        if ok:
            y = y.reshape(3, a.shape[0], a.shape[1]).transpose(1, 2, 0)
            u8 = np.floor((np.clip(y.astype(np.float64), -1, 1) + 1) / 2 * 255 + 0.5).astype(np.int64)
            ref = np.asarray(Image.open(f"{w}/ref{i}.png").convert("RGB")).astype(np.int64)
            d = np.abs(u8 - ref)
            print(f"  {a.shape[0]}x{a.shape[1]}: max |ORT - nlcl derain| {d.max()} level(s), "
                  f"{100 * np.mean(d == 0):.3f}% identical, output range [{y.min():.3f}, {y.max():.3f}]")
            ok = d.max() <= 1 and y.min() >= -1 and y.max() <= 1
        check(f"ONNX Runtime on {a.shape[0]}x{a.shape[1]}: within 1 level of nlcl derain", ok)
sys.exit(failed)
