/* Internal access to a model's generator (src/nn/model.c), for exporters
 * such as src/nn/onnx.c. */
#ifndef NLCL_NN_MODEL_INTERNAL_H
#define NLCL_NN_MODEL_INTERNAL_H

#include "nlcl/model.h"

struct nlcl_gen; /* nn/generator.h */

/* The generator (architecture and weights) of m; valid while m is. */
const struct nlcl_gen *nlcl_model_generator(const nlcl_model *m);

#endif
