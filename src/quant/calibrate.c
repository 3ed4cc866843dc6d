/* calibrate.c - the calibration engine: the float TFLite graph runs on the
 * user's samples with our own reference kernels (src/ref), and every float
 * tensor the run computes is observed.
 *
 * minmax keeps the running global min/max over all elements of all samples
 * (TF's calibration_logger).  percentile and mse also fill one histogram per
 * tensor in the same single pass: it starts on the first sample's range
 * and, when a later sample falls outside, widens by a power of two so old
 * bins merge exactly (at most 2x coarser than a histogram built on the
 * final range, without a second pass over the samples).  The range is
 * chosen from the histogram at the end (calib_hist_range).
 *
 * Samples come in the ONNX layout (calib_data.h); a graph input stores the
 * ONNX value transposed by its io_perm, so each sample is transposed into
 * the input tensor's physical layout before the run.  NaNs produced by the
 * float model are ignored (as TF does) and reported once.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant/quant_impl.h"
#include "ref/ref.h"

#define NBINS 2048
/* Per-channel input means (bias correction) settle long before this many
 * samples; later samples skip that pass. */
#define MEAN_SAMPLES 32

typedef struct Hist {
  double lo, w;      /* bin k covers [lo + k*w, lo + (k+1)*w) */
  double *bins;      /* NBINS counts */
} Hist;

typedef struct Stat {
  float min, max;
  bool seen;
  int64_t nans;
  Hist *hist;
  int nch;           /* > 0: accumulate per-channel sums (bias correction) */
  double *sum;
  int64_t rows;
} Stat;

typedef struct Calib {
  Ctx *cx;
  Graph *g;
  Stat *st;          /* per value id */
  bool histograms;
  bool oom;
  float *tmp;        /* per-channel partial sums of one tensor */
  uint32_t *hscratch; /* 4 x NBINS counters of one tensor */
  int run;           /* samples run so far */
} Calib;

/* ---- observation ------------------------------------------------------ */

/* The two loops below see every element of every tensor of every sample,
 * so they are written with GCC vector types (eight floats, SSE pairs on
 * the baseline ISA) and, on x86-64, also compiled for AVX2 and picked at
 * load time (target_clones), like the reference kernels' hot loops. */
typedef float vf8 __attribute__((vector_size(32)));
typedef int32_t vi8 __attribute__((vector_size(32)));

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define HOT_LOOP __attribute__((target_clones("avx2", "default")))
#else
#define HOT_LOOP
#endif

#define VSEL(m, a, b) ((vf8)(((vi8)(a) & (m)) | ((vi8)(b) & ~(m))))

/* min/max of x ignoring NaN (a comparison with NaN is false, so a NaN
 * never wins); *bad is set when x holds a NaN or an infinity (x * 0 is
 * then NaN), which the caller counts with a second look. */
HOT_LOOP static void minmax(const float *x, size_t n, float *lo, float *hi,
                            bool *bad) {
  /* four independent accumulators: the loop is bound by the latency of
   * each chain otherwise */
  vf8 mn[4], mx[4];
  vi8 nan = {0};
  for (int j = 0; j < 4; j++)
    for (int k = 0; k < 8; k++) {
      mn[j][k] = INFINITY;
      mx[j][k] = -INFINITY;
    }
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int j = 0; j < 4; j++) {
      vf8 v;
      memcpy(&v, x + i + 8 * j, sizeof v);
      mn[j] = VSEL(v < mn[j], v, mn[j]);
      mx[j] = VSEL(v > mx[j], v, mx[j]);
      nan |= (v - v) != (v - v); /* NaN or infinity */
    }
  float a = INFINITY, b = -INFINITY;
  bool odd = false;
  for (; i < n; i++) {
    float v = x[i];
    a = v < a ? v : a;
    b = v > b ? v : b;
    odd = odd || (v - v) != (v - v);
  }
  for (int j = 0; j < 4; j++)
    for (int k = 0; k < 8; k++) {
      a = mn[j][k] < a ? mn[j][k] : a;
      b = mx[j][k] > b ? mx[j][k] : b;
      odd = odd || nan[k];
    }
  *lo = a;
  *hi = b;
  *bad = odd;
}

