/* NIQE (nlcl/metrics.h): Mittal, Soundararajan, Bovik, "Making a 'completely
 * blind' image quality analyzer", IEEE SPL 2013, as computed by the LIVE
 * MATLAB release (computequality.m, computefeature.m, estimateaggdparam.m)
 * with its pristine model (niqe_params.c). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "metrics/metrics_internal.h"

#define NIQE_FEAT 18 /* per scale */
#define NIQE_DIM 36  /* two scales */

void nlcl_niqe_opts_init(nlcl_niqe_opts *o) {
    o->channel = NLCL_METRIC_GRAY;
    o->round_luma = 1;
    o->crop = 0;
    o->block_size = 96;
}

void nlcl_niqe_convention(const nlcl_niqe_opts *o, char *buf, size_t n) {
    snprintf(buf, n, "NIQE(%s, LIVE pristine model, %dx%d blocks, crop %d)",
             nlcl_metric_channel_label(o->channel, o->round_luma), o->block_size, o->block_size,
             o->crop);
}

/* ---- the AGGD moment-matching fit (estimateaggdparam.m) ------------------ */

/* gam = 0.2:0.001:10 as MATLAB's colon builds it (a + k d for the first
 * half, b - (n-1-k) d for the second, so both ends are exact), and
 * r_gam = Gamma(2/g)^2 / (Gamma(1/g) Gamma(3/g)). */
void nlcl_niqe_gamma_grid(double *gam, double *r_gam) {
    const double a = 0.2, d = 0.001, b = 10.0;
    const int n = NLCL_NIQE_GAMMA_N;
    for (int k = 0; k < n; k++) {
        double g = k < n / 2 ? a + k * d : b - (n - 1 - k) * d;
        gam[k] = g;
        double g2 = tgamma(2.0 / g);
        r_gam[k] = (g2 * g2) / (tgamma(1.0 / g) * tgamma(3.0 / g));
    }
}

static double grid_gam[NLCL_NIQE_GAMMA_N], grid_r[NLCL_NIQE_GAMMA_N];
static pthread_once_t grid_once = PTHREAD_ONCE_INIT;
static int grid_inc;

/* 1 if r_gam is strictly increasing (it is: r(g) rises from 0 towards 3/4),
 * which lets the argmin be found by bisection. */
static int increasing(const double *r) {
    for (int k = 1; k < NLCL_NIQE_GAMMA_N; k++)
        if (!(r[k] > r[k - 1])) return 0;
    return 1;
}

static void grid_init(void) {
    nlcl_niqe_gamma_grid(grid_gam, grid_r);
    grid_inc = increasing(grid_r);
}

static int increasing_table(const double *r) {
    if (r == grid_r) return grid_inc; /* checked once (nlcl_niqe calls grid_init first) */
    return increasing(r);
}

/* leftstd = sqrt(mean(v(v<0).^2)), rightstd = sqrt(mean(v(v>0).^2)),
 * gammahat = leftstd/rightstd, rhat = mean(|v|)^2 / mean(v.^2),
 * rhatnorm = rhat (gammahat^3 + 1)(gammahat + 1) / (gammahat^2 + 1)^2,
 * alpha = gam(argmin (r_gam - rhatnorm)^2) (first on ties; the first grid
 * value if rhatnorm is NaN, as MATLAB's min over all-NaN returns index 1),
 * betal/r = leftstd/rightstd * sqrt(Gamma(1/alpha) / Gamma(3/alpha)).
 * An empty side gives NaN (mean([]) in MATLAB), propagated like MATLAB. */
