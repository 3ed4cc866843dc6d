/* gemm.c - the one SGEMM behind CONV_2D, TRANSPOSE_CONV, FULLY_CONNECTED
 * and BATCH_MATMUL: C = clamp(A * B + bias) with A row-major as the caller
 * has it (an NHWC activation is already [pixels, channels]) and B packed
 * once at prepare time into panels of REF_NR columns.
 *
 * Blocking: rows of A in blocks of MC (the block stays in L2 while every
 * panel of B passes over it), K in blocks of KC (a panel slice stays in
 * L1), and an MR x REF_NR register tile inside (gemm_ukr.h).  MR depends on
 * the ISA picked at run time; the packed layout does not, so one packing
 * serves every ISA.
 */
#include "ref/ref_impl.h"

enum {
  KC = 512,           /* K block: a 64 KB panel slice */
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
  return O2L_OK;
}

/* ---- driver ------------------------------------------------------------- */

/* One panel over rows [m0, m1) and K slice [k0, k0 + kc): full tiles, then
 * the leftover rows one at a time. */
static void panel_rows(const Ukr *u, const float *A, int64_t lda,
                       const float *Bp, float *C, int64_t ldc,
                       const float *bias, float lo, float hi, int m0, int m1,
                       int kc) {
  int i = m0;
  for (; i + u->mr <= m1; i += u->mr)
    u->full(kc, A + (int64_t)i * lda, lda, Bp, C + (int64_t)i * ldc, ldc,
            bias, lo, hi);
  for (; i < m1; i++)
    u->one(kc, A + (int64_t)i * lda, lda, Bp, C + (int64_t)i * ldc, ldc, bias,
           lo, hi);
}

/* The last panel when N is not a multiple of REF_NR: each row goes through
 * a full-width tile on the stack. */
static void panel_rows_partial(const Ukr *u, const float *A, int64_t lda,
                               const float *Bp, float *C, int64_t ldc,
                               const float *bias, float lo, float hi, int m0,
                               int m1, int kc, int nr) {
  float tile[REF_NR];
  for (int i = m0; i < m1; i++) {
    float *c = C + (int64_t)i * ldc;
    if (!bias)
      memcpy(tile, c, (size_t)nr * sizeof(float));
    u->one(kc, A + (int64_t)i * lda, lda, Bp, tile, REF_NR, bias, lo, hi);
    memcpy(c, tile, (size_t)nr * sizeof(float));
  }
}

void ref_gemm(const RefGemmB *b, int M, const float *A, int64_t lda, float *C,
              int64_t ldc, float lo, float hi) {
  Ukr u = ukr_select();
  int K = b->K;
  if (K == 0) { /* an empty sum: the bias alone */
    for (int i = 0; i < M; i++)
      for (int n = 0; n < b->N; n++) {
        float v = b->bias[n] < lo ? lo : b->bias[n];
        C[(int64_t)i * ldc + n] = v > hi ? hi : v;
      }
    return;
  }
  int kcmax = K < KC ? K : KC;
  int mc = (int)(A_BLOCK / ((size_t)kcmax * sizeof(float)));
  mc = mc < u.mr ? u.mr : mc - mc % u.mr;
  int full_panels = b->N / REF_NR;
  for (int m0 = 0; m0 < M; m0 += mc) {
    int m1 = M - m0 < mc ? M : m0 + mc;
    for (int k0 = 0; k0 < K; k0 += KC) {
      int kc = K - k0 < KC ? K - k0 : KC;
      bool last = k0 + kc == K;
      float l = last ? lo : -INFINITY, h = last ? hi : INFINITY;
      const float *a = A + k0;
      for (int p = 0; p < b->npanels; p++) {
        const float *bp = b->panels + ((size_t)p * (size_t)K + (size_t)k0) * REF_NR;
        const float *bias = k0 == 0 ? b->bias + (size_t)p * REF_NR : NULL;
        float *c = C + (int64_t)p * REF_NR;
        if (p < full_panels)
          panel_rows(&u, a, lda, bp, c, ldc, bias, l, h, m0, m1, kc);
        else
          panel_rows_partial(&u, a, lda, bp, c, ldc, bias, l, h, m0, m1, kc,
                             b->N - p * REF_NR);
      }
    }
  }
}