static int64_t count_nan(const float *x, size_t n) {
  int64_t c = 0;
  for (size_t i = 0; i < n; i++)
    c += x[i] != x[i];
  return c;
}

/* Widens h to cover [lo, hi]: bin width times 2^k, origin moved left by a
 * whole number of old bins, so each old bin falls into exactly one new. */
static void hist_cover(Hist *h, double lo, double hi) {
  double end = h->lo + NBINS * h->w;
  if (lo >= h->lo && hi < end)
    return;
  int64_t m = lo < h->lo ? (int64_t)ceil((h->lo - lo) / h->w) : 0;
  int64_t f = 1;
  while (h->lo - (double)m * h->w + (double)NBINS * (double)f * h->w <= hi)
    f *= 2;
  /* the origin shift may need more bins when the range grew on the left */
  while ((double)m + NBINS > (double)NBINS * (double)f) /* keep old bins in */
    f *= 2;
  double nb[NBINS];
  memset(nb, 0, sizeof nb);
  for (int64_t k = 0; k < NBINS; k++)
    if (h->bins[k] != 0)
      nb[(k + m) / f] += h->bins[k];
  memcpy(h->bins, nb, sizeof nb);
  h->lo -= (double)m * h->w;
  h->w *= (double)f;
}

/* Counts x into four interleaved uint32 histograms (consecutive elements
 * often hit the same bin - the zeros after a ReLU - and one counter would
 * serialize on it).  x holds no NaN (the caller checked). */
HOT_LOOP static void hist_count(const float *x, size_t n, float base,
                                float inv, uint32_t *h4) {
  const float top = NBINS - 1;
  size_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; j++) {
      float t = (x[i + j] - base) * inv;
      t = t < 0 ? 0 : t > top ? top : t;
      h4[j * NBINS + (int32_t)t]++;
    }
  for (; i < n; i++) {
    float t = (x[i] - base) * inv;
    t = t < 0 ? 0 : t > top ? top : t;
    h4[(int32_t)t]++;
  }
}

static void hist_add(Calib *c, Hist *h, const float *x, size_t n, float lo,
                     float hi, bool nan) {
  if (!h->bins)
    return;
  if (h->w == 0) {
    double span = (double)hi - (double)lo;
    if (!(span > 0))
      span = fmax(fabs((double)lo), 1e-6) * 1e-3;
    h->lo = lo;
    /* a little headroom so the top value falls inside */
    h->w = span * (1 + 1e-6) / NBINS;
  }
  hist_cover(h, lo, hi);
  double *bins = h->bins;
  if (nan) { /* rare: the slow path skips NaNs one by one */
    double inv = 1.0 / h->w;
    for (size_t i = 0; i < n; i++) {
      double v = x[i];
      if (v != v)
        continue;
      int64_t k = (int64_t)((v - h->lo) * inv);
      bins[k < 0 ? 0 : k >= NBINS ? NBINS - 1 : k] += 1;
    }
    return;
  }
  uint32_t *h4 = c->hscratch;
  memset(h4, 0, sizeof(uint32_t) * 4 * NBINS);
  /* counts per call stay far below 2^32: one tensor of one sample */
  hist_count(x, n, (float)h->lo, (float)(1.0 / h->w), h4);
  for (int k = 0; k < NBINS; k++)
    bins[k] += (double)h4[k] + h4[NBINS + k] + h4[2 * NBINS + k] +
               h4[3 * NBINS + k];
}

/* Sums of x[r * nch + k] over r, per k: one sample is summed in float
 * (c->tmp) and added to the double totals.  A NaN makes the mean NaN,
 * and finish_means then drops it. */
HOT_LOOP static void add_rows(float *acc, const float *x, size_t rows,
                              size_t nch) {
  for (size_t r = 0; r < rows; r++) {
    const float *row = x + r * nch;
    size_t k = 0;
    for (; k + 8 <= nch; k += 8) {
      vf8 a, v;
      memcpy(&a, acc + k, sizeof a);
      memcpy(&v, row + k, sizeof v);
      a += v;
      memcpy(acc + k, &a, sizeof a);
    }
    for (; k < nch; k++)
      acc[k] += row[k];
  }
}

