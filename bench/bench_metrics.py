#!/usr/bin/python3
"""Peer of bench/bench_metrics.c: the same metrics in Python on the same files.

SSIM: scikit-image (Debian python3-skimage 0.19) structural_similarity with
gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
on the same Y plane (BT.601 limited range in double) as nlcl's default.
NIQE: no NIQE implementation is packaged in Debian 12 (scikit-video, pyiqa and
the like are PyPI-only); for a timing and value reference this file carries a
straightforward numpy/scipy port of the LIVE computequality.m written for this
benchmark (scipy.ndimage.correlate for the MSCN filters, a vectorised MATLAB
imresize). It computes the MSCN coefficients the usual way, so on images with
flat areas its value can differ slightly from nlcl's (see nlcl/metrics.h).

Usage: OMP_NUM_THREADS=2 /usr/bin/python3 bench/bench_metrics.py REF.png DIST.png [reps]
Prints lines "<impl> <metric> <W>x<H> <median ms> <value>".
"""
import os
import sys
import time

for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(v, "2")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from scipy.ndimage import correlate  # noqa: E402
from scipy.special import gamma as G  # noqa: E402
from skimage.metrics import structural_similarity  # noqa: E402

PRIS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                    "metrics", "niqe_pris_params.txt")


def luma_y(rgb):
    return rgb[..., 0] * (65.481 / 255) + rgb[..., 1] * (128.553 / 255) + rgb[..., 2] * (24.966 / 255) + 16


def gray_rounded(rgb):
    g = rgb[..., 0] * 0.298936021293775 + rgb[..., 1] * 0.587043074451121 + rgb[..., 2] * 0.114020904255103
    return np.floor(g + 0.5)


def _cubic(x):
    a = np.abs(x)
    return (1.5 * a**3 - 2.5 * a**2 + 1) * (a <= 1) + (-0.5 * a**3 + 2.5 * a**2 - 4 * a + 2) * ((a > 1) & (a <= 2))


def _contrib(n_in, scale):
    n_out = int(np.ceil(n_in * scale))
    kw = 4.0 / scale
    x = np.arange(1, n_out + 1)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kw / 2)
    idx = left[:, None] + np.arange(int(np.ceil(kw)) + 2)[None, :]
    w = scale * _cubic(scale * (u[:, None] - idx))
    w /= w.sum(1, keepdims=True)
    aux = np.concatenate([np.arange(n_in), np.arange(n_in)[::-1]])
    idx = aux[np.mod(idx - 1, 2 * n_in).astype(int)]
    keep = np.any(w != 0, 0)
    return w[:, keep], idx[:, keep]


def imresize_half(im):
    w, i = _contrib(im.shape[0], 0.5)
    im = np.einsum("ok,okw->ow", w, im[i, :])
    w, i = _contrib(im.shape[1], 0.5)
    return np.einsum("ok,hok->ho", w, im[:, i])


_GAM = np.arange(0.2, 10.0005, 0.001)
_RGAM = G(2 / _GAM) ** 2 / (G(1 / _GAM) * G(3 / _GAM))


def _aggd(v):
    ls = np.sqrt(np.mean(v[v < 0] ** 2))
    rs = np.sqrt(np.mean(v[v > 0] ** 2))
    gh = ls / rs
    rhat = np.mean(np.abs(v)) ** 2 / np.mean(v**2)
    rn = rhat * (gh**3 + 1) * (gh + 1) / (gh**2 + 1) ** 2
    a = _GAM[np.argmin((_RGAM - rn) ** 2)]
    c = np.sqrt(G(1 / a) / G(3 / a))
    return a, ls * c, rs * c


def _features(b):
    a, bl, br = _aggd(b.ravel())
    f = [a, (bl + br) / 2]
    for s in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a, bl, br = _aggd((b * np.roll(b, s, axis=(0, 1))).ravel())
        f += [a, (br - bl) * G(2 / a) / G(1 / a), bl, br]
    return f


def niqe(im, mu_p, cov_p, bs=96):
    x = np.arange(-3, 4)
    win = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * (7 / 6) ** 2))
    win /= win.sum()
    h, w = im.shape
    im = im[: h // bs * bs, : w // bs * bs]
    feats = []
    for sc in (1, 2):
        mu = correlate(im, win, mode="nearest")
        sig = np.sqrt(np.abs(correlate(im * im, win, mode="nearest") - mu * mu))
        s = (im - mu) / (sig + 1)
        b = bs // sc
        feats.append(np.array([_features(s[i:i + b, j:j + b]) for j in range(0, s.shape[1], b)
                               for i in range(0, s.shape[0], b)]))
        im = imresize_half(im)
    F = np.hstack(feats)
    mu_d = np.nanmean(F, 0)
    cov_d = np.cov(F[~np.isnan(F).any(1)], rowvar=False)
    d = mu_p - mu_d
    return float(np.sqrt(d @ np.linalg.pinv((cov_p + cov_d) / 2) @ d))


def median_ms(fn, reps):
    fn()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        v = fn()
        t.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(t)), v


def main():
    ref = np.asarray(Image.open(sys.argv[1]).convert("RGB")).astype(np.float64)
    dist = np.asarray(Image.open(sys.argv[2]).convert("RGB")).astype(np.float64)
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    h, w = ref.shape[:2]
    print("# numpy %s, scikit-image (structural_similarity), %s threads" % (np.__version__, os.environ["OMP_NUM_THREADS"]))

    def ssim():  # includes the Y conversion, as nlcl's timing does
        return structural_similarity(luma_y(dist), luma_y(ref), gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=255)
    ms, v = median_ms(ssim, reps)
    print("skimage ssim_y %dx%d %.2f %.10g" % (w, h, ms, v))
    if os.path.exists(PRIS):
        P = np.loadtxt(PRIS)
        ms, v = median_ms(lambda: niqe(gray_rounded(dist), P[0], P[1:]), max(1, reps // 2))
        print("numpy-port niqe_gray %dx%d %.2f %.10g" % (w, h, ms, v))
    else:
        print("# NIQE skipped: %s missing" % PRIS)


if __name__ == "__main__":
    main()
