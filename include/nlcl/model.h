/* nlcl/model.h - load a trained deraining generator and run it: the API for
 * programs that embed nlcl.
 *
 *     nlcl_model *m;
 *     if (nlcl_model_load("model.safetensors", &m) != NLCL_OK)   // or a .pth
 *         fprintf(stderr, "%s\n", nlcl_error_message());
 *     nlcl_model_run_rgb8(m, rgb_in, rgb_out, height, width, NLCL_QUANT_ROUND);
 *     nlcl_model_free(m);
 *
 * A model is the NLCL generator G_B (or G_R) of the authors' released code
 * (networks.Generator): a 3x3 conv 3->C, K residual blocks conv-IN-ReLU-conv-IN plus
 * skip, conv-IN-ReLU-conv, a 3x3 conv C->3; full resolution, zero padding, no
 * output non-linearity. C and K are read from the weights (the released model:
 * C = 32, K = 16). Models trained by nlcl with --residual add the input to the
 * last conv's output (out = in + G(in); metadata "residual": "1").
 *
 * Image convention: x = u8/255*2 - 1 on input; output clamp(y, -1, 1), then
 * (y+1)/2*255, rounded (or truncated, as the authors' code does).
 * Sizes: any width and height >= 1 (NLCL_MIN_SIZE); output has exactly the
 * input's size. Memory: about 3 * ceil(C/B)*B * H * W * 4 bytes of activations
 * (B = 8 or 16, the channel block of conv.h), i.e. 4.4 GiB for a 4000x3000
 * photo at C = 32 (2.2 GiB at C = 16), plus the image itself; see
 * nlcl_model_workspace_bytes. Beyond the memory limit the activations are
 * streamed through temporary files (nlcl_model_set_memory_limit).
 * Thread-safety: a model caches per-size workspaces; use one model from one
 * thread at a time (the computation itself uses all OpenMP threads, see
 * nlcl_set_num_threads). Results are bit-identical for any thread count.
 */
#ifndef NLCL_MODEL_H
#define NLCL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "nlcl/export.h"
#include "nlcl/image.h"
#include "nlcl/status.h"
#include "nlcl/weights.h"

NLCL_API_BEGIN

#define NLCL_MIN_SIZE 1

typedef struct nlcl_model nlcl_model;

/* Load from a safetensors file written by nlcl (a model, or a training
 * checkpoint, whose exported generator is taken: the moving average G_ema
 * when the run had --ema, else G_B) or a PyTorch .pth state_dict (e.g. the
 * authors' latest_net_Back.pth). Errors: IO, FORMAT (wrong names or
 * shapes, naming the tensor), UNSUPPORTED, NOMEM. */
nlcl_status nlcl_model_load(const char *path, nlcl_model **out);
/* Same, also accepting a training checkpoint of nlcl train (then `role`,
 * "G_B", "G_ema" or "G_R", picks the generator; NULL or "" picks what
 * nlcl_model_load picks; for model files it is ignored). G_B and G_ema of a
 * run with --residual add their input (the model's "residual" entry). */
nlcl_status nlcl_model_load_role(const char *path, const char *role, nlcl_model **out);
/* The default model embedded in libnlcl (NLCL_ERR_UNSUPPORTED if this build
 * has none). */
nlcl_status nlcl_model_load_default(nlcl_model **out);
/* From tensors already in memory; `name` is used in messages. The dict's
 * metadata is copied. */
nlcl_status nlcl_model_from_dict(const nlcl_tensor_dict *d, const char *name, nlcl_model **out);
void nlcl_model_free(nlcl_model *m);

/* Save as safetensors with the model's metadata plus "architecture",
 * "channels" and "blocks" (atomic write). */
nlcl_status nlcl_model_save(const nlcl_model *m, const char *path);
/* Set a metadata entry (e.g. "role", "training_command"). */
nlcl_status nlcl_model_set_meta(nlcl_model *m, const char *key, const char *value);
/* Metadata value or NULL; nlcl_model_meta_count/key iterate over all. */
const char *nlcl_model_meta(const nlcl_model *m, const char *key);
int nlcl_model_meta_count(const nlcl_model *m);
const char *nlcl_model_meta_key(const nlcl_model *m, int i);
int nlcl_model_channels(const nlcl_model *m);
int nlcl_model_blocks(const nlcl_model *m);
/* 1 if the model adds its input to the generator's output (metadata
 * "residual": "1", an nlcl option; the authors' models have 0). */
int nlcl_model_residual(const nlcl_model *m);
size_t nlcl_model_num_params(const nlcl_model *m);