static void channel_sums(Calib *c, Stat *s, const float *x, size_t n) {
  size_t nch = (size_t)s->nch, rows = n / nch;
  memset(c->tmp, 0, sizeof(float) * nch);
  add_rows(c->tmp, x, rows, nch);
  for (size_t k = 0; k < nch; k++)
    s->sum[k] += c->tmp[k];
  s->rows += (int64_t)rows;
}

static void observe(void *user, const Value *v, const float *data, size_t n) {
  Calib *c = user;
  Stat *s = &c->st[v->id];
  float lo, hi;
  bool bad;
  if (n == 0)
    return;
  if (s->sum && c->run < MEAN_SAMPLES && n % (size_t)s->nch == 0)
    channel_sums(c, s, data, n);
  minmax(data, n, &lo, &hi, &bad);
  if (bad)
    s->nans += count_nan(data, n);
  if (!(lo <= hi)) /* every element NaN */
    return;
  if (!s->seen) {
    s->min = lo;
    s->max = hi;
    s->seen = true;
  } else {
    s->min = lo < s->min ? lo : s->min;
    s->max = hi > s->max ? hi : s->max;
  }
  if (!c->histograms || c->oom)
    return;
  if (!s->hist) {
    s->hist = arena_alloc(c->cx->arena, sizeof(Hist), 8);
    double *bins = arena_alloc(c->cx->arena, sizeof(double) * NBINS, 64);
    if (!s->hist || !bins) {
      c->oom = true;
      return;
    }
    s->hist->bins = bins;
  }
  hist_add(c, s->hist, data, n, lo, hi, bad);
}

/* ---- choosing a range from a histogram -------------------------------- */

/* Fraction of the mass left out at each end by percentile. */
#define PERCENTILE_TAIL 1e-4

/* Expected squared error of quantizing the histogram on [a, b] with
 * `levels` steps: rounding noise step^2/12 inside, clipping distance
 * squared outside (bin mass at bin centres; prefix sums make it O(1)). */
typedef struct Prefix {
  double *n, *s1, *s2; /* sums over bins [0, k) of count, count*c, count*c^2 */
} Prefix;

static double clip_err(const Prefix *p, int from, int to, double edge) {
  double n = p->n[to] - p->n[from], s1 = p->s1[to] - p->s1[from],
         s2 = p->s2[to] - p->s2[from];
  return edge * edge * n - 2 * edge * s1 + s2;
}

static double range_err(const Prefix *p, int nbins, double lo, double w,
                        int i, int j, int levels) {
  double a = lo + i * w, b = lo + j * w;
  double step = (b - a) / levels;
  double inside = p->n[j] - p->n[i];
  return clip_err(p, 0, i, a) + clip_err(p, j, nbins, b) +
         inside * step * step / 12.0;
}

