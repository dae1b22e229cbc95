/* Placeholder for the embedded default model: no model is bundled yet.
 * (When models/default.safetensors exists, CMake embeds it instead.) */
#include <stddef.h>

const unsigned char nlcl_default_model_data[1] = {0};
const size_t nlcl_default_model_size = 0;
