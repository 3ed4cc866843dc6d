/* main.c - the onnx2lite command: argument parsing, progress and notices on
 * stderr, the closing report, exit codes.  All the work is behind
 * include/onnx2lite.h.
 *
 * Exit status: 0 success, 1 error (malformed file, invalid model, I/O...),
 * 2 unsupported operators, 64 bad command line.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnx2lite.h"

enum { EXIT_UNSUPPORTED = 2, EXIT_USAGE = 64 };

static const char usage_text[] =
    "usage: onnx2lite convert IN.onnx -o OUT.tflite [options]\n"
    "       onnx2lite inspect FILE.onnx|FILE.tflite\n"
    "       onnx2lite --help | --version\n"
    "\n"
    "convert options:\n"
    "  -o, --output PATH          the .tflite to write (required)\n"
    "  --input-shape NAME=D,D,..  fix the dimensions of an input (repeatable);\n"
    "                             symbolic batch dimensions default to 1\n"
    "  --keep-io-layout           keep inputs/outputs in the ONNX layout (NCHW);\n"
    "                             the default makes them channels-last (NHWC)\n"
    "  --quantize MODE            float16 | dynamic | int8 | int16x8\n"
    "  --calib PATH               calibration data: .npy, .npz, a folder of\n"
    "                             images, or 'random' (int8/int16x8)\n"
    "  --calib-samples N          samples to use (default 100)\n"
    "  --calib-method M           minmax (default) | percentile | mse\n"
    "  --io-type T                int8 (default) | uint8 | float32 (int16x8:\n"
    "                             int16 | float32)\n"
    "  --per-tensor               per-tensor weight scales everywhere\n"
    "  --mean R,G,B --std R,G,B   image calibration preprocessing\n"
    "  --scale S                  image calibration: pixel * S\n"
    "  --report FILE.json         per-tensor ranges and quantization\n"
    "  -q, --quiet                no progress or notices\n"
    "\n"
    "exit status: 0 ok, 1 error, 2 unsupported operators, 64 bad usage\n";

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "onnx2lite: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\ntry 'onnx2lite --help'\n");
  return EXIT_USAGE;
}

static int exit_code(o2l_status st) {
  if (st == O2L_OK)
    return 0;
  if (st == O2L_ERR_UNSUPPORTED)
    return EXIT_UNSUPPORTED;
  if (st == O2L_ERR_USAGE)
    return EXIT_USAGE;
  return 1;
}

/* ---- progress on a terminal --------------------------------------------- */

typedef struct Cli {
  int tty;
  int bar_shown;
  const char *stage; /* last drawn, to redraw only on change */
  int percent;
} Cli;

static void on_progress(void *user, const char *stage, double fraction) {
  Cli *cli = user;
  int percent = (int)(fraction * 100 + 0.5);
  if (!cli->tty || (cli->bar_shown && stage == cli->stage &&
                    percent == cli->percent))
    return;
  cli->stage = stage;
  cli->percent = percent;
  int width = 30, filled = (int)(fraction * width + 0.5);
  if (filled > width)
    filled = width;
  fprintf(stderr, "\r%-12s [", stage);
  for (int i = 0; i < width; i++)
    fputc(i < filled ? '#' : ' ', stderr);
  fprintf(stderr, "] %3d%%", (int)(fraction * 100 + 0.5));
  fflush(stderr);
  cli->bar_shown = 1;
}

static void end_progress(Cli *cli) {
  if (cli->bar_shown)
    fprintf(stderr, "\r%*s\r", 60, "");
  cli->bar_shown = 0;
}

static void on_notice(void *user, const char *msg) {
  end_progress(user);
  bool warning = strncmp(msg, "warning: ", 9) == 0;
  fprintf(stderr, "onnx2lite: %s%s\n", warning ? "" : "note: ", msg);
}

/* ---- option parsing ----------------------------------------------------- */

static int parse_floats(const char *s, float *out, int max) {
  int n = 0;
  while (*s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || n >= max)
      return -1;
    out[n++] = (float)v;
    s = end;
    if (*s == ',')
      s++;
    else if (*s)
      return -1;
  }
  return n;
}

static int parse_quant(const char *s, o2l_quant_mode *m) {
  static const struct { const char *name; o2l_quant_mode mode; } modes[] = {
      {"none", O2L_QUANT_NONE},       {"float32", O2L_QUANT_NONE},
      {"float16", O2L_QUANT_FLOAT16}, {"dynamic", O2L_QUANT_DYNAMIC},
      {"int8", O2L_QUANT_INT8},       {"int16x8", O2L_QUANT_INT16X8}};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
    if (strcmp(s, modes[i].name) == 0) {
      *m = modes[i].mode;
      return 0;
    }
  return -1;
}

static int parse_io_type(const char *s, o2l_io_type *t) {
  if (!strcmp(s, "int8")) *t = O2L_IO_INT8;
  else if (!strcmp(s, "uint8")) *t = O2L_IO_UINT8;
  else if (!strcmp(s, "int16")) *t = O2L_IO_INT16;
  else if (!strcmp(s, "float32")) *t = O2L_IO_FLOAT32;
  else return -1;
  return 0;
}

static int parse_method(const char *s, o2l_calib_method *m) {
  if (!strcmp(s, "minmax")) *m = O2L_CALIB_MINMAX;
  else if (!strcmp(s, "percentile")) *m = O2L_CALIB_PERCENTILE;
  else if (!strcmp(s, "mse")) *m = O2L_CALIB_MSE;
  else return -1;
  return 0;
}