/* Activation memory needed for an h x w image, in bytes. */
size_t nlcl_model_workspace_bytes(const nlcl_model *m, int h, int w);

/* Run the generator: out = G(in), both (1, 3, h, w) NCHW float32 in the
 * [-1, 1] convention; out is not clamped. Errors: INVALID_ARG (size < 1),
 * NOMEM, INTERNAL, NONFINITE (finite weights overflowed on this input: some
 * output value is NaN or infinite; "<model file>: the model's output holds N
 * non-finite values ..."; out must not be used). */
nlcl_status nlcl_model_run(nlcl_model *m, const float *in, float *out, int h, int w);
/* Derain interleaved 8-bit RGB (h rows of w*3 bytes); out may equal in. */
nlcl_status nlcl_model_run_rgb8(nlcl_model *m, const uint8_t *in, uint8_t *out, int h, int w,
                                nlcl_quantize q);
/* Derain an image: *out is allocated (free with nlcl_image_free). */
nlcl_status nlcl_model_run_image(nlcl_model *m, const nlcl_image *in, nlcl_image *out);

/* Memory. A run keeps three activations of the image in memory (about
 * 12 * ceil(C/B)*B * h * w bytes, nlcl_model_workspace_bytes) when they fit
 * the memory limit; otherwise it streams them, band by band, through three
 * unlinked temporary files in the scratch folder (the same bytes on disk;
 * in memory then only a few bands of rows, some hundred MB at most, plus the
 * images). Both give bit-identical outputs (the band pipeline computes
 * exact instance-norm statistics in the whole-image order). The limit
 * defaults to half the physical memory; SIZE_MAX never streams. */
void nlcl_model_set_memory_limit(nlcl_model *m, size_t bytes);
/* The limit in effect (the default resolved). */
size_t nlcl_model_memory_limit(const nlcl_model *m);
/* Folder for the temporary files (NULL: $TMPDIR, else /tmp). A run fails
 * with NLCL_ERR_LIMIT, before any work, when it has less free space than
 * the activations need. Errors: NOMEM. */
nlcl_status nlcl_model_set_scratch_dir(nlcl_model *m, const char *dir);
/* Rows per band of the band pipeline (0: automatic, about 64 MB per band;
 * rounded up to the instance-norm statistics chunk). Streamed runs use
 * bands; with rows > 0, runs in memory use them too (otherwise those run
 * layer by layer over the whole image). Changes speed and memory, never the
 * output. */
void nlcl_model_set_band_rows(nlcl_model *m, int rows);
/* 1 if the last run streamed its activations through temporary files. */
int nlcl_model_streamed(const nlcl_model *m);

/* Arithmetic of the generator's C->C convolutions (99% of its work). */
typedef enum nlcl_precision {
    NLCL_PRECISION_FP32 = 0, /* float32 (the default): the authors' outputs */
    NLCL_PRECISION_BF16 = 1  /* bfloat16 products and float32 sums; the C->C
                                convolutions' inputs and outputs stored as bfloat16
                                (rounded to nearest even), everything else in float32
                                (instance norm's arithmetic, the residual stream, the
                                first and last convolutions); needs AVX512_BF16; its
                                quality (Rain100L, the largest differences from
                                float32) is in the project's BENCHMARKS.md */
} nlcl_precision;
/* 1 if this CPU runs bfloat16 convolutions (AVX512_BF16). */
int nlcl_bf16_supported(void);
/* Errors: UNSUPPORTED for bf16 on a CPU without AVX512_BF16 (the model
 * keeps float32), INVALID_ARG for an unknown value. */
nlcl_status nlcl_model_set_precision(nlcl_model *m, nlcl_precision p);

/* Progress callback: called after each layer of a run with the number of
 * layers done and the total; return non-zero to stop (the run then fails with
 * NLCL_ERR_INTERRUPTED). NULL removes it. */
typedef int (*nlcl_progress_fn)(void *ctx, int done, int total);
void nlcl_model_set_progress(nlcl_model *m, nlcl_progress_fn fn, void *ctx);

/* Number of OpenMP threads used by all of nlcl (0 = the OpenMP default).
 * Embedders on shared machines: set GOMP_SPINCOUNT=100000 (or
 * OMP_WAIT_POLICY=passive) in the environment before the process starts; with
 * libgomp's default spinning, a busy neighbour process can slow nlcl many
 * times over. The nlcl command does this itself. */
void nlcl_set_num_threads(int n);

NLCL_API_END
#endif
