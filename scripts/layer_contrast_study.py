#!/usr/bin/python3
"""Why the layer contrast collapses, and which head form keeps it working
(docs/TRAINING.md, "The layer contrast's projection head").

Short NLCL trainings in PyTorch (the fixtures' reference implementation,
tests/fixtures/nlcl_torch.py) on real crops: rainy crops from Rain100L 1-80,
clean crops from CBSD68, the same crops and initial weights for every
variant. Each variant changes only how the layer contrast projects D's
features (head form, head updates, temperature). Every `--log-every`
iterations it records the layer contrast, its distance to the collapsed
value, the gradient norms it alone sends into pred_B, pred_R, G_B and G_R,
and how the projected samples sit (mean cosine within B, within R, between
B and R). At the end G_B and G_R derain Rain100L 81-100 (never trained on):
Y-PSNR of pred_B, and the correlation of the removed layer (O - pred_B) and
of pred_R with the true rain layer O - clean.

Usage (from the repository root; slow on two shared cores, so niced):
  nice -n 10 /usr/bin/python3 scripts/layer_contrast_study.py \
      --variants ref,separate,shared --iters 300 --crop 64 --seeds 1 > out.jsonl

Variants (name: heads, which heads Adam steps, tau of the layer contrast):
  ref          separate H_B/H_R; H_B never stepped, H_R stepped twice (two Adam
               states), H_loc never stepped: the official code's optimiser bugs
  separate     separate H_B/H_R, every head stepped once (nlcl until now)
  separate-t77 the same with the paper's tau 0.77
  shared       one head set for both layers, stepped once
  shared-t77   the same with tau 0.77
  shared-frozen one head set for both layers, never stepped (random projection)
  shared-slow  one head set, learning rate x 0.1
  separate-frozen separate heads, neither stepped
  separate-bfrozen separate heads, H_B never stepped, H_R stepped once (the
               reference's H_B bug alone)
  none         no layer contrast (w_layer 0), the baseline for its effect
Base options: --preset paper (lr 1e-4, momentum 0.99, N_R 256, farthest
location negatives, sparsity on R) or official (lr 2e-4, momentum 0,
nearest, sparsity code); --residual makes G_B output O + G(O) as nlcl's
--residual does.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))
import nlcl_torch as nt  # noqa: E402

VARIANTS = {
    #  name: (heads, update, tau)
    "ref": ("separate", "ref", None),
    "separate": ("separate", "step", None),
    "separate-t77": ("separate", "step", 0.77),
    "separate-frozen": ("separate", "frozen", None),
    "separate-bfrozen": ("separate", "bfrozen", None),
    "shared": ("shared", "step", None),
    "shared-t77": ("shared", "step", 0.77),
    "shared-frozen": ("shared", "frozen", None),
    "shared-slow": ("shared", "slow", None),
    "none": (None, None, None),
}


def load_rgb(path):
    a = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    return torch.from_numpy(a / 255.0 * 2 - 1).permute(2, 0, 1).contiguous()


def load_data(shared):
    r = os.path.join(shared, "rain100l")
    train_rainy = [load_rgb(os.path.join(r, "rainy", f"{i}.png")) for i in range(1, 81)]
    clean = sorted(os.listdir(os.path.join(shared, "clean", "cbsd68")))
    train_clean = [load_rgb(os.path.join(shared, "clean", "cbsd68", f)) for f in clean]
    ev = [(load_rgb(os.path.join(r, "rainy", f"{i}.png")), load_rgb(os.path.join(r, "clean", f"{i}.png")))
          for i in range(81, 101)]
    return train_rainy, train_clean, ev


def crops(images, n, crop, rng):
    out = []
    for _ in range(n):
        x = images[rng.randint(len(images))]
        _, H, W = x.shape
        y0, x0 = rng.randint(H - crop + 1), rng.randint(W - crop + 1)
        out.append(x[:, y0:y0 + crop, x0:x0 + crop])
    return torch.stack(out)


class ResidualGen(nt.Generator):
    """G_B of nlcl's --residual: O + G(O), the last conv zero at the start."""

    def __init__(self, C, K):
        super().__init__(C, K)
        with torch.no_grad():
            self.gen[-1].weight.zero_()
            self.gen[-1].bias.zero_()

    def forward(self, x):
        return x + self.gen(x)


def collapsed_value(NB, NR, tau):
    """The layer contrast when all B rows coincide, all R rows coincide and
    the two points are antipodal: the minimum for two classes on the sphere."""
    e = math.exp(-2.0 / tau)
    lb = math.log((NB - 1) + NR * e)
    lr = math.log((NR - 1) + NB * e)
    return (NB * lb + NR * lr) / (NB + NR)


def mean_cos(a, b, same):
    s = a @ b.t()
    if same:
        n = s.shape[0]
        return float((s.sum() - s.diagonal().sum()) / (n * (n - 1)))
    return float(s.mean())


