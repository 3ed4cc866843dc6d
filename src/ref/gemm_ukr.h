/* gemm_ukr.h - the GEMM micro-kernel, included by gemm.c once per
 * (ISA, rows) pair with UKR_NAME, UKR_MR and UKR_ATTR defined.
 *
 * C[0..MR) x [0..REF_NR) = clamp(init + A[0..MR) x [0..K) * B, lo, hi),
 * where init is the bias row (bias != NULL) or C itself (accumulating over
 * K blocks).  B is a packed panel: K rows of REF_NR floats.
 *
 * Written as plain loops with constant bounds so the compiler keeps the
 * MR x REF_NR accumulators in vector registers (GCC -O3 does for these
 * shapes; bench/bench_ref.c prints the GFLOP/s so a regression shows).
 */
UKR_ATTR static void UKR_NAME(int K, const float *restrict A, int64_t lda,
                              const float *restrict B, float *restrict C,
                              int64_t ldc, const float *restrict bias,
                              float lo, float hi) {
  float acc[UKR_MR][REF_NR];
  if (bias) {
    for (int i = 0; i < UKR_MR; i++)
      for (int j = 0; j < REF_NR; j++)
        acc[i][j] = bias[j];
  } else {
    for (int i = 0; i < UKR_MR; i++)
      for (int j = 0; j < REF_NR; j++)
        acc[i][j] = C[i * ldc + j];
  }
  for (int k = 0; k < K; k++) {
    const float *b = B + (int64_t)k * REF_NR;
    for (int i = 0; i < UKR_MR; i++) {
      float a = A[i * lda + k];
      for (int j = 0; j < REF_NR; j++)
        acc[i][j] += a * b[j];
    }
  }
  for (int i = 0; i < UKR_MR; i++)
    for (int j = 0; j < REF_NR; j++) {
      float v = acc[i][j] < lo ? lo : acc[i][j];
      C[i * ldc + j] = v > hi ? hi : v;
    }
}

#undef UKR_NAME
#undef UKR_MR
#undef UKR_ATTR
