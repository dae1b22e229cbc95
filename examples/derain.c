/* examples/derain.c - derain one image with libnlcl.
 *
 *     derain [-m MODEL] IN OUT
 *
 * IN: PNG, JPEG, TIFF or BMP; OUT: .png or .jpg. Without -m the default model
 * embedded in the library is used; MODEL may be an nlcl .safetensors model,
 * a training checkpoint or the authors' .pth. The result is the same file
 * 'nlcl derain -o OUT IN' writes. Build it against an installed nlcl:
 *     cc derain.c -o derain $(pkg-config --cflags --libs nlcl)
 * or with CMake, examples/CMakeLists.txt (find_package(nlcl)).
 */
#include <stdio.h>
#include <string.h>

#include <nlcl/image.h>
#include <nlcl/model.h>

int main(int argc, char **argv) {
    const char *model = NULL;
    if (argc == 5 && strcmp(argv[1], "-m") == 0) {
        model = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: derain [-m MODEL] IN OUT\n");
        return 2;
    }
    nlcl_model *m = NULL;
    nlcl_image in = {0}, out = {0};
    nlcl_status s = model ? nlcl_model_load(model, &m) : nlcl_model_load_default(&m);
    if (s == NLCL_OK) s = nlcl_image_load(argv[1], &in, NULL);
    if (s == NLCL_OK) s = nlcl_model_run_image(m, &in, &out);
    if (s == NLCL_OK) s = nlcl_image_save(argv[2], &out, NLCL_QUANT_ROUND);
    if (s != NLCL_OK) fprintf(stderr, "derain: %s\n", nlcl_error_message());
    nlcl_image_free(&in);
    nlcl_image_free(&out);
    nlcl_model_free(m);
    return s == NLCL_OK ? 0 : 1;
}