def layer_loss(m, pred_B, pred_R, ids_B, ids_R, hB, hR, tau, diag=None):
    H, W = pred_B.shape[2:]
    fB, fR = m.D.encode(pred_B), m.D.encode(pred_R)
    total = 0.0
    for t, (a, b) in enumerate(zip(fB, fR)):
        zB = hB.project(t, a, nt.map_ids(ids_B, H, W, a.shape[2], a.shape[3]))
        zR = hR.project(t, b, nt.map_ids(ids_R, H, W, b.shape[2], b.shape[3]))
        total = total + nt.supcon(zB, zR, tau)
        if diag is not None:
            zb, zr = zB[0].detach(), zR[0].detach()
            diag.append((mean_cos(zb, zb, True), mean_cos(zr, zr, True), mean_cos(zb, zr, False)))
    return total / len(fB)


def norm(gs):
    return float(math.sqrt(sum(float((g.double() ** 2).sum()) for g in gs if g is not None)))


def rgb8(x):
    return torch.round(((x.clamp(-1, 1) + 1) * 0.5 * 255)).to(torch.float64)


def y_psnr(a, b):
    """Y of MATLAB rgb2ycbcr on 8-bit values, PSNR with peak 255."""
    w = torch.tensor([65.481, 128.553, 24.966], dtype=torch.float64)[:, None, None] / 255.0
    ya, yb = (rgb8(a) * w).sum(0) + 16, (rgb8(b) * w).sum(0) + 16
    mse = float(((ya - yb) ** 2).mean())
    return 10 * math.log10(255.0 ** 2 / mse)


def corr(a, b):
    a, b = a.double().flatten(), b.double().flatten()
    a, b = a - a.mean(), b - b.mean()
    return float((a @ b) / (a.norm() * b.norm() + 1e-12))


@torch.no_grad()
def evaluate(m, ev):
    ps, ci, cr = [], [], []
    for O, Bc in ev:
        pB, pR = m.G_B(O[None])[0], m.G_R(O[None])[0]
        rain = O - Bc
        ps.append(y_psnr(pB, Bc))
        ci.append(corr(O - pB, rain))
        cr.append(corr(pR, rain))
    return {"eval_ypsnr": float(np.mean(ps)), "eval_corr_removed": float(np.mean(ci)),
            "eval_corr_predR": float(np.mean(cr))}


def build(variant, a, seed):
    heads, update, tau_l = VARIANTS[variant]
    official = a.preset == "official"
    cfg = nt.Config(C=a.channels, K=a.blocks, ndf=a.ndf, head_dim=256, loc_taps=a.loc_taps, N=256, N_B=8,
                    N_R=a.n_neg, tau=0.07, w_layer=0.0 if heads is None else 1.0,
                    sparsity="code" if official else "paper", loc_negatives="nearest" if official else "farthest",
                    momentum=0.0 if official else 0.99, lr=2e-4 if official else 1e-4)
    if official:
        cfg.w_sp = 0.1
    torch.manual_seed(seed)
    m = nt.NLCL(cfg)
    if a.residual:
        g = ResidualGen(cfg.C, cfg.K)
        g.gen.load_state_dict({k: v for k, v in m.G_B.gen.state_dict().items()}, strict=True)
        with torch.no_grad():
            g.gen[-1].weight.zero_()
            g.gen[-1].bias.zero_()
        m.G_B = g
    gi = torch.Generator().manual_seed(seed + 1)
    for net in (m.D, m.H_loc, m.H_B, m.H_R):
        for mod in net.modules():
            if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
                std = 0.02 * math.sqrt(2.0 / (mod.weight[0].numel() + mod.weight.shape[0] * mod.weight[0].numel() //
                                                mod.weight.shape[1]))
                with torch.no_grad():
                    mod.weight.copy_(torch.randn(mod.weight.shape, generator=gi) * std)
                    mod.bias.zero_()
    m.reset_keys()
    hB = m.H_B
    hR = m.H_B if heads == "shared" else m.H_R
    tau = tau_l if tau_l is not None else cfg.tau
    Adam = lambda ps, lr: torch.optim.Adam(ps, lr=lr, betas=cfg.betas, eps=cfg.eps)  # noqa: E731
    opt = {"G_B": Adam(m.G_B.parameters(), cfg.lr), "G_R": Adam(m.G_R.parameters(), cfg.lr),
           "D": Adam(m.D.parameters(), cfg.lr)}
    if update != "ref":
        opt["H_loc"] = Adam(m.H_loc.parameters(), cfg.lr)   # the code never steps it
    if heads is not None:
        if update == "ref":
            opt["H_R"] = Adam(hR.parameters(), cfg.lr)
            opt["H_R_again"] = Adam(hR.parameters(), cfg.lr)   # built on the rain heads: a second step
        elif update in ("step", "slow"):
            lr = cfg.lr * (0.1 if update == "slow" else 1.0)
            opt["H_B"] = Adam(hB.parameters(), lr)
            if hR is not hB:
                opt["H_R"] = Adam(hR.parameters(), lr)
        elif update == "bfrozen":
            opt["H_R"] = Adam(hR.parameters(), cfg.lr)
    return cfg, m, hB, hR, tau, opt