void nlcl_aggd_fit(const double *v, size_t n, const double *gam, const double *r_gam,
                   double *alpha, double *betal, double *betar) {
    double sl = 0, sr = 0, sabs = 0, ssq = 0;
    size_t nl = 0, nr = 0;
    for (size_t i = 0; i < n; i++) { /* branch-free, summed in order */
        double x = v[i], x2 = x * x;
        sl += x < 0 ? x2 : 0.0;
        sr += x > 0 ? x2 : 0.0;
        nl += x < 0;
        nr += x > 0;
        sabs += fabs(x);
        ssq += x2;
    }
    double leftstd = nl ? sqrt(sl / (double)nl) : NAN;
    double rightstd = nr ? sqrt(sr / (double)nr) : NAN;
    double gh = leftstd / rightstd;
    double mabs = sabs / (double)n, msq = ssq / (double)n;
    double rhat = (mabs * mabs) / msq;
    double rhatnorm = (rhat * (pow(gh, 3) + 1) * (gh + 1)) / pow(pow(gh, 2) + 1, 2);
    /* argmin of (r_gam - rhatnorm)^2, the first one on ties. On the
     * increasing table the minimum is next to the first entry >= rhatnorm,
     * so only a window around it is scanned (same result as the full scan,
     * which is kept for a table that would not be increasing). */
    int lo = 0, hi = NLCL_NIQE_GAMMA_N;
    if (isnan(rhatnorm) || !increasing_table(r_gam)) {
        hi = NLCL_NIQE_GAMMA_N;
    } else {
        int a = 0, b = NLCL_NIQE_GAMMA_N; /* first k with r_gam[k] >= rhatnorm */
        while (a < b) {
            int m = a + (b - a) / 2;
            if (r_gam[m] < rhatnorm)
                a = m + 1;
            else
                b = m;
        }
        lo = NLCL_MAX(0, a - 2);
        hi = NLCL_MIN(NLCL_NIQE_GAMMA_N, a + 2);
    }
    int best = lo;
    double bestv = (r_gam[lo] - rhatnorm) * (r_gam[lo] - rhatnorm);
    for (int k = lo + 1; k < hi; k++) {
        double e = (r_gam[k] - rhatnorm) * (r_gam[k] - rhatnorm);
        if (e < bestv) {
            bestv = e;
            best = k;
        }
    }
    double a = gam[best];
    double c = sqrt(tgamma(1.0 / a) / tgamma(3.0 / a));
    *alpha = a;
    *betal = leftstd * c;
    *betar = rightstd * c;
}

/* computefeature.m: [alpha, (betal+betar)/2] of the coefficients, then for
 * circshift(block, [1 0]) etc. in the order [0 1], [1 0], [1 1], [1 -1]
 * (shifted(i, j) = block(i - dr, j - dc), circularly) the AGGD of the
 * products block .* shifted: [alpha, eta, betal, betar] with
 * eta = (betar - betal) Gamma(2/alpha) / Gamma(1/alpha). */
void nlcl_niqe_block_features(const double *block, int bh, int bw, const double *gam,
                              const double *r_gam, double *feat, double *scratch) {
    static const int shifts[4][2] = {{0, 1}, {1, 0}, {1, 1}, {1, -1}};
    size_t n = (size_t)bh * (size_t)bw;
    double alpha, bl, br;
    nlcl_aggd_fit(block, n, gam, r_gam, &alpha, &bl, &br);
    feat[0] = alpha;
    feat[1] = (bl + br) / 2;
    for (int s = 0; s < 4; s++) {
        int dr = shifts[s][0], dc = shifts[s][1];
        for (int i = 0; i < bh; i++) {
            int si = ((i - dr) % bh + bh) % bh;
            const double *row = block + (size_t)i * bw, *srow = block + (size_t)si * bw;
            double *o = scratch + (size_t)i * bw;
            /* shifted(i, j) = block(si, j - dc), columns wrapping around */
            for (int j = 0; j < bw; j++) {
                int sj = j - dc;
                sj = sj < 0 ? sj + bw : sj >= bw ? sj - bw : sj;
                o[j] = row[j] * srow[sj];
            }
        }
        nlcl_aggd_fit(scratch, n, gam, r_gam, &alpha, &bl, &br);
        feat[2 + 4 * s] = alpha;
        feat[3 + 4 * s] = (br - bl) * (tgamma(2.0 / alpha) / tgamma(1.0 / alpha));
        feat[4 + 4 * s] = bl;
        feat[5 + 4 * s] = br;
    }
}

