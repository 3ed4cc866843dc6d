/* onnx_tensor.c - TensorProto -> constant Value.
 *
 * A tensor's bytes can travel four ways (onnx.proto, TensorProto): raw_data
 * (little-endian, used in place: Value.data points into the mapping), one
 * of the typed repeated fields (float_data, int32_data, int64_data,
 * double_data, uint64_data, packed or not; decoded into the arena), external
 * data (a file next to the model, mapped once and used in place), or none
 * for an empty tensor.  Whatever the way, the byte count must be exactly
 * numel * element size.  Scanning never touches the data bytes themselves,
 * so a large model loads without faulting its weights in.
 */
#include <stdio.h>
#include <string.h>

#include "onnx/onnx_priv.h"

static const char *const tensor_fields[] = {
    [1] = "dims",        [2] = "data_type",    [3] = "segment",
    [4] = "float_data",  [5] = "int32_data",   [6] = "string_data",
    [7] = "int64_data",  [8] = "name",         [9] = "raw_data",
    [10] = "double_data", [11] = "uint64_data", [12] = "doc_string",
    [13] = "external_data", [14] = "data_location", [16] = "metadata_props"};
const PbMsg ONNX_TENSOR_MSG = {"TensorProto", tensor_fields,
                               (int)O2L_ARRAY_LEN(tensor_fields)};

static const char *const entry_fields[] = {[1] = "key", [2] = "value"};
static const PbMsg ENTRY_MSG = {"StringStringEntryProto", entry_fields,
                                (int)O2L_ARRAY_LEN(entry_fields)};

/* TensorProto.DataType, onnx.proto. */
static const struct {
  const char *name;
  DType dt;
} onnx_types[] = {
    {"UNDEFINED", DT_UNDEF},     {"FLOAT", DT_F32},
    {"UINT8", DT_U8},            {"INT8", DT_I8},
    {"UINT16", DT_U16},          {"INT16", DT_I16},
    {"INT32", DT_I32},           {"INT64", DT_I64},
    {"STRING", DT_STRING},       {"BOOL", DT_BOOL},
    {"FLOAT16", DT_F16},         {"DOUBLE", DT_F64},
    {"UINT32", DT_U32},          {"UINT64", DT_U64},
    {"COMPLEX64", DT_UNDEF},     {"COMPLEX128", DT_UNDEF},
    {"BFLOAT16", DT_UNDEF},      {"FLOAT8E4M3FN", DT_UNDEF},
    {"FLOAT8E4M3FNUZ", DT_UNDEF}, {"FLOAT8E5M2", DT_UNDEF},
    {"FLOAT8E5M2FNUZ", DT_UNDEF}, {"UINT4", DT_UNDEF},
    {"INT4", DT_UNDEF},          {"FLOAT4E2M1", DT_UNDEF},
    {"FLOAT8E8M0", DT_UNDEF},    {"UINT2", DT_UNDEF},
    {"INT2", DT_UNDEF}};

DType onnx_dtype(int64_t t) {
  if (t < 0 || t >= (int64_t)O2L_ARRAY_LEN(onnx_types))
    return DT_UNDEF;
  return onnx_types[t].dt;
}

const char *onnx_dtype_name(int64_t t) {
  if (t < 0 || t >= (int64_t)O2L_ARRAY_LEN(onnx_types))
    return "unknown";
  return onnx_types[t].name;
}

/* Wire type of one element of a typed data field (0 if not one). */
static int typed_wire(uint32_t field) {
  switch (field) {
  case 4: return PB_FIXED32;  /* float_data */
  case 5: return PB_VARINT;   /* int32_data */
  case 7: return PB_VARINT;   /* int64_data */
  case 10: return PB_FIXED64; /* double_data */
  case 11: return PB_VARINT;  /* uint64_data */
  default: return -1;
  }
}

/* The typed field that carries a dtype's values.  int32_data also carries
 * the narrow types, float16 as its bit pattern (onnx.proto). */
static uint32_t typed_field_of(DType t) {
  switch (t) {
  case DT_F32: return 4;
  case DT_I32: case DT_I16: case DT_U16: case DT_I8: case DT_U8:
  case DT_BOOL: case DT_F16:
    return 5;
  case DT_I64: return 7;
  case DT_F64: return 10;
  case DT_U32: case DT_U64: return 11;
  default: return 0;
  }
}

