/* Data parallelism over an nlcl_train_comm (src/train/dist.h). */
#include "train/dist.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nlcl/conv.h"
#include "nlcl/files.h"

int nlcl_dist_on(const nlcl_train_comm *comm) { return comm && comm->size > 1; }

static nlcl_status comm_failed(void) {
    return nlcl_error_set(NLCL_ERR_IO, "communication between the ranks failed");
}

nlcl_status nlcl_dist_agree(const nlcl_train_comm *comm, nlcl_status s, int *stop, const char *where) {
    if (!nlcl_dist_on(comm)) return s;
    /* max over the ranks of (size - rank) for a failed rank: the first one */
    double v[2] = {s != NLCL_OK ? (double)(comm->size - comm->rank) : 0, stop && *stop ? 1 : 0};
    if (comm->allreduce(comm->ctx, v, 2, NLCL_COMM_DOUBLE, NLCL_COMM_MAX) != 0) return comm_failed();
    if (stop) *stop = v[1] > 0;
    if (s != NLCL_OK) return s;
    if (v[0] > 0)
        return nlcl_error_set(NLCL_ERR_INTERRUPTED,
                              "rank %d failed %s (its message says why); every rank stops",
                              comm->size - (int)v[0], where);
    return NLCL_OK;
}

nlcl_status nlcl_dist_check_batch(const nlcl_train_comm *comm, int batch) {
    int ranks = nlcl_dist_on(comm) ? comm->size : 1;
    if (batch % ranks != 0)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "--batch %d is not a multiple of the %d ranks (each takes an "
                              "equal share)", batch, ranks);
    return NLCL_OK;
}

/* The gradients of `which` averaged over the ranks. */
static nlcl_status mean_grads(const nlcl_train_comm *comm, nlcl_trainer *t, nlcl_dist_nets which) {
    for (int id = 0; id < NLCL_NET_COUNT; id++) {
        nlcl_params *p = nlcl_trainer_params(t, (nlcl_net_id)id);
        int in = which == NLCL_DIST_D    ? id == NLCL_NET_D
                 : which == NLCL_DIST_GB ? id == NLCL_NET_GB
                                         : id != NLCL_NET_D;
        if (in && p && p->grad && nlcl_net_trainable((nlcl_net_id)id))
            NLCL_TRY(nlcl_dist_mean_f(comm, p->grad, p->total));
    }
    return NLCL_OK;
}

nlcl_status nlcl_dist_share(const nlcl_train_comm *comm, nlcl_trainer *t, nlcl_status s,
                            volatile sig_atomic_t *stop, const char *where, double *loss,
                            nlcl_dist_nets which) {
    if (!nlcl_dist_on(comm)) return s;
    int asked = stop && *stop;
    NLCL_TRY(nlcl_dist_agree(comm, s, stop ? &asked : NULL, where));
    if (asked)
        return nlcl_error_set(NLCL_ERR_INTERRUPTED,
                              "stopped in iteration %lld, before any weight changed",
                              (long long)nlcl_trainer_iteration(t) + 1);
    if (loss) NLCL_TRY(nlcl_dist_mean_d(comm, loss, 1));
    return mean_grads(comm, t, which);
}

nlcl_status nlcl_dist_mean_losses(const nlcl_train_comm *comm, nlcl_losses *L) {
    double v[NLCL_LOSS_COUNT];
    for (int k = 0; k < NLCL_LOSS_COUNT; k++) v[k] = nlcl_loss_get(L, (nlcl_loss_term)k);
    NLCL_TRY(nlcl_dist_mean_d(comm, v, NLCL_LOSS_COUNT));
    for (int k = 0; k < NLCL_LOSS_COUNT; k++) nlcl_loss_set(L, (nlcl_loss_term)k, v[k]);
    return NLCL_OK;
}

nlcl_status nlcl_dist_mean_f(const nlcl_train_comm *comm, float *v, size_t n) {
    if (!nlcl_dist_on(comm) || n == 0) return NLCL_OK;
    if (comm->allreduce(comm->ctx, v, n, NLCL_COMM_FLOAT, NLCL_COMM_SUM) != 0) return comm_failed();
    const float inv = 1.0f / (float)comm->size;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) v[i] *= inv;
    return NLCL_OK;
}