void calib_hist_range(const double *bins, int nbins, double lo, double w,
                      o2l_calib_method m, int levels, bool symmetric,
                      float raw_min, float raw_max, float *out_min,
                      float *out_max) {
  *out_min = raw_min;
  *out_max = raw_max;
  double total = 0;
  for (int k = 0; k < nbins; k++)
    total += bins[k];
  if (!(total > 0) || m == O2L_CALIB_MINMAX)
    return;
  if (m == O2L_CALIB_PERCENTILE) {
    /* the bin edges where the tails' mass reaches the threshold */
    double cut = total * PERCENTILE_TAIL, acc = 0;
    int i = 0, j = nbins;
    while (i < nbins && acc + bins[i] <= cut)
      acc += bins[i++];
    acc = 0;
    while (j > i && acc + bins[j - 1] <= cut)
      acc += bins[--j];
    double a = lo + i * w, b = lo + j * w;
    if (symmetric) {
      double t = fmax(fabs(a), fabs(b));
      a = -t;
      b = t;
    }
    *out_min = (float)fmax(a, raw_min);
    *out_max = (float)fmin(b, raw_max);
    return;
  }
  /* mse: search the clipping edges on a grid of bin edges */
  Prefix p;
  double *mem = xrealloc(NULL, sizeof(double) * 3 * (size_t)(nbins + 1));
  if (!mem)
    return; /* keep min/max: a worse range, not a failure */
  p.n = mem;
  p.s1 = mem + nbins + 1;
  p.s2 = mem + 2 * (nbins + 1);
  p.n[0] = p.s1[0] = p.s2[0] = 0;
  for (int k = 0; k < nbins; k++) {
    double c = lo + (k + 0.5) * w;
    p.n[k + 1] = p.n[k] + bins[k];
    p.s1[k + 1] = p.s1[k] + bins[k] * c;
    p.s2[k + 1] = p.s2[k] + bins[k] * c * c;
  }
  int step = nbins >= 256 ? nbins / 256 : 1;
  /* the range must contain 0: i's edge <= 0 <= j's edge */
  int zero = (int)floor(-lo / w);
  if (zero < 0)
    zero = 0;
  if (zero > nbins)
    zero = nbins;
  double best = INFINITY;
  int bi = 0, bj = nbins;
  if (symmetric) {
    for (int j = nbins; j > 0; j -= step) {
      double t = fmax(fabs(lo + j * w), 1e-12);
      /* error of [-t, t]: map the edges onto bins */
      int i = (int)floor((-t - lo) / w);
      if (i < 0)
        i = 0;
      double e = clip_err(&p, 0, i, -t) + clip_err(&p, j, nbins, t) +
                 (p.n[j] - p.n[i]) * (2 * t / levels) * (2 * t / levels) / 12;
      if (e < best) {
        best = e;
        bi = i;
        bj = j;
      }
    }
  } else {
    for (int i = 0; i <= zero; i += step)
      for (int j = nbins; j >= zero && j > i; j -= step) {
        double e = range_err(&p, nbins, lo, w, i, j, levels);
        if (e < best) {
          best = e;
          bi = i;
          bj = j;
        }
      }
  }
  xfree(mem);
  double a = lo + bi * w, b = lo + bj * w;
  if (symmetric) {
    double t = fabs(b);
    a = -t;
    b = t;
  }
  *out_min = (float)fmax(a, raw_min);
  *out_max = (float)fmin(b, raw_max);
}

/* ---- feeding samples -------------------------------------------------- */

typedef struct Feed {
  CalibInput *in;    /* per graph input: its ONNX shape */
  float **buf;       /* physical input buffers (the runner's input pointers) */
  int batch;         /* samples per run (the ONNX batch dimension) */
} Feed;

/* ONNX dims of a TFLite graph input: physical[k] = onnx[io_perm[k]]. */
static void onnx_dims(const Value *v, int64_t *od) {
  for (int k = 0; k < v->rank; k++)
    od[v->has_io_perm ? v->io_perm[k] : k] = v->dims[k];
}

/* dst (physical, one batch slice) = transpose of src (ONNX order, one
 * batch slice) by perm; converted to the input's dtype. */
static void place_sample(const Value *v, const int64_t *od, const float *src,
                         void *dst) {
  int r = v->rank;
  int64_t sst[O2L_MAX_RANK], pst[O2L_MAX_RANK], pd[O2L_MAX_RANK];
  int64_t acc = 1;
  for (int k = r - 1; k >= 0; k--) {
    sst[k] = acc;
    acc *= k == 0 ? 1 : od[k];
  }
  for (int k = 0; k < r; k++) {
    int a = v->has_io_perm ? v->io_perm[k] : k;
    pd[k] = a == 0 ? 1 : od[a];
    pst[k] = sst[a];
  }
  int64_t n = 1;
  for (int k = 0; k < r; k++)
    n *= pd[k];
  int64_t idx[O2L_MAX_RANK] = {0};
  int64_t off = 0;
  for (int64_t i = 0; i < n; i++) {
    store_from_f64(dst, v->dtype, (size_t)i, src[off]);
    for (int k = r - 1; k >= 0; k--) {
      if (++idx[k] < pd[k]) {
        off += pst[k];
        break;
      }
      off -= pst[k] * (pd[k] - 1);
      idx[k] = 0;
    }
  }
}