static Status scan_entry(Pb *m, TensorInfo *t) {
  Pb e;
  TRY(pb_sub(m, &ENTRY_MSG, &e));
  const unsigned char *key = NULL, *val = NULL;
  size_t key_n = 0, val_n = 0;
  while (pb_more(&e)) {
    TRY(pb_next(&e));
    if (e.field == 1)
      TRY(pb_bytes(&e, &key, &key_n));
    else if (e.field == 2)
      TRY(pb_bytes(&e, &val, &val_n));
    else
      TRY(pb_skip(&e));
  }
  if (!key || !val)
    return O2L_OK;
  if (key_n == 8 && memcmp(key, "location", 8) == 0) {
    t->ext_loc = val;
    t->ext_loc_n = val_n;
  } else if (key_n == 6 && memcmp(key, "offset", 6) == 0) {
    t->ext_off = val;
    t->ext_off_n = val_n;
  } else if (key_n == 6 && memcmp(key, "length", 6) == 0) {
    t->ext_len = val;
    t->ext_len_n = val_n;
  }
  return O2L_OK;
}

static Status scan_typed(Pb *m, TensorInfo *t) {
  size_t n;
  if (m->field == 6) { /* string_data: one element per field */
    const unsigned char *p;
    TRY(pb_bytes(m, &p, &n));
    n = 1;
  } else {
    int wire = typed_wire(m->field);
    Pb vals;
    TRY(pb_packed(m, wire, &vals));
    n = pb_packed_count(&vals, wire);
  }
  if (n == 0)
    return O2L_OK;
  if (t->typed_field && t->typed_field != m->field)
    t->typed_mixed = true;
  t->typed_field = m->field;
  t->typed_n += n; /* cannot overflow: each element takes a file byte */
  return O2L_OK;
}

Status onnx_tensor_scan(Loader *L, Pb *m, TensorInfo *t) {
  (void)L;
  memset(t, 0, sizeof *t);
  t->msg = *m;
  t->at = pb_offset(m, m->p);
  while (pb_more(m)) {
    TRY(pb_next(m));
    switch (m->field) {
    case 1: {
      Pb vals;
      TRY(pb_packed(m, PB_VARINT, &vals));
      while (pb_more(&vals)) {
        uint64_t u;
        TRY(pb_varint(&vals, &u));
        if (t->ndims < O2L_MAX_RANK)
          t->dims[t->ndims] = (int64_t)u;
        if (t->ndims <= O2L_MAX_RANK)
          t->ndims++;
      }
      break;
    }
    case 2: TRY(pb_i64(m, &t->data_type)); break;
    case 3: t->has_segment = true; TRY(pb_skip(m)); break;
    case 4: case 5: case 6: case 7: case 10: case 11:
      TRY(scan_typed(m, t));
      break;
    case 8: TRY(pb_bytes(m, &t->name, &t->name_n)); break;
    case 9:
      TRY(pb_bytes(m, &t->raw, &t->raw_n));
      t->has_raw = true;
      break;
    case 13: TRY(scan_entry(m, t)); break;
    case 14: TRY(pb_i64(m, &t->data_location)); break;
    default: TRY(pb_skip(m)); break;
    }
  }
  return O2L_OK;
}

static void put(unsigned char *dst, size_t k, size_t size, const void *v) {
  memcpy(dst + k * size, v, size);
}

/* Second pass over the message: the values of t->typed_field, converted to
 * dt and stored little-endian.  dst holds t->typed_n elements. */
static Status decode_typed(const TensorInfo *t, DType dt, unsigned char *dst) {
  Pb m = t->msg;
  int wire = typed_wire(t->typed_field);
  size_t k = 0;
  while (pb_more(&m)) {
    TRY(pb_next(&m));
    if (m.field != t->typed_field) {
      TRY(pb_skip(&m));
      continue;
    }
    Pb vals;
    TRY(pb_packed(&m, wire, &vals));
    while (pb_more(&vals)) {
      uint64_t u;
      uint32_t w;
      if (wire == PB_FIXED32)
        TRY(pb_fixed32(&vals, &w));
      else if (wire == PB_FIXED64)
        TRY(pb_fixed64(&vals, &u));
      else
        TRY(pb_varint(&vals, &u));
      /* Each decoded varint ends with one of the bytes the scan counted,
       * so k stays below typed_n. */
      if (k >= t->typed_n)
        return pb_err(&vals, "holds more values than its first reading");
      switch (dt) {
      case DT_F32: put(dst, k, 4, &w); break;
      case DT_F64: case DT_I64: case DT_U64: put(dst, k, 8, &u); break;
      case DT_I32: case DT_U32: {
        uint32_t x = (uint32_t)u;
        put(dst, k, 4, &x);
        break;
      }
      case DT_I16: case DT_U16: case DT_F16: {
        uint16_t x = (uint16_t)u;
        put(dst, k, 2, &x);
        break;
      }
      case DT_BOOL: dst[k] = u != 0; break;
      default: dst[k] = (unsigned char)u; break; /* int8, uint8 */
      }
      k++;
    }
  }
  if (k != t->typed_n)
    return pb_err(&m, "yields %zu values where %zu were counted", k,
                  t->typed_n);
  return O2L_OK;
}

