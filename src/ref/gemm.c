/* gemm.c - the one SGEMM behind CONV_2D, TRANSPOSE_CONV, FULLY_CONNECTED
 * and BATCH_MATMUL: C = clamp(A * B + bias) with A row-major as the caller
 * has it (an NHWC activation is already [pixels, channels]) and B packed
 * once at prepare time into panels of REF_NR columns.
 *
 * Blocking: rows of A in blocks of MC (the block stays in L2 while every
 * panel of B passes over it), K in blocks of KC (a panel slice stays in
 * L1 while the row tiles pass), and an MR x REF_NR register tile inside
 * (gemm_ukr.h).  MR depends on
 * the ISA picked at run time; the packed layout does not, so one packing
 * serves every ISA.
 */
#include "ref/ref_impl.h"

enum {
  KC = 256,           /* K block: a 32 KB panel slice, kept in L1 */
  A_BLOCK = 96 << 10, /* bytes of A per row block */
};

/* ---- ISA selection ------------------------------------------------------ */

static int isa_limit = -1;

void ref_limit_isa(int isa) { isa_limit = isa; }

static RefIsa isa_detect(void) {
#ifdef REF_X86_ISA
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    return REF_ISA_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return REF_ISA_AVX2;
#endif
  return REF_ISA_GENERIC;
}

RefIsa ref_isa(void) {
  RefIsa isa = isa_detect();
  return isa_limit >= 0 && (int)isa > isa_limit ? (RefIsa)isa_limit : isa;
}

const char *ref_isa_name(void) {
  static const char *const names[] = {"generic", "avx2+fma", "avx512f"};
  return names[ref_isa()];
}

/* ---- micro-kernels ------------------------------------------------------- */

/* MR per ISA: chosen by measurement (bench/bench_ref.c); other shapes made
 * GCC vectorize the k loop instead of keeping the tile in registers. */
#define MR_GENERIC 2
#define MR_AVX2 3
#define MR_AVX512 8

#define UKR_NAME ukr_generic
#define UKR_MR MR_GENERIC
#define UKR_ATTR
#include "ref/gemm_ukr.h"
#define UKR_NAME ukr_generic_1
#define UKR_MR 1
#define UKR_ATTR
#include "ref/gemm_ukr.h"

#ifdef REF_X86_ISA
#define UKR_NAME ukr_avx2
#define UKR_MR MR_AVX2
#define UKR_ATTR REF_TARGET_AVX2
#include "ref/gemm_ukr.h"
#define UKR_NAME ukr_avx2_1
#define UKR_MR 1
#define UKR_ATTR REF_TARGET_AVX2
#include "ref/gemm_ukr.h"
#define UKR_NAME ukr_avx512
#define UKR_MR MR_AVX512
#define UKR_ATTR REF_TARGET_AVX512
#include "ref/gemm_ukr.h"
#define UKR_NAME ukr_avx512_1
#define UKR_MR 1
#define UKR_ATTR REF_TARGET_AVX512
#include "ref/gemm_ukr.h"
#endif

typedef void (*UkrFn)(int K, const float *restrict A, int64_t lda,
                      const float *restrict B, float *restrict C, int64_t ldc,
                      const float *restrict bias, float lo, float hi);

typedef struct Ukr {
  UkrFn full, one;
  int mr;
} Ukr;

static Ukr ukr_select(void) {
  switch (ref_isa()) {
#ifdef REF_X86_ISA
  case REF_ISA_AVX512: return (Ukr){ukr_avx512, ukr_avx512_1, MR_AVX512};
  case REF_ISA_AVX2: return (Ukr){ukr_avx2, ukr_avx2_1, MR_AVX2};
#endif
  default: return (Ukr){ukr_generic, ukr_generic_1, MR_GENERIC};
  }
}

/* ---- packing -------------------------------------------------------------- */

size_t ref_gemm_packed_floats(int K, int N) {
  size_t np = ((size_t)N + REF_NR - 1) / REF_NR;
  return np * (size_t)K * REF_NR;
}

size_t ref_gemm_bias_floats(int N) {
  return ((size_t)N + REF_NR - 1) / REF_NR * REF_NR;
}