/* ---- MSCN ------------------------------------------------------------------
 * structdis = (im - mu) / (sigma + 1) with mu = imfilter(im, w, 'replicate'),
 * sigma = sqrt(|imfilter(im.^2, w, 'replicate') - mu.^2|), w the normalised
 * fspecial('gaussian', 7, 7/6). Written with the differences to the centre
 * pixel c: mu = c + S1 and E[x^2] - mu^2 = S2 - S1^2, where
 *   S1 = sum_r w_r D_r, S2 = sum_r w_r Q_r,
 * D_r, Q_r = sums of (x - c) and (x - c)^2 over the neighbours at squared
 * distance r (the window depends on r only). For 8-bit data D_r and Q_r are
 * exact integers, so S1 = 0 exactly iff it is 0 analytically (the w_r are
 * linearly independent over the integers): flat or point-symmetric
 * neighbourhoods give coefficients of exactly 0 instead of rounding noise
 * whose sign would decide which side of the AGGD fit they count for. */
#define MSCN_CHUNK 128

static const int mscn_r2[9] = {1, 2, 4, 5, 8, 9, 10, 13, 18};

static int mscn_class(int r2) {
    for (int c = 0; c < 9; c++)
        if (mscn_r2[c] == r2) return c;
    return -1;
}

nlcl_status nlcl_niqe_mscn(const double *im, int h, int w, double *out) {
    const double sigma = 7.0 / 6.0;
    double z = 0, wr[9];
    for (int i = -3; i <= 3; i++)
        for (int j = -3; j <= 3; j++) z += exp(-(double)(i * i + j * j) / (2 * sigma * sigma));
    for (int c = 0; c < 9; c++) wr[c] = exp(-(double)mscn_r2[c] / (2 * sigma * sigma)) / z;
    int pw = w + 6, ph = h + 6;
    double *pad = nlcl_alloc((size_t)pw * (size_t)ph * sizeof(double), "mscn");
    if (!pad) return NLCL_ERR_NOMEM;
    for (int y = 0; y < ph; y++) {
        int sy = NLCL_MIN(h - 1, NLCL_MAX(0, y - 3));
        for (int x = 0; x < pw; x++) {
            int sx = NLCL_MIN(w - 1, NLCL_MAX(0, x - 3));
            pad[(size_t)y * pw + x] = im[(size_t)sy * w + sx];
        }
    }
    /* rows in parallel; columns in chunks of MSCN_CHUNK so that the 18
     * accumulator rows stay in the L1 cache */
#pragma omp parallel for schedule(static) if (NLCL_OMP_IF((size_t)h * (size_t)w))
    for (int y = 0; y < h; y++) {
        double D[9][MSCN_CHUNK], Q[9][MSCN_CHUNK];
        for (int x0 = 0; x0 < w; x0 += MSCN_CHUNK) {
            int n = NLCL_MIN(MSCN_CHUNK, w - x0);
            memset(D, 0, sizeof D);
            memset(Q, 0, sizeof Q);
            const double *ctr = pad + (size_t)(y + 3) * pw + 3 + x0;
            for (int dy = -3; dy <= 3; dy++)
                for (int dx = -3; dx <= 3; dx++) {
                    if (!dy && !dx) continue;
                    int c = mscn_class(dy * dy + dx * dx);
                    double *Dc = D[c], *Qc = Q[c];
                    const double *nb = ctr + (ptrdiff_t)dy * pw + dx;
#pragma omp simd
                    for (int x = 0; x < n; x++) {
                        double v = nb[x] - ctr[x];
                        Dc[x] += v;
                        Qc[x] += v * v;
                    }
                }
            double *o = out + (size_t)y * w + x0;
            for (int x = 0; x < n; x++) {
                double s1 = 0, s2 = 0;
                for (int c = 0; c < 9; c++) {
                    s1 += wr[c] * D[c][x];
                    s2 += wr[c] * Q[c][x];
                }
                o[x] = -s1 / (sqrt(fabs(s2 - s1 * s1)) + 1);
            }
        }
    }
    nlcl_free(pad);
    return NLCL_OK;
}

