"""nlcl: unsupervised real-image deraining (NLCL, CVPR 2022), in Python.

A thin ctypes layer over libnlcl.so, with numpy arrays in and out:

    import nlcl
    model = nlcl.Model()                 # the default model embedded in libnlcl
    clean = model.derain(rainy)          # uint8 H x W x 3 -> uint8 H x W x 3
    nlcl.psnr(clean, truth), nlcl.ssim(clean, truth), nlcl.niqe(clean)

Results are those of the nlcl command: Model.derain on a uint8 image gives
exactly the pixels 'nlcl derain' writes, and psnr/ssim/niqe the numbers of
'nlcl eval' with the same options (its defaults are the defaults here).
Failures raise nlcl.Error carrying libnlcl's message, which names the file
and the problem (e.g. "x.pth: ..."); wrong array types or shapes raise TypeError or ValueError.

Image arrays: H x W x 3 RGB, C-order (others are copied), either uint8
(0..255) or float32 with values in [0, 1]. Sizes: any H, W >= 1 for derain.
"""
import ctypes

import numpy as np

from . import _lib

__all__ = ["Model", "Error", "psnr", "ssim", "niqe", "imread", "imwrite", "set_num_threads",
           "version", "__version__"]

__version__ = _lib.version().decode()
#: the version of the libnlcl.so in use, "MAJOR.MINOR.PATCH"
version = __version__


class Error(RuntimeError):
    """A libnlcl failure: str(e) is libnlcl's message ("subject: problem",
    e.g. "x.png: PNG truncated"); ``code`` is the
    nlcl_status value (nlcl/status.h: 1 invalid argument, 2 i/o error,
    3 format error, 4 unsupported, 5 limit exceeded, 6 out of memory, ...)
    and ``status`` its name, e.g. "i/o error"."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.status = _lib.status_name(code).decode()


def _check(st):
    if st != 0:
        raise Error(st, _lib.error_message().decode(errors="replace"))


def _path(p):
    import os
    return os.fsencode(p)


def set_num_threads(n):
    """Number of OpenMP threads libnlcl uses (0: the OpenMP default)."""
    _lib.set_num_threads(int(n))


def _rgb(image, name="image"):
    """(array, is_float): a C-contiguous H x W x 3 uint8 or float32 array."""
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"{name}: expected an H x W x 3 RGB array, got shape {a.shape}")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"{name}: empty image {a.shape}")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a), False
    if a.dtype == np.float32:
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name}: NaN or infinite values")
        return np.ascontiguousarray(a), True
    raise TypeError(f"{name}: expected uint8 or float32 values, got {a.dtype}")


class Model:
    """A deraining generator (G_B of NLCL, nlcl/model.h).

    Model(path=None): None loads the default model embedded in libnlcl;
    otherwise an nlcl .safetensors model, a training checkpoint of 'nlcl
    train' (its G_B) or a PyTorch .pth state_dict such as the authors'
    latest_net_Back.pth. Raises nlcl.Error (e.g. status "i/o error" for a
    missing file, "format error" for a file that is not a model).

    One model is used by one thread at a time (it keeps a workspace per image
    size); the computation itself uses all OpenMP threads.
    """

    def __init__(self, path=None):
        self._m = ctypes.c_void_p()
        if path is None:
            _check(_lib.model_load_default(ctypes.byref(self._m)))
        else:
            _check(_lib.model_load(_path(path), ctypes.byref(self._m)))

    def close(self):
        """Free the model now (also done when it is garbage-collected)."""
        if getattr(self, "_m", None) and self._m.value:
            _lib.model_free(self._m)
            self._m = ctypes.c_void_p()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the module may be gone
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _handle(self):
        if not self._m.value:
            raise ValueError("the model is closed")
        return self._m

    @property
    def channels(self):
        """Generator width C."""
        return _lib.model_channels(self._handle())

    @property
    def blocks(self):
        """Number of residual blocks K."""
        return _lib.model_blocks(self._handle())

    @property
    def residual(self):
        """True if the model adds its input to the generator's output."""
        return bool(_lib.model_residual(self._handle()))

    @property
    def num_params(self):
        return _lib.model_num_params(self._handle())

    @property
    def metadata(self):
        """The model's metadata, a dict of str (training command, data...)."""
        m = self._handle()
        keys = [_lib.model_meta_key(m, i) for i in range(_lib.model_meta_count(m))]
        return {k.decode(): _lib.model_meta(m, k).decode() for k in keys}

    def save_onnx(self, path):
        """Export as an ONNX graph (nlcl/onnx.h; 'nlcl convert MODEL OUT.onnx'):
        opset 13, input "input" and output "output" float32 (N, 3, H, W) in
        [-1, 1] (x = 2 * image - 1 for images in [0, 1]), N, H, W dynamic."""
        _check(_lib.model_save_onnx(self._handle(), _path(path)))

    def derain(self, image, quantize="round"):
        """Remove rain from an RGB image; returns an array of the same shape
        and dtype.

        uint8 H x W x 3: exactly what 'nlcl derain' computes and writes
        (x = u8 / 255 * 2 - 1; output clamped to [-1, 1] and mapped back with
        `quantize` = "round" (default) or "truncate", as --quantize).
        float32 H x W x 3 in [0, 1]: x = 2 * image - 1 (float32), and the
        result clamp((y + 1) / 2, 0, 1) without quantisation.
        Raises ValueError/TypeError for other arrays, nlcl.Error (e.g. status
        "out of memory") from the library.
        """
        a, is_float = _rgb(image)
        h, w = a.shape[:2]
        m = self._handle()
        if not is_float:
            if quantize not in ("round", "truncate"):
                raise ValueError(f"quantize: 'round' or 'truncate', not {quantize!r}")
            out = np.empty_like(a)
            _check(_lib.model_run_rgb8(m, a.ctypes.data_as(_lib.u8_p),
                                       out.ctypes.data_as(_lib.u8_p), h, w,
                                       0 if quantize == "round" else 1))
            return out
        x = np.ascontiguousarray((a * np.float32(2) - np.float32(1)).transpose(2, 0, 1))
        y = np.empty_like(x)
        _check(_lib.model_run(m, x.ctypes.data_as(_lib.f32_p), y.ctypes.data_as(_lib.f32_p), h, w))
        y = (np.clip(y, -1, 1) + np.float32(1)) / np.float32(2)
        return np.ascontiguousarray(y.transpose(1, 2, 0), dtype=np.float32)


