/* ref_impl.h - what the runner and the kernel files share: the kernel
 * interface, the prepare-time checks every kernel uses, the SGEMM, and the
 * ISA dispatch for the few loops that are worth compiling more than once.
 *
 * A kernel is two functions.  prepare(p, op) runs once: it checks dtypes
 * and shapes against the operator's semantics (so eval may assume them),
 * reads constant operands, packs weights into op->state (allocated from
 * p->arena) and raises p->scratch to the scratch bytes eval needs.
 * eval(e, op) computes op->out from op->in; it must not allocate.
 */
#ifndef O2L_REF_IMPL_H
#define O2L_REF_IMPL_H

#include <math.h>
#include <string.h>

#include "ref/ref.h"

typedef struct RefOp {
  const Node *node;
  void **in;     /* per input: its data at eval time, NULL if omitted */
  void **out;
  void *state;   /* the kernel's prepared state, or NULL */
  int index;     /* position in g->nodes */
} RefOp;

typedef struct RefPrep {
  Ctx *cx;
  Arena *arena;             /* lives as long as the runner */
  /* Per input of the op being prepared: its data when known before the run
   * (a constant, aligned, or the output of a folded op), else NULL. */
  const void *const *cdata;
  size_t scratch;           /* raised by prepare; bytes available to eval */
} RefPrep;

typedef struct RefEval {
  Ctx *cx;
  void *scratch;            /* 64-byte aligned, RefPrep.scratch bytes */
} RefEval;

typedef Status (*RefPrepareFn)(RefPrep *p, RefOp *op);
typedef Status (*RefEvalFn)(RefEval *e, const RefOp *op);

#define REF_K_(op, prep, eval)                      \
  Status prep(RefPrep *p, RefOp *o);                \
  Status eval(RefEval *e, const RefOp *o);
#include "ref/kernels.def"
#undef REF_K_

/* ---- prepare-time checks (each records a message naming the op) -------- */

/* "CONV_2D 'name'" for messages. */
const char *ref_op_desc(const Node *n);
/* Input i is present / has dtype t; output i likewise. */
Status ref_need_in(RefPrep *p, const Node *n, int i, DType t);
Status ref_need_in_opt(RefPrep *p, const Node *n, int i, DType t);
Status ref_need_out(RefPrep *p, const Node *n, int i, DType t);
Status ref_need_count(RefPrep *p, const Node *n, int min_in, int max_in,
                      int nout);
/* v has exactly rank r and dims d (else an error naming `what`). */
Status ref_need_shape(RefPrep *p, const Node *n, const Value *v,
                      const char *what, int r, const int64_t *d);
Status ref_need_same_shape(RefPrep *p, const Node *n, const Value *a,
                           const Value *b);
/* Input i must be known before the run; its elements as int64 into out
 * (at most max; the count in *cnt). */
Status ref_const_ints(RefPrep *p, const Node *n, int i, int64_t *out, int max,
                      int *cnt);
/* An axis in [-rank, rank) normalized to [0, rank). */
Status ref_axis(RefPrep *p, const Node *n, int64_t axis, int rank, int *out);
/* Input i holds one constant axis of a rank-`rank` tensor, normalized. */
Status ref_const_axis(RefPrep *p, const Node *n, int i, int rank, int *out);
/* v seen as [outer, dims[axis], inner]: sets outer and inner, returns
 * dims[axis]. */
int64_t ref_frame_axis(const Value *v, int axis, int64_t *outer,
                       int64_t *inner);