nlcl_status nlcl_dist_mean_d(const nlcl_train_comm *comm, double *v, size_t n) {
    if (!nlcl_dist_on(comm) || n == 0) return NLCL_OK;
    if (comm->allreduce(comm->ctx, v, n, NLCL_COMM_DOUBLE, NLCL_COMM_SUM) != 0) return comm_failed();
    for (size_t i = 0; i < n; i++) v[i] /= comm->size;
    return NLCL_OK;
}

static nlcl_status bcast(const nlcl_train_comm *comm, void *buf, size_t bytes) {
    if (bytes && comm->broadcast(comm->ctx, buf, bytes) != 0) return comm_failed();
    return NLCL_OK;
}

/* Rank 0's convolution choices; the others import them and plan again. */
static nlcl_status share_conv_choices(const nlcl_train_comm *comm, nlcl_trainer *t) {
    uint64_t len = comm->rank == 0 ? (uint64_t)nlcl_conv2d_choices_export(NULL, 0) : 0;
    NLCL_TRY(bcast(comm, &len, sizeof len));
    char *text = malloc((size_t)len + 1);
    if (!text) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    if (comm->rank == 0) nlcl_conv2d_choices_export(text, (size_t)len + 1);
    nlcl_status s = bcast(comm, text, (size_t)len);
    text[len] = '\0';
    if (s == NLCL_OK && comm->rank != 0 && len > 0) {
        s = nlcl_conv2d_choices_import(text);
        if (s == NLCL_OK) s = nlcl_trainer_replan(t);
    }
    free(text);
    return s;
}

nlcl_status nlcl_dist_share_trainer(const nlcl_train_comm *comm, nlcl_trainer *t) {
    if (!nlcl_dist_on(comm)) return NLCL_OK;
    int64_t iter = nlcl_trainer_iteration(t);
    NLCL_TRY(bcast(comm, &iter, sizeof iter));
    nlcl_trainer_set_iteration(t, iter);
    for (int id = 0; id < NLCL_NET_COUNT; id++) {
        nlcl_params *p = nlcl_trainer_params(t, (nlcl_net_id)id);
        if (!p) continue;
        size_t bytes = p->total * sizeof(float);
        NLCL_TRY(bcast(comm, p->data, bytes));
        if (p->adam_m) NLCL_TRY(bcast(comm, p->adam_m, bytes));
        if (p->adam_v) NLCL_TRY(bcast(comm, p->adam_v, bytes));
    }
    return share_conv_choices(comm, t);
}

/* FNV-1a over bytes */
static uint64_t fnv(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* A set's fingerprint: per image its file name (not the folder: the data
 * may be mounted elsewhere), size and 64 pixels spread over it. */
static uint64_t fingerprint(const nlcl_dataset *ds) {
    uint64_t h = 14695981039346656037ull;
    for (int i = 0; i < ds->count; i++) {
        const char *name = nlcl_basename(ds->paths[i]);
        h = fnv(h, name, strlen(name) + 1);
        int dims[2] = {ds->w[i], ds->h[i]};
        h = fnv(h, dims, sizeof dims);
        size_t npx = (size_t)ds->w[i] * ds->h[i];
        for (size_t k = 0; k < 64; k++) h = fnv(h, ds->pixels[i] + 3 * (k * npx / 64), 3);
    }
    return h;
}

nlcl_status nlcl_dist_check_data(const nlcl_train_comm *comm, const nlcl_dataset *rainy,
                                 const nlcl_dataset *clean) {
    if (!nlcl_dist_on(comm)) return NLCL_OK;
    uint64_t mine[4] = {(uint64_t)rainy->count, fingerprint(rainy), (uint64_t)clean->count,
                        fingerprint(clean)};
    uint64_t root[4];
    memcpy(root, mine, sizeof root);
    NLCL_TRY(bcast(comm, root, sizeof root));
    for (int k = 0; k < 2; k++) {
        const char *set = k ? "clean" : "rainy";
        if (mine[2 * k] != root[2 * k])
            return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                                  "rank %d sees %llu %s image(s), rank 0 %llu: every rank "
                                  "must read the same images at the same paths",
                                  comm->rank, (unsigned long long)mine[2 * k], set,
                                  (unsigned long long)root[2 * k]);
        if (mine[2 * k + 1] != root[2 * k + 1])
            return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                                  "rank %d sees other %s images than rank 0 (names, sizes or "
                                  "pixels differ): every rank must read the same images",
                                  comm->rank, set);
    }
    return NLCL_OK;
}