# ---- metrics: the conventions of nlcl/metrics.h and 'nlcl eval' -------------

_CHANNELS = {"rgb": 0, "y": 1, "gray": 2}


def _metric_image(image, name):
    """A MetricImage over a planar float64 copy (0..255) of an H x W x 3 or
    H x W array: uint8 as it is, float32/float64 in [0, 1] times 255."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3):
        raise ValueError(f"{name}: expected H x W x 3 (RGB) or H x W (grey), got shape {np.shape(image)}")
    if a.dtype == np.uint8:
        v = a.astype(np.float64)
    elif a.dtype in (np.float32, np.float64):
        v = a.astype(np.float64) * 255.0
    else:
        raise TypeError(f"{name}: expected uint8 or float values, got {a.dtype}")
    planes = np.ascontiguousarray(v.transpose(2, 0, 1))
    mi = _lib.MetricImage(a.shape[1], a.shape[0], a.shape[2],
                          planes.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))
    return mi, planes  # keep planes alive while mi is used


def _channel(channel):
    try:
        return _CHANNELS[channel.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"channel: one of 'y', 'rgb', 'gray', not {channel!r}") from None


def psnr(pred, ref, channel="y", round_luma=False, crop=0, data_range=255.0):
    """PSNR in dB of pred against ref (10 log10(L^2 / MSE)), as 'nlcl eval':
    by default on Y (ITU-R BT.601 limited range, MATLAB rgb2ycbcr, kept in
    double), no crop, L = 255; channel "rgb" is one MSE over R, G and B,
    "gray" MATLAB rgb2gray. Identical images give inf.
    Arrays: uint8 (0..255) or float in [0, 1] (scaled by 255), H x W x 3 or
    H x W, both of the same size."""
    o = _lib.PsnrOpts()
    _lib.psnr_opts_init(ctypes.byref(o))
    o.channel, o.round_luma, o.crop, o.data_range = _channel(channel), int(bool(round_luma)), int(crop), float(data_range)
    a, ka = _metric_image(pred, "pred")
    b, kb = _metric_image(ref, "ref")
    r = ctypes.c_double()
    _check(_lib.psnr(ctypes.byref(a), ctypes.byref(b), ctypes.byref(o), ctypes.byref(r)))
    return r.value


def ssim(pred, ref, channel="y", round_luma=False, crop=0, variant="wang", matlab_downsample=False):
    """SSIM (Wang et al. 2004) of pred against ref, as 'nlcl eval': by
    default on Y, the 11 x 11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03,
    L 255, population statistics, 'valid' window positions; variant
    "skimage" is scikit-image's defaults (7 x 7 uniform window, sample
    covariance); matlab_downsample as Wang's ssim.m (--ssim-downsample).
    Arrays as for psnr()."""
    o = _lib.SsimOpts()
    if variant == "wang":
        _lib.ssim_opts_init(ctypes.byref(o))
    elif variant == "skimage":
        _lib.ssim_opts_skimage(ctypes.byref(o))
    else:
        raise ValueError(f"variant: 'wang' or 'skimage', not {variant!r}")
    o.channel, o.round_luma, o.crop = _channel(channel), int(bool(round_luma)), int(crop)
    o.matlab_downsample = int(bool(matlab_downsample))
    a, ka = _metric_image(pred, "pred")
    b, kb = _metric_image(ref, "ref")
    r = ctypes.c_double()
    _check(_lib.ssim(ctypes.byref(a), ctypes.byref(b), ctypes.byref(o), ctypes.byref(r)))
    return r.value


def niqe(image, channel="gray", crop=0):
    """NIQE (Mittal et al. 2013; lower is better) as the LIVE MATLAB release
    and 'nlcl eval --niqe': MATLAB rgb2gray rounded to 8 bits (channel "y":
    rgb2ycbcr's Y), 96 x 96 blocks, the release's pristine model. At least
    96 x 96 pixels after the crop. Arrays as for psnr()."""
    o = _lib.NiqeOpts()
    _lib.niqe_opts_init(ctypes.byref(o))
    if channel not in ("gray", "y"):
        raise ValueError(f"channel: 'gray' or 'y', not {channel!r}")
    o.channel, o.crop = _channel(channel), int(crop)
    a, ka = _metric_image(image, "image")
    r = ctypes.c_double()
    _check(_lib.niqe(ctypes.byref(a), ctypes.byref(o), ctypes.byref(r)))
    return r.value


# ---- image files (libnlcl's readers and writers) -----------------------------

def imread(path):
    """Read a PNG, JPEG, TIFF or BMP file as uint8 H x W x 3 RGB, with
    'nlcl derain''s reader (16-bit samples rounded to 8 bits, alpha dropped)."""
    img = _lib.Image()
    _check(_lib.image_load(_path(path), ctypes.byref(img), None))
    try:
        out = np.empty((img.height, img.width, 3), np.uint8)
        _lib.image_to_rgb8(ctypes.byref(img), 0, out.ctypes.data_as(_lib.u8_p))
    finally:
        _lib.image_free(ctypes.byref(img))
    return out


def imwrite(path, image):
    """Write a uint8 H x W x 3 array as PNG (.png) or JPEG (.jpg/.jpeg,
    quality 95), atomically (a failure leaves no partial file)."""
    a, is_float = _rgb(image)
    if is_float:
        raise TypeError("imwrite: expected uint8 values")
    img = _lib.Image()
    _check(_lib.image_from_rgb8(ctypes.byref(img), a.ctypes.data_as(_lib.u8_p), a.shape[0], a.shape[1]))
    try:
        _check(_lib.image_save(_path(path), ctypes.byref(img), 0))
    finally:
        _lib.image_free(ctypes.byref(img))