Status ref_bad(RefPrep *p, const Node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Allocation from p->arena, with the error recorded on failure. */
void *ref_alloc(RefPrep *p, size_t n);

static inline int64_t ref_numel(const Value *v) { return value_numel(v); }

/* TFLite's padding.h for one spatial dim: the output size
 * (SAME: ceil(in / stride); VALID: floor((in - eff_k) / stride) + 1, with
 * eff_k = (k - 1) * dil + 1) and the leading pad, total / 2 (the odd pixel
 * goes at the end).  -1 if padding is neither SAME nor VALID. */
int64_t ref_out_size(int padding, int64_t in, int k, int stride, int dil);
int ref_pad_before(int64_t in, int k, int stride, int dil, int64_t out);

/* ---- fused activations ------------------------------------------------ */

/* The clamp range of a fused activation.  LiteRT's float kernels only
 * clamp (CalculateActivationRange): a fused TANH gets no range and is
 * ignored, by LiteRT and so here (measured: tests/unit/ref_cases.c). */
void ref_act_range(int act, float *lo, float *hi);
/* Clamps x in place to the activation's range. */
void ref_act_apply(int act, float *x, size_t n);
bool ref_act_valid(int act);

/* ---- strided iteration (broadcasting, reductions) --------------------- */

/* Up to four operands walked over one index space: dims[] with per-operand
 * element strides, adjacent dims merged where all strides allow it, the
 * innermost dim last.  ref_iter_next() advances the outer odometer. */
#define REF_ITER_MAX (2 * O2L_MAX_RANK) /* TILE views use two dims per axis */
typedef struct RefIter {
  int rank, nops;
  int64_t dims[REF_ITER_MAX];
  int64_t st[4][REF_ITER_MAX];
  int64_t idx[REF_ITER_MAX];
  int64_t off[4];     /* element offset of each operand at the row start */
  int64_t outer;      /* rows: product of all dims but the last */
  int64_t n;          /* row length: the last dim */
} RefIter;

/* st[k] are operand k's strides over dims (rank <= REF_ITER_MAX). */
void ref_iter_init(RefIter *it, int rank, const int64_t *dims, int nops,
                   const int64_t (*st)[REF_ITER_MAX]);
void ref_iter_next(RefIter *it);
/* Strides of a tensor of rank r (dims d) broadcast to rank R (right
 * aligned); 0 where the dim is 1. */
void ref_bcast_strides(int R, int r, const int64_t *d, int64_t *st);
/* numpy broadcast of two shapes into out; false if incompatible. */
bool ref_bcast_shape(int ra, const int64_t *a, int rb, const int64_t *b,
                     int *r, int64_t *out);

/* Broadcast of inputs ins[0..nin) of n (nin <= 3): the output shape is
 * checked, st[0] are the output's strides and st[k + 1] input k's. */
typedef struct RefBcast {
  int rank;
  int64_t dims[O2L_MAX_RANK];
  int64_t st[4][REF_ITER_MAX];
  int act;
} RefBcast;
Status ref_bcast_prepare(RefPrep *p, const Node *n, int nin, const int *ins,
                         RefBcast **out);
/* An iterator over s's index space: the output and nops - 1 inputs. */
void ref_bcast_iter(RefIter *it, const RefBcast *s, int nops);

/* dst[i] = src[i] over a strided index space, elements of `size` bytes;
 * the rows are memcpy'd where both are contiguous. */
void ref_strided_copy(void *dst, const int64_t *dst_st, const void *src,
                      const int64_t *src_st, int rank, const int64_t *dims,
                      size_t size);
/* Row-major strides of a shape. */
void ref_strides(int rank, const int64_t *dims, int64_t *st);

/* ---- ISA dispatch ----------------------------------------------------- */

/* The GEMM micro-kernel and the depthwise loop are compiled for the
 * baseline ISA and, on x86-64 with GCC/Clang, also for AVX2+FMA and
 * AVX-512 (function attributes, picked at run time), so the build needs no
 * -march flag and the binary runs anywhere. */
typedef enum { REF_ISA_GENERIC, REF_ISA_AVX2, REF_ISA_AVX512 } RefIsa;
RefIsa ref_isa(void);
const char *ref_isa_name(void);
/* Test hook: use at most this ISA (a RefIsa), or -1 for the best the CPU
 * has. */
void ref_limit_isa(int isa);

#if defined(__GNUC__) && defined(__x86_64__) && !defined(O2L_REF_NO_ISA)
#define REF_X86_ISA 1
#define REF_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define REF_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#endif

/* ---- SGEMM (gemm.c) --------------------------------------------------- */

/* Right-hand operand and epilogue of C = act(A * B + bias), packed once:
 * B [K, N] in panels of REF_NR columns (the last zero padded), the bias
 * padded likewise (zeros if none). */
#define REF_NR 32 /* panel width, the same for every ISA */
#define REF_DOT_N 4 /* up to this many columns: dot products instead */
typedef struct RefGemmB {
  int K, N, npanels;
  float *panels;     /* npanels * K * REF_NR floats */
  float *bias;       /* npanels * REF_NR */
  float *wt;         /* [N, K] rows for the dot path (N <= REF_DOT_N), or NULL */
} RefGemmB;

/* Packs B[k][n] = w[n*sn + k*sk] (sn/sk in elements; FC/conv weights
 * [N, K] give sn = K, sk = 1) and an optional bias[N]. */
Status ref_gemm_pack(RefPrep *p, RefGemmB *b, const float *w, int K, int N,
                     int64_t sn, int64_t sk, const float *bias);
/* The same into memory the caller owns (BATCH_MATMUL with a runtime B):
 * panels needs ref_gemm_packed_floats(K, N) floats, bias
 * ref_gemm_bias_floats(N) (zeroed here). */
size_t ref_gemm_packed_floats(int K, int N);
size_t ref_gemm_bias_floats(int N);
void ref_gemm_pack_into(RefGemmB *b, float *panels, float *bias,
                        const float *w, int K, int N, int64_t sn, int64_t sk);
/* C[m, n] (row stride ldc) = clamp(sum_k A[m*lda + k] * B[k][n] + bias[n],
 * lo, hi) for m < M. */
void ref_gemm(const RefGemmB *b, int M, const float *A, int64_t lda, float *C,
              int64_t ldc, float lo, float hi);

#endif
