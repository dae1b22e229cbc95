#!/usr/bin/python3
"""Colour change of derained real photos against their inputs (docs/RESULTS.md, "Colour").

    /usr/bin/python3 scripts/colour_shift.py [RESULTS_DIR]   (default results/, made by results.sh)

For each real set and model (default, authors), prints the mean over the set's photos of the
output-minus-input difference of the image means of Y, |Cb| and |Cr| (BT.601 full range, 8-bit
units: Y = 0.299 R + 0.587 G + 0.114 B, Cb = 128 - 0.168736 R - 0.331264 G + 0.5 B,
Cr = 128 + 0.5 R - 0.418688 G - 0.081312 B), and the largest |dCb| or |dCr| of one photo.
Needs Debian's python3-numpy and python3-pil.
"""
import glob
import os
import sys

import numpy as np
from PIL import Image


def ycbcr_means(path):
    a = np.asarray(Image.open(path).convert('RGB')).astype(np.float64)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return np.array([y.mean(), cb.mean(), cr.mean()]), a.shape


def main():
    res = sys.argv[1] if len(sys.argv) > 1 else 'results'
    shared = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'data', 'real_rain')
    print('set            model    photos  mean dY  mean|dCb|  mean|dCr|  max chroma shift')
    for st in ['heavyrain_web', 'nturain-ra1', 'nturain-rb2', 'sirr', 'didmdn', 'udgnet', 'mwd']:
        src = os.path.join(res, st) if st.startswith('nturain') else os.path.join(shared, st)
        if not os.path.isdir(src):
            continue
        for model in ['authors', 'default']:
            rows = []
            for f in sorted(os.listdir(src)):
                out = glob.glob(os.path.join(res, model, st, os.path.splitext(f)[0] + '.*'))
                if not out:
                    continue
                mi, si = ycbcr_means(os.path.join(src, f))
                mo, so = ycbcr_means(out[0])
                if si == so:
                    rows.append(mo - mi)
            if rows:
                d = np.array(rows)
                print(f'{st:14s} {model:8s} {len(d):6d} {d[:, 0].mean():+8.1f} {np.abs(d[:, 1]).mean():10.1f}'
                      f' {np.abs(d[:, 2]).mean():10.1f} {np.abs(d[:, 1:]).max():17.1f}')


if __name__ == '__main__':
    main()
