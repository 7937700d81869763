/* The hardware floor for bench/engine.py: a plain multi-source Dijkstra in C.
 *
 * One search per category, categories in parallel with OpenMP (dynamic schedule), each
 * with its own distance array and a binary heap of (time, node) pairs with lazy
 * deletion (a node is pushed again when its time drops; stale pops are skipped).
 * Sources are graph nodes at time 0 (the bench snaps facilities and origins to their
 * nearest node with a KD-tree before calling this); links are relaxed while the new
 * time is at most `limit`. The answer per category is read at the origins' nodes.
 *
 * Built by bench/engine.py with: gcc -O3 -fopenmp -shared -fPIC floor.c -o floor.so
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double *key;
    int32_t *node;
    int64_t size, cap;
} heap_t;

static int heap_push(heap_t *h, double k, int32_t v) {
    if (h->size == h->cap) {
        int64_t cap = 2 * h->cap;
        double *key = realloc(h->key, cap * sizeof(double));
        if (!key) return -1;
        h->key = key;
        int32_t *node = realloc(h->node, cap * sizeof(int32_t));
        if (!node) return -1;
        h->node = node;
        h->cap = cap;
    }
    int64_t i = h->size++;
    while (i > 0) {
        int64_t p = (i - 1) >> 1;
        if (h->key[p] <= k) break;
        h->key[i] = h->key[p];
        h->node[i] = h->node[p];
        i = p;
    }
    h->key[i] = k;
    h->node[i] = v;
    return 0;
}

static void heap_pop(heap_t *h) {
    int64_t size = --h->size;
    if (size == 0) return;
    double k = h->key[size];
    int32_t v = h->node[size];
    int64_t i = 0;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= size) break;
        if (c + 1 < size && h->key[c + 1] < h->key[c]) c++;
        if (h->key[c] >= k) break;
        h->key[i] = h->key[c];
        h->node[i] = h->node[c];
        i = c;
    }
    h->key[i] = k;
    h->node[i] = v;
}

static int search(int64_t n, const int32_t *indptr, const int32_t *indices, const double *w,
                  const int32_t *src, int64_t n_src, double limit, double *dist, heap_t *h) {
    for (int64_t i = 0; i < n; i++) dist[i] = INFINITY;
    h->size = 0;
    for (int64_t k = 0; k < n_src; k++) {
        if (dist[src[k]] > 0.0) {
            dist[src[k]] = 0.0;
            if (heap_push(h, 0.0, src[k])) return -1;
        }
    }
    while (h->size > 0) {
        double du = h->key[0];
        int32_t u = h->node[0];
        heap_pop(h);
        if (du > dist[u]) continue;
        for (int32_t e = indptr[u]; e < indptr[u + 1]; e++) {
            int32_t v = indices[e];
            double nd = du + w[e];
            if (nd <= limit && nd < dist[v]) {
                dist[v] = nd;
                if (heap_push(h, nd, v)) return -1;
            }
        }
    }
    return 0;
}

/* out[c * n_orig + i]: time from origin node orig[i] to the nearest source of category c
 * (sources of category c: src[cat_ptr[c] .. cat_ptr[c + 1]]). Returns 0, or -1 when out
 * of memory. */
int floor_times(int64_t n, const int32_t *indptr, const int32_t *indices, const double *w,
                int32_t n_cat, const int64_t *cat_ptr, const int32_t *src, double limit,
                int64_t n_orig, const int32_t *orig, double *out, int32_t threads) {
    int failed = 0;
#pragma omp parallel num_threads(threads)
    {
        double *dist = malloc(n * sizeof(double));
        heap_t h = {malloc(n * sizeof(double)), malloc(n * sizeof(int32_t)), 0, n};
        if (!dist || !h.key || !h.node) failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (int32_t c = 0; c < n_cat; c++) {
            if (failed) continue;
            if (search(n, indptr, indices, w, src + cat_ptr[c], cat_ptr[c + 1] - cat_ptr[c],
                       limit, dist, &h)) {
                failed = 1;
                continue;
            }
            double *row = out + (int64_t)c * n_orig;
            for (int64_t i = 0; i < n_orig; i++) row[i] = dist[orig[i]];
        }
        free(dist);
        free(h.key);
        free(h.node);
    }
    return failed ? -1 : 0;
}