static Status setup_feed(Calib *c, Feed *f) {
  Graph *g = c->g;
  Ctx *cx = c->cx;
  f->in = arena_alloc(cx->arena, sizeof(CalibInput) * (size_t)(g->ninputs + 1), 8);
  f->buf = arena_alloc(cx->arena, sizeof(float *) * (size_t)(g->ninputs + 1), 8);
  if (!f->in || !f->buf)
    return ctx_oom(cx, "calibration inputs");
  f->batch = 1;
  for (int i = 0; i < g->ninputs; i++) {
    const Value *v = g->inputs[i];
    CalibInput *ci = &f->in[i];
    ci->name = v->name;
    ci->rank = v->rank;
    onnx_dims(v, ci->dims);
    int64_t b = v->rank > 0 ? ci->dims[0] : 1;
    if (b > 1 && v->has_io_perm && v->io_perm[0] != 0)
      return ctx_err(cx, O2L_ERR_UNSUPPORTED,
                     "calibration: input '%s' has batch %lld and a layout "
                     "that moves the batch axis; use batch 1",
                     v->name, (long long)b);
    if (i > 0 && b != f->batch)
      return ctx_err(cx, O2L_ERR_UNSUPPORTED,
                     "calibration: inputs '%s' and '%s' have different batch "
                     "sizes", g->inputs[0]->name, v->name);
    f->batch = (int)(b > 0 ? b : 1);
    int64_t numel = value_numel(v);
    size_t es = dtype_size(v->dtype);
    if (numel < 0 || es == 0)
      return ctx_err(cx, O2L_ERR_UNSUPPORTED,
                     "calibration: input '%s' has no static shape", v->name);
    f->buf[i] = arena_alloc(cx->arena, (size_t)numel * es + 1, 64);
    if (!f->buf[i])
      return ctx_oom(cx, "calibration inputs");
  }
  return O2L_OK;
}

/* Fills the inputs with samples first .. first + batch - 1 (cyclic). */
static void fill_inputs(Calib *c, Feed *f, const CalibSet *set, int first) {
  Graph *g = c->g;
  for (int i = 0; i < g->ninputs; i++) {
    const Value *v = g->inputs[i];
    int64_t per = set->sample_numel[i];
    size_t es = dtype_size(v->dtype);
    for (int b = 0; b < f->batch; b++) {
      int s = (first + b) % set->nsamples;
      place_sample(v, f->in[i].dims, set->data[i] + (size_t)s * (size_t)per,
                   (char *)f->buf[i] + (size_t)b * (size_t)per * es);
    }
  }
}

/* ---- the engine --------------------------------------------------------- */

static Status run_samples(Calib *c, RefRunner *r, Feed *f, const CalibSet *set) {
  int runs = (set->nsamples + f->batch - 1) / f->batch;
  int shown = -1;
  double t0 = now_seconds();
  for (int k = 0; k < runs; k++) {
    fill_inputs(c, f, set, k * f->batch);
    TRY(ref_run(r, (const float *const *)f->buf));
    c->run += f->batch;
    if (c->oom)
      return ctx_oom(c->cx, "calibration histograms");
    int pct = (int)(100.0 * (k + 1) / runs);
    if (pct != shown) {
      ctx_progress(c->cx, "calibrating", (double)(k + 1) / runs);
      shown = pct;
    }
  }
  double dt = now_seconds() - t0;
  ctx_report(c->cx, "calibrated on %d sample(s) in %.2f s (%.1f samples/s)",
             set->nsamples, dt, dt > 0 ? set->nsamples / dt : 0.0);
  return O2L_OK;
}

/* Asks for per-channel means of the activation inputs of CONV_2D and
 * DEPTHWISE_CONV_2D (over their channels) and FULLY_CONNECTED (over the
 * weight rows' length: FC reads its input as rows of that many). */