/* A decimal string value of external_data, e.g. "4096". */
static bool parse_size(const unsigned char *s, size_t n, uint64_t *out) {
  if (n == 0 || n > 19)
    return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  *out = v;
  return true;
}

/* Only files in the model's directory or below: no absolute paths, no '..'
 * components (either slash counts, for files written on Windows). */
static bool location_ok(const char *loc) {
  if (!loc[0] || loc[0] == '/' || loc[0] == '\\' ||
      (loc[1] == ':' && ((loc[0] | 32) >= 'a' && (loc[0] | 32) <= 'z')))
    return false;
  const char *c = loc;
  while (*c) {
    size_t len = strcspn(c, "/\\");
    if (len == 2 && c[0] == '.' && c[1] == '.')
      return false;
    c += len;
    if (*c)
      c++;
  }
  return true;
}

static Status external_data(Loader *L, const TensorInfo *t, const char *name,
                            const char *what, size_t nbytes, const void **data) {
  Ctx *cx = L->cx;
  if (!t->ext_loc)
    return ctx_err(cx, O2L_ERR_INVALID,
                   "%s: tensor '%s' has data_location EXTERNAL but no "
                   "'location' in external_data", L->path, name);
  if (memchr(t->ext_loc, 0, t->ext_loc_n))
    return ctx_err(cx, O2L_ERR_INVALID,
                   "%s: tensor '%s': external data location contains a NUL "
                   "byte", L->path, name);
  char *loc = arena_strndup(cx->arena, (const char *)t->ext_loc, t->ext_loc_n);
  if (!loc)
    return ctx_oom(cx, "reading external data");
  if (!location_ok(loc))
    return ctx_err(cx, O2L_ERR_INVALID,
                   "%s: tensor '%s': external data location '%s' is not a "
                   "relative path inside the model's directory (absolute "
                   "paths and '..' are refused)", L->path, name, loc);
  uint64_t off = 0, len = nbytes;
  if (t->ext_off && !parse_size(t->ext_off, t->ext_off_n, &off))
    return ctx_err(cx, O2L_ERR_INVALID,
                   "%s: tensor '%s': external data offset '%.*s' is not a "
                   "number", L->path, name, (int)(t->ext_off_n > 40 ? 40 : t->ext_off_n),
                   (const char *)t->ext_off);
  if (t->ext_len && !parse_size(t->ext_len, t->ext_len_n, &len))
    return ctx_err(cx, O2L_ERR_INVALID,
                   "%s: tensor '%s': external data length '%.*s' is not a "
                   "number", L->path, name, (int)(t->ext_len_n > 40 ? 40 : t->ext_len_n),
                   (const char *)t->ext_len);
  if (len != nbytes)
    return ctx_err(cx, O2L_ERR_INVALID,
                   "%s: tensor '%s' (%s) needs %zu bytes but its external "
                   "data length is %llu", L->path, name, what, nbytes,
                   (unsigned long long)len);
  Mapping mp;
  int i;
  for (i = 1; i < L->f->nmaps; i++)
    if (strcmp(L->f->maps[i].name, loc) == 0)
      break;
  if (i < L->f->nmaps) {
    mp = L->f->maps[i];
  } else {
    char *full = arena_printf(cx->arena, "%s/%s", L->f->dir, loc);
    if (!full)
      return ctx_oom(cx, "reading external data");
    char *prefix = arena_printf(cx->arena, "%s: tensor '%s': external data "
                                "file ", L->path, name);
    if (!prefix)
      return ctx_oom(cx, "reading external data");
    TRY(onnx_map_file(cx, L->f, full, loc, prefix, &mp));
  }
  if (off > mp.size || len > mp.size - off)
    return ctx_err(cx, O2L_ERR_INVALID,
                   "%s: tensor '%s': external data bytes [%llu, %llu) lie "
                   "outside '%s', which has %zu bytes", L->path, name,
                   (unsigned long long)off, (unsigned long long)(off + len),
                   loc, mp.size);
  *data = mp.base ? mp.base + off : NULL;
  return O2L_OK;
}

/* The declaration of tensor t: at most O2L_MAX_RANK dims, none negative,
 * a supported data type (its DType in *dt), not segmented. */
