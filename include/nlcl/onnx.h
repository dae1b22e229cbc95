/* nlcl/onnx.h - export a model as an ONNX graph, for ONNX Runtime and other
 * ONNX consumers.
 *
 * The file is an ONNX ModelProto (IR version 7, default-domain opset 13),
 * serialised with protobuf-c from the onnx.proto of Debian's libonnx-dev.
 *
 * Input  "input":  float32 (N, 3, H, W), NCHW, RGB, x = u8 / 255 * 2 - 1 in
 *                  [-1, 1] (the convention of nlcl/image.h); N, H and W are
 *                  dynamic ("batch", "height", "width"), any H, W >= 1.
 * Output "output": float32 (N, 3, H, W), the derained image in [-1, 1]:
 *                  u8 = round((y + 1) / 2 * 255) gives what nlcl derain writes
 *                  (up to float rounding in the consumer's kernels).
 * Graph: the generator of nlcl/model.h with the weights as initializers under
 * their state_dict names: Conv (3x3, pads 1) for every convolution,
 * InstanceNormalization (scale 1, bias 0, epsilon 1e-5) for instance norm,
 * Relu, Add for the residual blocks; then, for a model with the residual
 * option (metadata "residual" = "1", nlcl_model_residual), Add of the input
 * (out = in + G(in)); finally Clip(-1, 1), the clamp nlcl applies before
 * quantising. The model's metadata (training command, data, ...) is copied
 * into metadata_props, with "nlcl_residual", "nlcl_channels" and
 * "nlcl_blocks" added; producer "nlcl" and its version.
 * Written atomically (temporary file, fsync, rename), like every nlcl file.
 * Errors: IO (cannot write), NOMEM.
 */
#ifndef NLCL_ONNX_H
#define NLCL_ONNX_H

#include "nlcl/export.h"
#include "nlcl/model.h"
#include "nlcl/status.h"

NLCL_API_BEGIN

/* ONNX opset of the exported graph (default domain). */
#define NLCL_ONNX_OPSET 13

nlcl_status nlcl_model_save_onnx(const nlcl_model *m, const char *path);

NLCL_API_END
#endif