static Status want_means(Calib *c) {
  Graph *g = c->g;
  int64_t widest = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    if (n->dead || n->nin < 2 || !n->in[0] || !n->in[1] ||
        n->in[0]->dtype != DT_F32 || value_is_const(n->in[0]) ||
        !value_is_const(n->in[1]) || n->in[1]->rank < 2)
      continue;
    const Value *x = n->in[0], *w = n->in[1];
    int64_t k;
    if (n->op == TFL_CONV_2D || n->op == TFL_DEPTHWISE_CONV_2D)
      k = x->dims[x->rank - 1];
    else if (n->op == TFL_FULLY_CONNECTED)
      k = w->dims[w->rank - 1];
    else
      continue;
    Stat *s = &c->st[x->id];
    if (s->sum || k <= 0 || k > (1 << 24) || value_numel(x) % k != 0)
      continue;
    s->sum = arena_alloc(c->cx->arena, sizeof(double) * (size_t)k, 16);
    if (!s->sum)
      return ctx_oom(c->cx, "calibration means");
    s->nch = (int)k;
    widest = k > widest ? k : widest;
  }
  if (widest && !(c->tmp = arena_alloc(c->cx->arena, sizeof(float) * (size_t)widest, 64)))
    return ctx_oom(c->cx, "calibration means");
  return O2L_OK;
}

static void finish_means(Calib *c, int i, CalibRange *r) {
  const Stat *s = &c->st[i];
  if (!s->sum || s->rows <= 0)
    return;
  float *m = arena_alloc(c->cx->arena, sizeof(float) * (size_t)s->nch, 16);
  if (!m)
    return; /* no bias correction for this layer: not an error */
  for (int k = 0; k < s->nch; k++) {
    m[k] = (float)(s->sum[k] / (double)s->rows);
    if (!isfinite(m[k]))
      return; /* NaN seen: no bias correction from these means */
  }
  r->mean = m;
  r->nch = s->nch;
}

static void finish_ranges(Calib *c, int act_bits, CalibRange *ranges) {
  Graph *g = c->g;
  o2l_calib_method m = c->cx->opt ? c->cx->opt->calib_method : O2L_CALIB_MINMAX;
  int levels = act_bits == 16 ? 65535 : 255;
  int nan_tensors = 0;
  const char *nan_name = NULL;
  for (int i = 0; i < g->nvalues; i++) {
    const Stat *s = &c->st[i];
    memset(&ranges[i], 0, sizeof ranges[i]);
    if (s->nans) {
      nan_tensors++;
      nan_name = nan_name ? nan_name : g->values[i]->name;
    }
    if (!s->seen)
      continue;
    CalibRange *r = &ranges[i];
    finish_means(c, i, r);
    r->set = true;
    r->raw_min = r->min = s->min;
    r->raw_max = r->max = s->max;
    /* Graph inputs keep their full range: clipping what the user feeds
     * in saves little and surprises. */
    if (s->hist && !g->values[i]->is_input)
      calib_hist_range(s->hist->bins, NBINS, s->hist->lo, s->hist->w, m,
                       levels, act_bits == 16, s->min, s->max, &r->min,
                       &r->max);
  }
  if (nan_tensors)
    ctx_notice(c->cx, "calibration: %d tensor(s) (first: '%s') computed NaN "
               "on the calibration data; NaNs were ignored in their ranges",
               nan_tensors, nan_name);
}

Status calibrate_graph(Ctx *cx, Graph *g, int act_bits, CalibRange *ranges) {
  Calib c = {cx, g, NULL, false, false, NULL, NULL, 0};
  const o2l_options *opt = cx->opt;
  c.histograms = opt && opt->calib_method != O2L_CALIB_MINMAX;
  Feed f = {0};
  TRY(setup_feed(&c, &f));
  CalibSet set;
  memset(&set, 0, sizeof set);
  TRY(calib_load(cx, opt, f.in, g->ninputs, &set));
  if (set.nsamples <= 0 || set.ninputs != g->ninputs)
    return ctx_err(cx, O2L_ERR_CALIB, "calibration data '%s' gave no samples",
                   opt->calib_path);
  c.st = arena_alloc(cx->arena, sizeof(Stat) * (size_t)(g->nvalues + 1), 8);
  if (c.histograms)
    c.hscratch = arena_alloc(cx->arena, sizeof(uint32_t) * 4 * NBINS, 64);
  if (!c.st || (c.histograms && !c.hscratch))
    return ctx_oom(cx, "calibration statistics");
  TRY(want_means(&c));
  RefRunner *r = NULL;
  TRY(ref_prepare(cx, g, &r));
  ref_set_observer(r, observe, &c);
  Status st = run_samples(&c, r, &f, &set);
  ref_free(r);
  TRY(st);
  finish_ranges(&c, act_bits, ranges);
  return O2L_OK;
}