static Status tensor_type(Loader *L, const TensorInfo *t, const char *name,
                          DType *dt) {
  Ctx *cx = L->cx;
  const char *path = L->path;
  if (t->ndims > O2L_MAX_RANK)
    return ctx_err(cx, O2L_ERR_UNSUPPORTED,
                   "%s: tensor '%s' has more than %d dimensions", path, name,
                   O2L_MAX_RANK);
  for (int i = 0; i < t->ndims; i++)
    if (t->dims[i] < 0)
      return ctx_err(cx, O2L_ERR_INVALID,
                     "%s: tensor '%s' has the negative dimension %lld", path,
                     name, (long long)t->dims[i]);
  *dt = onnx_dtype(t->data_type);
  if (*dt == DT_STRING)
    return ctx_err(cx, O2L_ERR_UNSUPPORTED,
                   "%s: tensor '%s': string tensors are not supported", path,
                   name);
  if (t->data_type == 0)
    return ctx_err(cx, O2L_ERR_INVALID, "%s: tensor '%s' has no data_type",
                   path, name);
  if (*dt == DT_UNDEF)
    return ctx_err(cx, O2L_ERR_UNSUPPORTED,
                   "%s: tensor '%s' has data type %s (%lld), which is not "
                   "supported", path, name, onnx_dtype_name(t->data_type),
                   (long long)t->data_type);
  if (t->has_segment)
    return ctx_err(cx, O2L_ERR_UNSUPPORTED,
                   "%s: tensor '%s' is segmented, which is not supported",
                   path, name);
  return O2L_OK;
}

/* The nbytes of t's numel values of type dt (`what` describes it for
 * messages), from the one place it carries them: external data, raw_data
 * (both used where they are) or typed fields (decoded into the arena);
 * NULL for an empty tensor without data. */
static Status tensor_bytes(Loader *L, const TensorInfo *t, const char *name,
                           DType dt, const char *what, int64_t numel,
                           size_t nbytes, const void **data) {
  Ctx *cx = L->cx;
  const char *path = L->path;
  bool ext = t->data_location == 1;
  if (t->data_location != 0 && !ext)
    return ctx_err(cx, O2L_ERR_INVALID,
                   "%s: tensor '%s' has the unknown data_location %lld", path,
                   name, (long long)t->data_location);
  if (t->typed_mixed || t->has_raw + (t->typed_n > 0) + ext > 1)
    return ctx_err(cx, O2L_ERR_INVALID,
                   "%s: tensor '%s' carries its data in more than one place "
                   "(raw_data, typed fields, external data)", path, name);
  *data = NULL;
  if (ext)
    return external_data(L, t, name, what, nbytes, data);
  if (t->has_raw) {
    if (t->raw_n != nbytes)
      return ctx_err(cx, O2L_ERR_INVALID,
                     "%s: tensor '%s' (%s) has %zu bytes of raw_data; its "
                     "shape needs %zu", path, name, what, t->raw_n, nbytes);
    *data = t->raw;
    return O2L_OK;
  }
  if (t->typed_n) {
    uint32_t want = typed_field_of(dt);
    if (t->typed_field != want)
      return ctx_err(cx, O2L_ERR_INVALID,
                     "%s: tensor '%s' (%s) carries its values in %s, which "
                     "does not hold %s", path, name, what,
                     tensor_fields[t->typed_field], dtype_name(dt));
    if (t->typed_n != (uint64_t)numel)
      return ctx_err(cx, O2L_ERR_INVALID,
                     "%s: tensor '%s' (%s) has %zu values in %s; its shape "
                     "needs %lld", path, name, what, t->typed_n,
                     tensor_fields[want], (long long)numel);
    unsigned char *buf = arena_alloc(cx->arena, nbytes, 8);
    if (!buf)
      return ctx_oom(cx, "decoding a tensor");
    TRY(decode_typed(t, dt, buf));
    *data = buf;
    return O2L_OK;
  }
  if (numel != 0)
    return ctx_err(cx, O2L_ERR_INVALID, "%s: tensor '%s' (%s) has no data",
                   path, name, what);
  return O2L_OK;
}

Status onnx_tensor_value(Loader *L, const TensorInfo *t, const char *name,
                         Value **out) {
  Ctx *cx = L->cx;
  DType dt = DT_UNDEF;
  TRY(tensor_type(L, t, name, &dt));
  char shape[160], what[200];
  dims_str(t->ndims, t->dims, shape, sizeof shape);
  snprintf(what, sizeof what, "%s %s", dtype_name(dt), shape);
  int64_t numel;
  size_t esz = dtype_size(dt);
  if (!dims_numel(t->ndims, t->dims, &numel) || (uint64_t)numel > SIZE_MAX / esz)
    return ctx_err(cx, O2L_ERR_INVALID, "%s: tensor '%s' (%s) is too large",
                   L->path, name, what);
  size_t nbytes = (size_t)numel * esz;
  const void *data;
  TRY(tensor_bytes(L, t, name, dt, what, numel, nbytes, &data));
  Value *v = graph_add_const(cx, L->g, name, dt, t->ndims, t->dims, data, nbytes);
  if (!v)
    return cx->status ? cx->status : ctx_oom(cx, "adding a constant");
  *out = v;
  return O2L_OK;
}
