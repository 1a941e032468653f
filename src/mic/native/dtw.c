/* Unconstrained dynamic time warping, bit for bit as tslearn computes it (its numba kernel
 * _njit_accumulated_matrix): the local cost of steps i and j is the squared Euclidean distance,
 * summed over channels in order; the cumulated cost of (i, j) is that cost plus the least of its
 * three predecessors (i-1, j), (i, j-1), (i-1, j-1); the distance is the square root of the last
 * cell. The build turns multiply-add fusion off for this file (mic.native.EXTRA_FLAGS), as
 * numba does not fuse, so every lane does tslearn's operations in tslearn's order.
 *
 * LANES pairs go through the table together, each with its own pair of series, one vector operation
 * per step for all of them: the cheapest predecessor makes each pair a chain of dependent additions,
 * and independent chains side by side keep the adder busy. Only two rows of the table are kept.
 * Series are [T, C] row-major doubles.
 */
#include <math.h>
#include <stdlib.h>

#include "lanes.h"

#define LANES 8

static inline double least(double a, double b, double c) {
    /* Python's min(a, b, c): the first of the smallest, as tslearn's kernel takes it */
    double m = b < a ? b : a;
    return c < m ? c : m;
}

/* The table's first row: only (0, 0) reachable, in every lane. */
static void first_row(double *row, long ty) {
    for (long j = 0; j <= ty; ++j)
        for (int l = 0; l < LANES; ++l) row[j * LANES + l] = j == 0 ? 0.0 : INFINITY;
}

/* Row i + 1 of the table in every lane from row i (up): xi [C, LANES] is step i of the x series, ys
 * [ty, C, LANES] the y series, both interleaved by lane; rows are [ty + 1, LANES]. */
static void table_row(const double *xi, const double *ys, const double *up, double *row, long ty, long c) {
    for (int l = 0; l < LANES; ++l) row[l] = INFINITY;
    for (long j = 0; j < ty; ++j) {
        const double *yj = ys + j * c * LANES;
        double dist[LANES] = {0.0};
        for (long d = 0; d < c; ++d)
            for (int l = 0; l < LANES; ++l) {
                const double diff = xi[d * LANES + l] - yj[d * LANES + l];
                dist[l] += diff * diff;
            }
        for (int l = 0; l < LANES; ++l)
            row[(j + 1) * LANES + l] = dist[l] + least(up[(j + 1) * LANES + l], row[j * LANES + l], up[j * LANES + l]);
    }
}

/* out[l] = DTW(x[l], y[l]) for l < n (n <= LANES); x series have tx steps, y series ty, both c channels.
 * work holds dtw_work_doubles(tx, ty, c) doubles: the series interleaved by lane ([T, C, LANES], so
 * every step below is one vector operation over the lanes) and two rows of the table. */
static long dtw_work_doubles(long tx, long ty, long c) { return ((tx + ty) * c + 2 * (ty + 1)) * LANES; }

static void dtw_lanes(const double *const *x, const double *const *y, int n, long tx, long ty, long c,
                      double *work, double *out) {
    double *xs = work, *ys = xs + tx * c * LANES, *prev = ys + ty * c * LANES, *cur = prev + (ty + 1) * LANES;
    for (int l = 0; l < LANES; ++l) {
        const int s = l < n ? l : 0; /* spare lanes repeat pair 0; their results are dropped */
        for (long k = 0; k < tx * c; ++k) xs[k * LANES + l] = x[s][k];
        for (long k = 0; k < ty * c; ++k) ys[k * LANES + l] = y[s][k];
    }
    first_row(prev, ty);
    for (long i = 0; i < tx; ++i) {
        table_row(xs + i * c * LANES, ys, prev, cur, ty, c);
        double *swap = prev;
        prev = cur;
        cur = swap;
    }
    for (int l = 0; l < n; ++l) out[l] = sqrt(prev[ty * LANES + l]);
}

/* out [na, nb]: DTW of every series of a [na, ta, c] to every series of b [nb, tb, c].
 * Returns 0, or -1 where the working rows could not be allocated. */