/* Features of every (bs x bs) block of the (nbr*bs, nbc*bs) MSCN plane into
 * rows of F (nbr*nbc, NIQE_DIM) at column offset col; blocks in MATLAB's
 * column-major order (blkproc + reshape). */
static nlcl_status scale_features(const double *mscn, int nbr, int nbc, int bs, double *F,
                                  int col) {
    int W = nbc * bs;
    int nblocks = nbr * nbc, failed = 0;
#pragma omp parallel if (NLCL_OMP_IF((size_t)nblocks * (size_t)bs * (size_t)bs * 8))
    {
        double *buf = nlcl_alloc(2 * (size_t)bs * (size_t)bs * sizeof(double), "niqe block");
        if (!buf) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int b = 0; b < nblocks; b++) {
            if (!buf) continue;
            int bj = b / nbr, bi = b % nbr; /* column-major block order */
            for (int i = 0; i < bs; i++)
                memcpy(buf + (size_t)i * bs, mscn + ((size_t)bi * bs + i) * W + (size_t)bj * bs,
                       (size_t)bs * sizeof(double));
            nlcl_niqe_block_features(buf, bs, bs, grid_gam, grid_r,
                                     F + (size_t)b * NIQE_DIM + col, buf + (size_t)bs * bs);
        }
        nlcl_free(buf);
    }
    if (failed) return nlcl_error_set(NLCL_ERR_NOMEM, "out of memory");
    return NLCL_OK;
}

/* nanmean / nancov of MATLAB (Statistics Toolbox): column means ignoring
 * NaN; covariance over the rows without any NaN, about their own mean,
 * normalised by N-1 (by N when N = 1). Returns the number of complete rows. */
static int nan_mean_cov(const double *F, int rows, double *mu, double *cov) {
    for (int j = 0; j < NIQE_DIM; j++) {
        double s = 0;
        int cnt = 0;
        for (int r = 0; r < rows; r++) {
            double v = F[(size_t)r * NIQE_DIM + j];
            if (!isnan(v)) {
                s += v;
                cnt++;
            }
        }
        mu[j] = cnt ? s / cnt : NAN;
    }
    double mc[NIQE_DIM] = {0};
    int ncomplete = 0;
    for (int r = 0; r < rows; r++) {
        const double *x = F + (size_t)r * NIQE_DIM;
        int ok = 1;
        for (int j = 0; j < NIQE_DIM; j++) ok &= !isnan(x[j]);
        if (!ok) continue;
        ncomplete++;
        for (int j = 0; j < NIQE_DIM; j++) mc[j] += x[j];
    }
    memset(cov, 0, sizeof(double) * NIQE_DIM * NIQE_DIM);
    if (!ncomplete) return 0;
    for (int j = 0; j < NIQE_DIM; j++) mc[j] /= ncomplete;
    for (int r = 0; r < rows; r++) {
        const double *x = F + (size_t)r * NIQE_DIM;
        int ok = 1;
        for (int j = 0; j < NIQE_DIM; j++) ok &= !isnan(x[j]);
        if (!ok) continue;
        for (int i = 0; i < NIQE_DIM; i++)
            for (int j = 0; j < NIQE_DIM; j++)
                cov[i * NIQE_DIM + j] += (x[i] - mc[i]) * (x[j] - mc[j]);
    }
    double norm = ncomplete > 1 ? ncomplete - 1 : 1;
    for (int i = 0; i < NIQE_DIM * NIQE_DIM; i++) cov[i] /= norm;
    return ncomplete;
}