/* Fills opt from the convert arguments (shapes: room for argc entries);
 * 0, or the exit code of the usage error printed. */
static int parse_convert(int argc, char **argv, o2l_options *opt,
                         const char **shapes) {
  int rc = 0;
  for (int i = 0; i < argc && rc == 0; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                               \
  if (!val) {                                                      \
    rc = usage_error("option %s needs a value", a);                \
    break;                                                         \
  }                                                                \
  i++;
    if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
      NEED_VALUE();
      opt->output_path = val;
    } else if (!strcmp(a, "--input-shape")) {
      NEED_VALUE();
      shapes[opt->n_input_shapes++] = val;
    } else if (!strcmp(a, "--keep-io-layout")) {
      opt->keep_io_layout = 1;
    } else if (!strcmp(a, "--quantize")) {
      NEED_VALUE();
      if (parse_quant(val, &opt->quantize))
        rc = usage_error("unknown --quantize mode '%s' (float16, dynamic, "
                         "int8, int16x8)", val);
    } else if (!strcmp(a, "--calib")) {
      NEED_VALUE();
      opt->calib_path = val;
    } else if (!strcmp(a, "--calib-samples")) {
      NEED_VALUE();
      char *end;
      long n = strtol(val, &end, 10);
      if (*end || n <= 0 || n > 1000000)
        rc = usage_error("--calib-samples needs a positive count, not '%s'", val);
      opt->calib_samples = (int)n;
    } else if (!strcmp(a, "--calib-method")) {
      NEED_VALUE();
      if (parse_method(val, &opt->calib_method))
        rc = usage_error("unknown --calib-method '%s' (minmax, percentile, mse)", val);
    } else if (!strcmp(a, "--io-type")) {
      NEED_VALUE();
      if (parse_io_type(val, &opt->io_type))
        rc = usage_error("unknown --io-type '%s' (int8, uint8, int16, float32)", val);
    } else if (!strcmp(a, "--per-tensor")) {
      opt->per_tensor = 1;
    } else if (!strcmp(a, "--mean")) {
      NEED_VALUE();
      opt->n_mean = parse_floats(val, opt->mean, 4);
      if (opt->n_mean <= 0)
        rc = usage_error("--mean needs numbers like 0.485,0.456,0.406, not '%s'", val);
    } else if (!strcmp(a, "--std")) {
      NEED_VALUE();
      opt->n_std = parse_floats(val, opt->std, 4);
      if (opt->n_std <= 0)
        rc = usage_error("--std needs numbers like 0.229,0.224,0.225, not '%s'", val);
    } else if (!strcmp(a, "--scale")) {
      NEED_VALUE();
      float s;
      if (parse_floats(val, &s, 1) != 1 || !(s > 0))
        rc = usage_error("--scale needs a positive number, not '%s'", val);
      opt->scale = s;
    } else if (!strcmp(a, "--report")) {
      NEED_VALUE();
      opt->report_json = val;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      opt->quiet = 1;
    } else if (a[0] == '-' && a[1]) {
      rc = usage_error("unknown option '%s'", a);
    } else if (!opt->input_path) {
      opt->input_path = a;
    } else {
      rc = usage_error("unexpected argument '%s' (one input model only)", a);
    }
#undef NEED_VALUE
  }
  if (rc == 0 && !opt->input_path)
    rc = usage_error("%s", "convert needs an input .onnx file");
  if (rc == 0 && !opt->output_path)
    rc = usage_error("%s", "convert needs -o OUT.tflite");
  return rc;
}

static int cmd_convert(int argc, char **argv) {
  o2l_options opt;
  memset(&opt, 0, sizeof opt);
  const char **shapes = calloc((size_t)argc + 1, sizeof(char *));
  if (!shapes) {
    fprintf(stderr, "onnx2lite: out of memory\n");
    return 1;
  }
  int rc = parse_convert(argc, argv, &opt, shapes);
  if (rc) {
    free(shapes);
    return rc;
  }
  opt.input_shapes = shapes;
  Cli cli = {isatty(2), 0, NULL, -1};
  opt.progress = on_progress;
  opt.notice = on_notice;
  opt.user = &cli;

  o2l_report rep;
  char err[4096];
  o2l_status st = o2l_convert(&opt, &rep, err, sizeof err);
  end_progress(&cli);
  if (st != O2L_OK) {
    fprintf(stderr, "onnx2lite: error: %s\n", err);
  } else if (!opt.quiet) {
    o2l_report_print(&rep, stderr);
  }
  o2l_report_free(&rep);
  free(shapes);
  return exit_code(st);
}

static int cmd_inspect(int argc, char **argv) {
  if (argc != 1)
    return usage_error("%s", "inspect needs exactly one file");
  char err[4096];
  o2l_status st = o2l_inspect(argv[0], stdout, err, sizeof err);
  if (st != O2L_OK)
    fprintf(stderr, "onnx2lite: error: %s\n", err);
  return exit_code(st);
}

int main(int argc, char **argv) {
  if (argc < 2)
    return usage_error("%s", "no command given");
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    fputs(usage_text, stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version")) {
    printf("onnx2lite %s\n", O2L_VERSION);
    return 0;
  }
  if (!strcmp(cmd, "convert"))
    return cmd_convert(argc - 2, argv + 2);
  if (!strcmp(cmd, "inspect"))
    return cmd_inspect(argc - 2, argv + 2);
  return usage_error("unknown command '%s' (convert, inspect)", cmd);
}
