/* calib_data.h - the user's calibration samples, read into floats.
 *
 * calib_load() turns --calib PATH into float32 samples in the ONNX layout of
 * each model input, ready to be fed to the float reference interpreter by
 * the calibrator.  PATH is one of:
 *   FILE.npy   one array [N, d1, ...] for a single-input model whose input
 *              is [B, d1, ...] (B, usually 1, is ignored: every sample is
 *              one batch-1 slice); any little-endian float or integer dtype;
 *   FILE.npz   (np.savez / np.savez_compressed) one such array per model
 *              input, named after it; all with the same N;
 *   FOLDER     .png .jpg .jpeg .bmp images, sorted by name, for one input of
 *              shape [1, C, H, W] with C = 1 or 3;
 *   random     seeded N(0,1) samples (with a warning notice).
 * The first K samples are used, K = opt->calib_samples, or min(100, N) when
 * it is 0.  Anything wrong with the data is O2L_ERR_CALIB with a message
 * naming the file, the byte offset or sample and what was expected; a
 * --mean/--std count that does not fit the model is O2L_ERR_USAGE.
 */
#ifndef O2L_CALIB_DATA_H
#define O2L_CALIB_DATA_H

#include "base.h"

#define CALIB_DEFAULT_SAMPLES 100

/* A model input as the calibrator sees it. */
typedef struct CalibInput {
  const char *name;              /* ONNX input name (.npz array name) */
  int rank;
  int64_t dims[O2L_MAX_RANK];    /* ONNX layout; dims[0] is the batch */
} CalibInput;

typedef struct CalibSet {
  int nsamples;
  int ninputs;
  /* data[i]: nsamples * sample_numel[i] floats, sample after sample, each
   * in the ONNX layout of input i with batch 1.  Arena memory. */
  float **data;
  int64_t *sample_numel;         /* product of input i's dims[1..] */
} CalibSet;

/* Loads opt->calib_path for the given model inputs (in model order) into
 * *out, all memory from cx->arena.  Notices (fewer samples than the default,
 * random data, ignored options) go through ctx_notice.  On error *out is
 * left empty and the message is in cx. */
Status calib_load(Ctx *cx, const o2l_options *opt, const CalibInput *inputs,
                  int ninputs, CalibSet *out);

#endif