nlcl_status nlcl_niqe(const nlcl_metric_image *img, const nlcl_niqe_opts *o, double *niqe) {
    NLCL_TRY(nlcl_metric_check_image(img, "image"));
    if (img->channels == 3 && o->channel != NLCL_METRIC_GRAY && o->channel != NLCL_METRIC_Y)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "needs one grey plane: use the gray or Y channel, not RGB");
    int B = o->block_size;
    if (B < 16 || B > 4096 || B % 2)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "block size %d must be even and in [16, 4096]", B);
    double *im = NULL;
    int nc, h, w;
    NLCL_TRY(nlcl_metric_planes(img, o->channel, o->round_luma, o->crop, &im, &nc, &h, &w));
    int nbr = h / B, nbc = w / B;
    if (nbr < 1 || nbc < 1) {
        nlcl_free(im);
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "image %dx%d (after a border crop of %d) is smaller than one "
                              "%dx%d block; NIQE needs at least %dx%d pixels",
                              w, h, o->crop, B, B, B + 2 * o->crop, B + 2 * o->crop);
    }
    pthread_once(&grid_once, grid_init);
    /* crop to whole blocks, top-left anchored (computequality.m) */
    int H = nbr * B, W = nbc * B, nblocks = nbr * nbc;
    size_t HW = (size_t)H * (size_t)W;
    double *buf = nlcl_alloc((2 * HW + HW / 4 + (size_t)nblocks * NIQE_DIM) * sizeof(double),
                             "niqe");
    if (!buf) {
        nlcl_free(im);
        return NLCL_ERR_NOMEM;
    }
    double *plane = buf, *mscn = buf + HW, *half = buf + 2 * HW, *F = half + HW / 4;
    for (int y = 0; y < H; y++) memcpy(plane + (size_t)y * W, im + (size_t)y * w, W * sizeof(double));
    nlcl_free(im);
    nlcl_status s = nlcl_niqe_mscn(plane, H, W, mscn);
    if (s == NLCL_OK) s = scale_features(mscn, nbr, nbc, B, F, 0);
    /* scale 2: imresize(im, 0.5) of the cropped image, blocks of B/2 */
    if (s == NLCL_OK) s = nlcl_imresize_bicubic(plane, H, W, 0.5, half);
    if (s == NLCL_OK) s = nlcl_niqe_mscn(half, H / 2, W / 2, mscn);
    if (s == NLCL_OK) s = scale_features(mscn, nbr, nbc, B / 2, F, NIQE_FEAT);
    double mu[NIQE_DIM], cov[NIQE_DIM * NIQE_DIM], pin[NIQE_DIM * NIQE_DIM];
    int ncomplete = 0;
    if (s == NLCL_OK) ncomplete = nan_mean_cov(F, nblocks, mu, cov);
    nlcl_free(buf);
    if (s != NLCL_OK) return s;
    int undefined = ncomplete == 0;
    for (int j = 0; j < NIQE_DIM; j++) undefined |= !isfinite(mu[j]);
    if (undefined)
        return nlcl_error_set(NLCL_ERR_INVALID_ARG,
                              "undefined for this image: no %dx%d block has a complete set "
                              "of features (flat image?)",
                              B, B);
    for (int i = 0; i < NIQE_DIM * NIQE_DIM; i++)
        cov[i] = (nlcl_niqe_pristine_cov[i] + cov[i]) / 2;
    NLCL_TRY(nlcl_pinv_symmetric(cov, NIQE_DIM, pin));
    double d[NIQE_DIM], q = 0;
    for (int j = 0; j < NIQE_DIM; j++) d[j] = nlcl_niqe_pristine_mu[j] - mu[j];
    for (int i = 0; i < NIQE_DIM; i++) {
        double t = 0;
        for (int j = 0; j < NIQE_DIM; j++) t += pin[i * NIQE_DIM + j] * d[j];
        q += d[i] * t;
    }
    if (!isfinite(q)) return nlcl_error_set(NLCL_ERR_INTERNAL, "non-finite distance");
    *niqe = sqrt(NLCL_MAX(q, 0.0));
    return NLCL_OK;
}