void ref_gemm_pack_into(RefGemmB *b, float *panels, float *bias,
                        const float *w, int K, int N, int64_t sn, int64_t sk) {
  memset(bias, 0, ref_gemm_bias_floats(N) * sizeof(float));
  b->wt = NULL;
  b->K = K;
  b->N = N;
  b->npanels = (N + REF_NR - 1) / REF_NR;
  b->panels = panels;
  b->bias = bias;
  for (int p = 0; p < b->npanels; p++) {
    float *dst = panels + (size_t)p * (size_t)K * REF_NR;
    int n0 = p * REF_NR, nr = N - n0 < REF_NR ? N - n0 : REF_NR;
    for (int k = 0; k < K; k++) {
      float *d = dst + (size_t)k * REF_NR;
      const float *s = w + (int64_t)k * sk + (int64_t)n0 * sn;
      int j = 0;
      for (; j < nr; j++)
        d[j] = s[j * sn];
      for (; j < REF_NR; j++)
        d[j] = 0;
    }
  }
}

Status ref_gemm_pack(RefPrep *p, RefGemmB *b, const float *w, int K, int N,
                     int64_t sn, int64_t sk, const float *bias) {
  float *panels = ref_alloc(p, ref_gemm_packed_floats(K, N) * sizeof(float));
  float *pb = ref_alloc(p, ref_gemm_bias_floats(N) * sizeof(float));
  if (!panels || !pb)
    return p->cx->status;
  ref_gemm_pack_into(b, panels, pb, w, K, N, sn, sk);
  if (bias)
    memcpy(pb, bias, (size_t)N * sizeof(float));
  if (N <= REF_DOT_N && K >= 16) {
    if (!(b->wt = ref_alloc(p, (size_t)N * (size_t)K * sizeof(float))))
      return p->cx->status;
    for (int n = 0; n < N; n++)
      for (int k = 0; k < K; k++)
        b->wt[(size_t)n * K + k] = w[(int64_t)n * sn + (int64_t)k * sk];
  }
  return O2L_OK;
}

/* ---- small N: dot products ---------------------------------------------- */

/* With one to REF_DOT_N output columns (a conv producing a 1-channel map)
 * a 32-wide panel would be mostly padding; each output is instead a dot
 * product over K with DOT_W partial sums (constant bounds: vectorized). */
enum { DOT_W = 32 };

static inline __attribute__((always_inline)) void
dot_body(const RefGemmB *b, int M, const float *restrict A, int64_t lda,
         float *restrict C, int64_t ldc, float lo, float hi) {
  const int K = b->K, kv = K - K % DOT_W;
  for (int m = 0; m < M; m++) {
    const float *restrict a = A + (int64_t)m * lda;
    for (int n = 0; n < b->N; n++) {
      const float *restrict w = b->wt + (size_t)n * K;
      float acc[DOT_W] = {0};
      for (int k = 0; k < kv; k += DOT_W)
        for (int j = 0; j < DOT_W; j++)
          acc[j] += a[k + j] * w[k + j];
      float sum = b->bias[n];
      for (int k = kv; k < K; k++)
        sum += a[k] * w[k];
      for (int j = 0; j < DOT_W; j++)
        sum += acc[j];
      sum = sum < lo ? lo : sum;
      C[(int64_t)m * ldc + n] = sum > hi ? hi : sum;
    }
  }
}

static void dot_generic(const RefGemmB *b, int M, const float *A, int64_t lda,
                        float *C, int64_t ldc, float lo, float hi) {
  dot_body(b, M, A, lda, C, ldc, lo, hi);
}
#ifdef REF_X86_ISA
REF_TARGET_AVX2 static void dot_avx2(const RefGemmB *b, int M, const float *A,
                                     int64_t lda, float *C, int64_t ldc,
                                     float lo, float hi) {
  dot_body(b, M, A, lda, C, ldc, lo, hi);
}
REF_TARGET_AVX512 static void dot_avx512(const RefGemmB *b, int M,
                                         const float *A, int64_t lda, float *C,
                                         int64_t ldc, float lo, float hi) {
  dot_body(b, M, A, lda, C, ldc, lo, hi);
}
#endif

/* ---- driver ------------------------------------------------------------- */

enum { MR_MAX = MR_AVX512 };

/* m rows x nr columns of C through a full tile on the stack: the partial
 * last panel, and the leftover rows of a row block.  With pad_rows A holds
 * u->mr readable rows (the caller padded them), else the m rows go one at
 * a time.  Accumulating (bias NULL) starts from C's values. */
