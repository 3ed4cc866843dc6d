/* onnx_priv.h - what the files of the ONNX reader share: the mappings
 * behind an OnnxFile, the loader state, and TensorProto decoding
 * (onnx_tensor.c) used by the graph reader (onnx_load.c).
 */
#ifndef O2L_ONNX_PRIV_H
#define O2L_ONNX_PRIV_H

#include "onnx/onnx.h"
#include "onnx/pb.h"

/* One read-only file mapping: the model, or an external data file. */
typedef struct Mapping {
  const unsigned char *base; /* NULL for an empty file */
  size_t size;
  char *name;                /* external: location as written in the model */
} Mapping;

struct OnnxFile {
  Mapping *maps; /* maps[0] is the model */
  int nmaps, cmaps;
  char *dir;     /* the model's directory, for external data */
};

/* Maps `path` (read-only, private) and appends it to f->maps, keeping
 * `name` to find it again; *out gets a copy of the entry (f->maps moves as
 * it grows).  IO errors start with `what` (may be NULL), then the path. */
Status onnx_map_file(Ctx *cx, OnnxFile *f, const char *path, const char *name,
                     const char *what, Mapping *out);

/* A TensorProto as scanned, before it becomes a Value.  Spans point into
 * the mapping. */
typedef struct TensorInfo {
  Pb msg;                       /* the whole TensorProto, for a second pass */
  size_t at;                    /* file offset of the message */
  const unsigned char *name;    /* NULL if absent */
  size_t name_n;
  int64_t data_type;
  int ndims;                    /* as many as the file has (may be > MAX) */
  int64_t dims[O2L_MAX_RANK];
  bool has_raw;
  const unsigned char *raw;
  size_t raw_n;
  size_t typed_n;               /* elements in the typed data fields */
  uint32_t typed_field;         /* the typed field they are in (0 = none) */
  bool typed_mixed;             /* elements in more than one typed field */
  bool has_segment;
  int64_t data_location;        /* 1 = EXTERNAL */
  const unsigned char *ext_loc, *ext_off, *ext_len;
  size_t ext_loc_n, ext_off_n, ext_len_n;
} TensorInfo;

typedef struct Loader {
  Ctx *cx;
  Graph *g;
  OnnxFile *f;
  PbSrc src;
  const char *path;
} Loader;

/* Scans a TensorProto (one pass, no data touched). */
Status onnx_tensor_scan(Loader *L, Pb *m, TensorInfo *t);
/* Turns it into a constant Value called `name`: raw_data and external
 * data are used in place; typed fields are decoded into the arena. */
Status onnx_tensor_value(Loader *L, const TensorInfo *t, const char *name,
                         Value **out);

/* Our DType for an ONNX TensorProto.DataType, DT_UNDEF if we have none. */
DType onnx_dtype(int64_t onnx_type);
/* "FLOAT", "BFLOAT16"... or "unknown" for messages. */
const char *onnx_dtype_name(int64_t onnx_type);

extern const PbMsg ONNX_TENSOR_MSG;

#endif