def run(variant, a, seed, data):
    train_rainy, train_clean, ev = data
    torch.manual_seed(seed)
    cfg, m, hB, hR, tau, opt = build(variant, a, seed)
    use_layer = VARIANTS[variant][0] is not None
    rng = np.random.RandomState(seed + 100)
    sampler = nt.Sampler(torch.Generator().manual_seed(seed + 200))
    lmin = collapsed_value(cfg.N_B, cfg.N_R, tau)
    t0 = time.time()
    for it in range(1, a.iters + 1):
        O = crops(train_rainy, a.batch, a.crop, rng)
        B = crops(train_clean, a.batch, a.crop, rng)
        pred_B, pred_R = m.G_B(O), m.G_R(O)
        idt = m.G_B(B)
        m.D.requires_grad_(True)
        opt["D"].zero_grad(set_to_none=True)
        nt.d_loss(m.D, pred_B, B).backward()
        opt["D"].step()
        m.D.requires_grad_(False)
        key_O, key_B = m.keys(O), m.keys(B)
        s = m.sample(sampler, O, B, pred_B, pred_R, key_O, key_B)
        ids = {k: v[0] for k, v in s.items()}
        for o in opt.values():
            o.zero_grad(set_to_none=True)
        # every L_G term except the layer contrast from the harness, the layer contrast here
        w_layer = cfg.w_layer
        cfg.w_layer = 0.0
        L = m.g_losses(O, B, pred_B, pred_R, idt, ids, key_O, key_B)
        cfg.w_layer = w_layer
        rec = {"variant": variant, "seed": seed, "iter": it}
        logging = it == 1 or it % a.log_every == 0 or it == a.iters
        if use_layer:
            diag = [] if logging else None
            Ll = layer_loss(m, pred_B, pred_R, ids["layer_B"], ids["layer_R"], hB, hR, tau, diag)
            if logging:
                gB, gR = torch.autograd.grad(Ll, [pred_B, pred_R], retain_graph=True)
                pb = [p for p in m.G_B.parameters()]
                pr = [p for p in m.G_R.parameters()]
                ggb = torch.autograd.grad(pred_B, pb, grad_outputs=gB, retain_graph=True)
                ggr = torch.autograd.grad(pred_R, pr, grad_outputs=gR, retain_graph=True)
                rec.update(layer=float(Ll), layer_gap=float(Ll) - lmin, g_predB=norm([gB]), g_predR=norm([gR]),
                           g_GB_layer=norm(ggb), g_GR_layer=norm(ggr),
                           cos=[[round(v, 4) for v in d] for d in diag])
            L["G"] = L["G"] + w_layer * Ll
        L["G"].backward()
        if logging:
            rec.update(G=float(L["G"]), g_GB_all=norm([p.grad for p in m.G_B.parameters()]),
                       g_GR_all=norm([p.grad for p in m.G_R.parameters()]),
                       **{k: float(v) for k, v in L.items() if k not in ("G",)})
        for o in opt.values():
            if o is not opt["D"]:
                o.step()
        m.momentum_update(cfg.momentum)
        m.D.requires_grad_(True)
        if logging:
            rec["s"] = round(time.time() - t0, 1)
            print(json.dumps(rec), flush=True)
    res = {"variant": variant, "seed": seed, "final": True, "collapsed_value": lmin}
    res.update(evaluate(m, ev))
    print(json.dumps(res), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", default="ref,separate,shared")
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--ndf", type=int, default=64)
    ap.add_argument("--n-neg", type=int, default=256)
    ap.add_argument("--preset", choices=("paper", "official"), default="paper")
    ap.add_argument("--residual", action="store_true")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--shared", default=os.path.join(HERE, "..", "..", "shared", "data"))
    a = ap.parse_args()
    a.loc_taps = tuple(t for t in (0, 2, 4, 8, 12) if t <= a.blocks)
    torch.set_num_threads(a.threads)
    for v in a.variants.split(","):
        if v not in VARIANTS:
            ap.error(f"unknown variant {v!r} (one of {', '.join(VARIANTS)})")
    data = load_data(a.shared)
    print(json.dumps({"args": {k: v for k, v in vars(a).items()}}), flush=True)
    for seed in [int(s) for s in a.seeds.split(",")]:
        for v in a.variants.split(","):
            run(v, a, seed, data)


if __name__ == "__main__":
    main()