static void tile_edge(const Ukr *u, bool pad_rows, const float *A,
                      int64_t lda, int m, const float *Bp, float *C,
                      int64_t ldc, int nr, const float *bias, float lo,
                      float hi, int kc) {
  float tile[MR_MAX * REF_NR];
  if (!bias)
    for (int i = 0; i < (pad_rows ? u->mr : m); i++) {
      memcpy(tile + i * REF_NR, C + (i < m ? i * ldc : 0),
             (size_t)nr * sizeof(float));
      memset(tile + i * REF_NR + nr, 0, (size_t)(REF_NR - nr) * sizeof(float));
    }
  if (pad_rows)
    u->full(kc, A, lda, Bp, tile, REF_NR, bias, lo, hi);
  else
    for (int i = 0; i < m; i++)
      u->one(kc, A + i * lda, lda, Bp, tile + i * REF_NR, REF_NR, bias, lo, hi);
  for (int i = 0; i < m; i++)
    memcpy(C + i * ldc, tile + i * REF_NR, (size_t)nr * sizeof(float));
}

void ref_gemm(const RefGemmB *b, int M, const float *A, int64_t lda, float *C,
              int64_t ldc, float lo, float hi) {
  int K = b->K;
  if (b->wt) {
    switch (ref_isa()) {
#ifdef REF_X86_ISA
    case REF_ISA_AVX512: dot_avx512(b, M, A, lda, C, ldc, lo, hi); return;
    case REF_ISA_AVX2: dot_avx2(b, M, A, lda, C, ldc, lo, hi); return;
#endif
    default: dot_generic(b, M, A, lda, C, ldc, lo, hi); return;
    }
  }
  Ukr u = ukr_select();
  if (K == 0) { /* an empty sum: the bias alone */
    for (int i = 0; i < M; i++)
      for (int n = 0; n < b->N; n++) {
        float v = b->bias[n] < lo ? lo : b->bias[n];
        C[(int64_t)i * ldc + n] = v > hi ? hi : v;
      }
    return;
  }
  /* Leftover rows of a block: copied into a zero-padded MR x KC block so
   * they run through the full tile, unless only a quarter tile is left. */
  float apad[MR_MAX * KC];
  int kcmax = K < KC ? K : KC;
  int mc = (int)(A_BLOCK / ((size_t)kcmax * sizeof(float)));
  mc = mc < u.mr ? u.mr : mc - mc % u.mr;
  for (int m0 = 0; m0 < M; m0 += mc) {
    int m1 = M - m0 < mc ? M : m0 + mc;
    int mfull = m0 + (m1 - m0) / u.mr * u.mr, rem = m1 - mfull;
    bool pad_rows = rem * 4 > u.mr;
    for (int k0 = 0; k0 < K; k0 += KC) {
      int kc = K - k0 < KC ? K - k0 : KC;
      bool last = k0 + kc == K;
      float l = last ? lo : -INFINITY, h = last ? hi : INFINITY;
      const float *a = A + k0;
      if (pad_rows) {
        memset(apad, 0, sizeof(float) * (size_t)u.mr * (size_t)kc);
        for (int i = 0; i < rem; i++)
          memcpy(apad + (size_t)i * kc, a + (int64_t)(mfull + i) * lda,
                 sizeof(float) * (size_t)kc);
      }
      for (int p = 0; p < b->npanels; p++) {
        const float *bp = b->panels + ((size_t)p * (size_t)K + (size_t)k0) * REF_NR;
        const float *bias = k0 == 0 ? b->bias + (size_t)p * REF_NR : NULL;
        float *c = C + (int64_t)p * REF_NR;
        int nr = b->N - p * REF_NR < REF_NR ? b->N - p * REF_NR : REF_NR;
        for (int i = m0; i < mfull; i += u.mr) {
          if (nr == REF_NR)
            u.full(kc, a + (int64_t)i * lda, lda, bp, c + (int64_t)i * ldc, ldc,
                   bias, l, h);
          else
            tile_edge(&u, true, a + (int64_t)i * lda, lda, u.mr, bp,
                      c + (int64_t)i * ldc, ldc, nr, bias, l, h, kc);
        }
        if (rem == 0)
          continue;
        if (pad_rows)
          tile_edge(&u, true, apad, kc, rem, bp, c + (int64_t)mfull * ldc, ldc,
                    nr, bias, l, h, kc);
        else if (nr == REF_NR)
          for (int i = mfull; i < m1; i++)
            u.one(kc, a + (int64_t)i * lda, lda, bp, c + (int64_t)i * ldc, ldc,
                  bias, l, h);
        else
          tile_edge(&u, false, a + (int64_t)mfull * lda, lda, rem, bp,
                    c + (int64_t)mfull * ldc, ldc, nr, bias, l, h, kc);
      }
    }
  }
}