int mic_cdist_dtw(const double *a, long na, long ta, const double *b, long nb, long tb, long c, double *out) {
    double *work = malloc(sizeof(double) * dtw_work_doubles(ta, tb, c));
    if (!work) return -1;
    for (long i = 0; i < na; ++i) {
        for (long j = 0; j < nb; j += LANES) {
            const int n = nb - j < LANES ? (int)(nb - j) : LANES;
            const double *x[LANES], *y[LANES];
            for (int l = 0; l < n; ++l) {
                x[l] = a + i * ta * c;
                y[l] = b + (j + l) * tb * c;
            }
            dtw_lanes(x, y, n, ta, tb, c, work, out + i * nb + j);
        }
    }
    free(work);
    return 0;
}

/* out [n]: DTW of a[i] [ta, c] to b[i] [tb, c] for every i < n. Returns 0, or -1 (allocation). */
int mic_paired_dtw(const double *a, const double *b, long n, long ta, long tb, long c, double *out) {
    double *work = malloc(sizeof(double) * dtw_work_doubles(ta, tb, c));
    if (!work) return -1;
    for (long i = 0; i < n; i += LANES) {
        const int m = n - i < LANES ? (int)(n - i) : LANES;
        const double *x[LANES], *y[LANES];
        for (int l = 0; l < m; ++l) {
            x[l] = a + (i + l) * ta * c;
            y[l] = b + (i + l) * tb * c;
        }
        dtw_lanes(x, y, m, ta, tb, c, work, out + i);
    }
    free(work);
    return 0;
}

/* One step of DTW barycenter averaging (mic.dtw.dba_sums), as mic.data.prototypes.dtw_barycenter does it with
 * tslearn's dtw_path and numpy's add.at: for each member in order, every pair (i, j) of its warping
 * path to the barycenter, in path order, adds member step j to sums[i] and 1 to counts[i]. bary [ta, c],
 * members [m, tb, c]; sums [ta, c] and counts [ta] are added to. LANES members share the table
 * (as in dtw_lanes), each path is then found and added alone, in member order. Returns 0, or -1
 * where the working memory could not be allocated. */
int mic_dba_sums(const double *bary, long ta, const double *members, long m, long tb, long c, double *sums,
                 double *counts) {
    const long w = tb + 1;
    double *acc = malloc(sizeof(double) * ((ta + 1) * w + (ta + tb) * c) * LANES);
    long *path = malloc(sizeof(long) * 2 * (ta + tb));
    if (!acc || !path) {
        free(acc);
        free(path);
        return -1;
    }
    double *xs = acc + (ta + 1) * w * LANES, *ys = xs + ta * c * LANES;
    for (long k = 0; k < ta * c; ++k)
        for (int l = 0; l < LANES; ++l) xs[k * LANES + l] = bary[k]; /* the barycenter in every lane */
    for (long g = 0; g < m; g += LANES) {
        const int n = m - g < LANES ? (int)(m - g) : LANES;
        for (int l = 0; l < LANES; ++l) {
            const double *y = members + (g + (l < n ? l : 0)) * tb * c;
            for (long k = 0; k < tb * c; ++k) ys[k * LANES + l] = y[k];
        }
        first_row(acc, tb);
        for (long i = 0; i < ta; ++i)
            table_row(xs + i * c * LANES, ys, acc + i * w * LANES, acc + (i + 1) * w * LANES, tb, c);
        for (int l = 0; l < n; ++l) {
#define COST(i, j) acc[(((i) + 1) * w + (j) + 1) * LANES + l]
            long len = 1, i = ta - 1, j = tb - 1;
            path[0] = i;
            path[1] = j;
            while (i != 0 || j != 0) {
                if (i == 0) {
                    --j;
                } else if (j == 0) {
                    --i;
                } else {
                    const double step[3] = {COST(i - 1, j - 1), COST(i - 1, j), COST(i, j - 1)};
                    int best = 0;
                    if (step[1] < step[best]) best = 1;
                    if (step[2] < step[best]) best = 2;
                    i -= best != 2;
                    j -= best != 1;
                }
                path[2 * len] = i;
                path[2 * len + 1] = j;
                ++len;
            }
#undef COST
            const double *member = members + (g + l) * tb * c;
            for (long k = len - 1; k >= 0; --k) { /* found backwards: added forwards, as add.at does */
                const long pi = path[2 * k], pj = path[2 * k + 1];
                for (long d = 0; d < c; ++d) sums[pi * c + d] += member[pj * c + d];
                counts[pi] += 1.0;
            }
        }
    }
    free(acc);
    free(path);
    return 0;
}
