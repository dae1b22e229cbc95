/* The stop guard of a data-parallel run's rank 0 (src/train/guard.h). */
#include "train/guard.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/internal.h"
#include "train/resume.h"
#include "train/trainer.h"

struct nlcl_stop_guard {
    pthread_t thread;
    pthread_mutex_t mu;
    nlcl_tensor_dict copy; /* the checkpoint of the last consistent state */
    int64_t iter;          /* its iteration */
    int64_t on_disk;       /* the iteration the checkpoint file holds (-1: unknown) */
    const char *ckpt;
    volatile sig_atomic_t *flag;
    const nlcl_train_job *job;
    int quit, written;     /* under mu */
    double refreshed;      /* when the copy was made (nlcl_now_s) */
};

/* Seconds between refreshes of the copy: a refresh copies every weight and
 * Adam moment (57 MB, about 6 ms, for the paper's networks), so it is not
 * made for every short iteration; a stop loses at most this much work. */
#define REFRESH_S 10.0

static void *watch(void *arg) {
    nlcl_stop_guard *g = arg;
    const struct timespec tick = {0, 10 * 1000 * 1000};
    for (;;) {
        pthread_mutex_lock(&g->mu);
        int quit = g->quit;
        if (!quit && !g->written && *g->flag) {
            g->written = 1;
            nlcl_status s = g->iter > g->on_disk ? nlcl_safetensors_save(g->ckpt, &g->copy) : NLCL_OK;
            if (g->iter <= g->on_disk)
                nlcl_train_say(g->job, "stop requested: %s holds iteration %lld (the ranks now stop "
                                       "together)", g->ckpt, (long long)g->on_disk);
            else if (s == NLCL_OK)
                nlcl_train_say(g->job, "stop requested: %s holds iteration %lld (written at once; "
                                       "the ranks now stop together)", g->ckpt, (long long)g->iter);
            else
                nlcl_train_say(g->job, "warning: stop requested, but the checkpoint could not be "
                                       "written: %s", nlcl_error_message());
        }
        pthread_mutex_unlock(&g->mu);
        if (quit) return NULL;
        nanosleep(&tick, NULL);
    }
}

nlcl_status nlcl_stop_guard_start(nlcl_stop_guard **out, const nlcl_trainer *t, const char *ckpt,
                                  volatile sig_atomic_t *flag, const nlcl_train_job *job) {
    *out = NULL;
    if (!flag) return NLCL_OK;
    nlcl_stop_guard *g = calloc(1, sizeof *g);
    if (!g) return nlcl_error_set(NLCL_ERR_NOMEM, "train: out of memory");
    nlcl_tensor_dict_init(&g->copy);
    g->ckpt = ckpt, g->flag = flag, g->job = job;
    g->iter = nlcl_trainer_iteration(t);
    g->on_disk = -1;
    g->refreshed = nlcl_now_s();
    nlcl_status s = nlcl_trainer_checkpoint_dict(t, &g->copy, 0);
    if (s == NLCL_OK && pthread_mutex_init(&g->mu, NULL) != 0)
        s = nlcl_error_set(NLCL_ERR_NOMEM, "train: cannot make a mutex");
    else if (s == NLCL_OK && pthread_create(&g->thread, NULL, watch, g) != 0) {
        pthread_mutex_destroy(&g->mu);
        s = nlcl_error_set(NLCL_ERR_NOMEM, "train: cannot start the stop guard's thread");
    }
    if (s != NLCL_OK) {
        nlcl_tensor_dict_free(&g->copy);
        free(g);
        return s;
    }
    *out = g;
    return NLCL_OK;
}

void nlcl_stop_guard_refresh(nlcl_stop_guard *g, const nlcl_trainer *t) {
    if (!g || nlcl_now_s() - g->refreshed < REFRESH_S) return;
    g->refreshed = nlcl_now_s();
    pthread_mutex_lock(&g->mu);
    if (!g->written) { /* after a write the copy stays what was written */
        nlcl_trainer_checkpoint_dict(t, &g->copy, 1);
        g->iter = nlcl_trainer_iteration(t);
    }
    pthread_mutex_unlock(&g->mu);
}

void nlcl_stop_guard_lock(nlcl_stop_guard *g) {
    if (g) pthread_mutex_lock(&g->mu);
}

void nlcl_stop_guard_unlock(nlcl_stop_guard *g) {
    if (g) pthread_mutex_unlock(&g->mu);
}

void nlcl_stop_guard_saved(nlcl_stop_guard *g, int64_t iter) {
    if (g) g->on_disk = iter;
}

void nlcl_stop_guard_end(nlcl_stop_guard *g) {
    if (!g) return;
    pthread_mutex_lock(&g->mu);
    g->quit = 1;
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    pthread_mutex_destroy(&g->mu);
    nlcl_tensor_dict_free(&g->copy);
    free(g);
}
