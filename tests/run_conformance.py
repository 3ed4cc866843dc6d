#!/usr/bin/env python3
"""Conformance tests: convert ONNX models with onnx2lite, run them in LiteRT,
compare with a reference, check the structure of the .tflite.

    build/venv/bin/python tests/run_conformance.py --bin build/asan/onnx2lite
        [--only fixtures,node,models,errors,quant] [-k SUBSTRING] [--verbose]

Parts (each prints a summary; any regression makes the exit status 1):
  fixtures (a)  tests/fixtures/*.onnx (made by tests/gen_fixtures.py) against
                onnxruntime, converted with --keep-io-layout and with the
                default NHWC edges, plus the structure declared in
                tests/fixtures/expect.json.
  node     (b)  the ONNX backend node tests of the installed onnx package.
                Tests named in tests/onnx_node_expected.txt must pass; other
                passing tests are reported as newly passing.
  models   (c)  ../shared/models through ../shared/tools/eval_tflite.py, plus
                TRANSPOSE/PAD/BatchNorm/activation/histogram rules.
  errors   (d)  error paths of the command line: exit codes, messages, no
                output file left behind.
  quant    (q)  int8 conversions of the Vela models (eval_tflite.py --quant
                int8, with the optimized --fast-bin after an ASan probe) and
                Vela's CPU-operator count for each; skipped while --quantize
                int8 is not available.

LiteRT runs in worker processes, so a .tflite that crashes the runtime is
reported as a failure of that test instead of ending the run.  Results go to
build/conformance.json.
"""

import argparse
import collections
import concurrent.futures
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BUILD = os.path.join(REPO, "build")
FIXTURES = os.path.join(HERE, "fixtures")
NODE_EXPECTED = os.path.join(HERE, "onnx_node_expected.txt")
sys.path.insert(0, HERE)
import gen_fixtures  # noqa: E402  (numpy + onnx: how fixtures are fed, and made)
import onnx_facts  # noqa: E402

PARTS = ("fixtures", "node", "models", "errors", "quant")
PART_LETTERS = {"a": "fixtures", "b": "node", "c": "models", "d": "errors", "q": "quant"}

# Sanitizer failures must not pass for the converter's own "exit 1".
SAN_ENV = {"ASAN_OPTIONS": "exitcode=86:detect_leaks=1",
           "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=87",
           "LSAN_OPTIONS": "exitcode=88"}
SAN_EXIT = (86, 87, 88)
SAN_TEXT = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:|UndefinedBehaviorSanitizer")
CONVERT_TIMEOUT = 300
JOB_TIMEOUT = 600


# ----------------------------------------------------------------------------
# running the converter
# ----------------------------------------------------------------------------

def converter_env():
    env = dict(os.environ)
    for k, v in SAN_ENV.items():
        env[k] = v + (":" + env[k] if env.get(k) else "")
    return env


def run_cli(argv, timeout=CONVERT_TIMEOUT):
    """Runs the converter; returns dict(rc, out, err, seconds, crash)."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(argv, capture_output=True, text=True, errors="replace",
                           timeout=timeout, env=converter_env())
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return dict(rc=None, out="", err="timed out after %ds" % timeout,
                    seconds=timeout, crash="timeout after %ds" % timeout)
    crash = None
    if rc < 0:
        crash = "killed by signal %d" % -rc
    elif rc in SAN_EXIT or SAN_TEXT.search(err):
        m = re.search(r"(ERROR: \w+Sanitizer: [^\n]*|[^\n]*runtime error:[^\n]*)", err)
        crash = "sanitizer: " + (m.group(1).strip() if m else "exit %d" % rc)
    return dict(rc=rc, out=out, err=err, seconds=time.perf_counter() - t0, crash=crash)


def tail(text, n=3, width=200):
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return " | ".join(ln.strip()[:width] for ln in lines[-n:])


# ----------------------------------------------------------------------------
# reading a .tflite (the runtime's own schema module, no parser of ours)
# ----------------------------------------------------------------------------

_OP_NAMES = None


def tflite_ops(path):
    """Operator histogram of a .tflite, over all subgraphs."""
    global _OP_NAMES
    from ai_edge_litert import schema_py_generated as s
    if _OP_NAMES is None:
        _OP_NAMES = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ValueError("not a TFLite flatbuffer (no TFL3 identifier)")
    m = s.Model.GetRootAs(buf, 0)
    codes = []
    for i in range(m.OperatorCodesLength()):
        oc = m.OperatorCodes(i)
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        name = _OP_NAMES.get(code, "BUILTIN_%d" % code)
        if name == "CUSTOM":
            name = "CUSTOM:" + (oc.CustomCode() or b"?").decode(errors="replace")
        codes.append(name)
    ops = collections.Counter()
    for si in range(m.SubgraphsLength()):
        sg = m.Subgraphs(si)
        for j in range(sg.OperatorsLength()):
            idx = sg.Operators(j).OpcodeIndex()
            ops[codes[idx] if idx < len(codes) else "BAD_OPCODE_%d" % idx] += 1
    return dict(ops)


def layout_of(onnx_shape, tfl_shape):
    """'identity' when the .tflite keeps the ONNX shape, 'channels_last'
    when it has the channels-last permutation of it (and differs), else None."""
    onnx_shape, tfl_shape = [int(d) for d in onnx_shape], [int(d) for d in tfl_shape]
    if onnx_shape == tfl_shape:
        return "identity"
    if len(onnx_shape) >= 3 and onnx_facts.channels_last(onnx_shape) == tfl_shape:
        return "channels_last"
    if len(onnx_shape) == 0 and tfl_shape == [1] or onnx_shape == [1] and tfl_shape == []:
        return "identity"
    return None


def same_data_order(shape):
    """True when the channels-last form of shape holds the data in the same
    order (e.g. [1,1,H,W] or [1,C,1,1]): either layout is then right."""
    return len(shape) < 3 or shape[1] == 1 or all(d == 1 for d in shape[2:])


def cl_perm(rank):
    return [0] + list(range(2, rank)) + [1]


def to_tflite(a, layout):
    import numpy as np
    return np.ascontiguousarray(a.transpose(cl_perm(a.ndim)) if layout == "channels_last" else a)


def from_tflite(a, layout, ref_shape):
    import numpy as np
    if layout == "channels_last":
        inv = [0] * len(ref_shape)
        for i, p in enumerate(cl_perm(len(ref_shape))):
            inv[p] = i
        a = a.transpose(inv)
    return np.ascontiguousarray(a).reshape(ref_shape)


def match_by_name(names, details):
    """Pairs names with tflite tensor details: by name when all are found,
    else by position."""
    by = {d["name"]: d for d in details}
    if len(names) == len(details) and all(n in by for n in names) and \
            len({by[n]["index"] for n in names}) == len(names):
        return [by[n] for n in names]
    if len(names) != len(details):
        raise ValueError("the .tflite has %d tensors where the ONNX has %d" % (len(details), len(names)))
    return list(details)


class LiteRT:
    """One .tflite loaded in LiteRT."""

    def __init__(self, path):
        from ai_edge_litert.interpreter import Interpreter
        self.it = Interpreter(model_path=path, num_threads=1)
        self.it.allocate_tensors()
        self.inputs = self.it.get_input_details()
        self.outputs = self.it.get_output_details()

    def run(self, feeds):
        """feeds: [(detail, array)]; returns [array] in self.outputs order."""
        import numpy as np
        resized = False
        for d, a in feeds:
            if tuple(d["shape"]) != tuple(a.shape):
                self.it.resize_tensor_input(d["index"], list(a.shape))
                resized = True
        if resized:
            self.it.allocate_tensors()
        for d, a in feeds:
            self.it.set_tensor(d["index"], np.asarray(a, dtype=d["dtype"]))
        self.it.invoke()
        return [self.it.get_tensor(d["index"]).copy() for d in self.outputs]


# ----------------------------------------------------------------------------
# worker processes (LiteRT may crash on a bad file: keep it out of the runner)
# ----------------------------------------------------------------------------

class Worker:
    """A child `run_conformance.py --worker` answering one JSON job per line."""

    def __init__(self, log_path):
        self.log_path = log_path
        self.p = None

    def start(self):
        log = open(self.log_path, "a")
        self.p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                  text=True, bufsize=1)
        log.close()

    def call(self, job, timeout=JOB_TIMEOUT):
        if self.p is None or self.p.poll() is not None:
            self.start()
        self.p.stdin.write(json.dumps(job) + "\n")
        self.p.stdin.flush()
        ready, _, _ = select.select([self.p.stdout], [], [], timeout)
        line = self.p.stdout.readline() if ready else None
        if line:
            return json.loads(line)
        if not ready:
            self.p.kill()
            why = "timed out after %ds" % timeout
        else:
            rc = self.p.wait()
            why = "died (%s)" % ("signal %d" % -rc if rc < 0 else "exit %d" % rc)
        self.p.wait()
        self.p = None
        return dict(status="crash", problems=["the LiteRT worker %s on this test" % why])

    def close(self):
        if self.p is not None and self.p.poll() is None:
            self.p.stdin.close()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


class Pool:
    def __init__(self, n, log_dir):
        self.n = max(1, n)
        self.log_dir = log_dir
        self.local = threading.local()
        self.workers = []
        self.lock = threading.Lock()

    def _worker(self):
        w = getattr(self.local, "w", None)
        if w is None:
            with self.lock:
                w = Worker(os.path.join(self.log_dir, "worker%d.log" % len(self.workers)))
                self.workers.append(w)
            self.local.w = w
        return w

    def map(self, jobs, progress=None):
        results = [None] * len(jobs)
        done = 0
        with concurrent.futures.ThreadPoolExecutor(self.n) as ex:
            futs = {ex.submit(lambda j: self._worker().call(j), job): i for i, job in enumerate(jobs)}
            for f in concurrent.futures.as_completed(futs):
                results[futs[f]] = f.result()
                done += 1
                if progress:
                    progress(done, len(jobs))
        return results

    def close(self):
        for w in self.workers:
            w.close()


def worker_main():
    """Serve jobs from stdin; stdout carries only the JSON replies."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)     # anything a library prints goes to the log
    for line in sys.stdin:
        job = json.loads(line)
        try:
            res = JOB_KINDS[job["kind"]](job)
        except Exception as e:  # noqa: BLE001 - reported as the test's failure
            res = dict(status="fail", problems=["runner error: %s: %s" % (type(e).__name__, e)])
        proto.write(json.dumps(res, default=str) + "\n")
    return 0


# ----------------------------------------------------------------------------
# part a: fixtures
# ----------------------------------------------------------------------------

def structure_problems(model, hist, transpose_max):
    """The float path's rules for any model: at most transpose_max
    TRANSPOSE ops, PAD ops only for paddings SAME/VALID cannot express, no
    MUL/ADD left from BatchNorm, no activation that could have fused, no
    custom ops.  hist is the .tflite's op histogram."""
    problems = []
    if hist.get("TRANSPOSE", 0) > transpose_max:
        problems.append("TRANSPOSE: %d, at most %d" % (hist["TRANSPOSE"], transpose_max))
    budget, where = onnx_facts.pad_budget(model)
    pads = sum(hist.get(op, 0) for op in onnx_facts.TFLITE_PADS)
    if pads > budget:
        problems.append("%d pad op(s); only %d padding(s) are not SAME/VALID%s" % (
            pads, budget, " (%s)" % ", ".join(where) if where else ""))
    onnx_hist = onnx_facts.op_histogram(model)
    if onnx_hist.get("BatchNormalization"):
        for tfl, onnx_ops in (("MUL", ("Mul",)), ("ADD", ("Add", "Sum"))):
            allowed = sum(onnx_hist.get(o, 0) for o in onnx_ops)
            if hist.get(tfl, 0) > allowed:
                problems.append("%s: %d (BatchNorm residue? the ONNX has %d)" % (tfl, hist[tfl], allowed))
    left, _ = onnx_facts.unfusable_activations(model)
    acts = sum(hist.get(op, 0) for op in onnx_facts.TFLITE_ACTIVATIONS)
    if acts > left:
        problems.append("%d standalone activation op(s); only %d cannot fuse" % (acts, left))
    custom = [op for op in hist if op.startswith("CUSTOM")]
    if custom:
        problems.append("custom ops %s" % custom)
    return problems


def check_count(hist, count, only, skip=()):
    problems = []
    for op, want in sorted(count.items()):
        if op in skip:
            continue
        got = hist.get(op, 0)
        lo, hi = (want, want) if isinstance(want, int) else want
        if not lo <= got <= hi:
            problems.append("%s: %d, expected %s" % (op, got, want if lo == hi else "%d..%d" % (lo, hi)))
    if only:
        extra = {op: n for op, n in hist.items() if op not in count and op not in skip}
        if extra:
            problems.append("unexpected ops %s" % extra)
    return problems


def job_fixture(job):
    """Convert one fixture in one mode, run it, compare, check structure."""
    import numpy as np
    entry, mode = job["entry"], job["mode"]
    src = os.path.join(FIXTURES, entry["file"])
    out = os.path.join(job["out_dir"], "%s.%s.tflite" % (job["name"], mode))
    if os.path.exists(out):
        os.remove(out)
    argv = [job["bin"], "convert", src, "-o", out, "-q"] + job["args"]
    r = run_cli(argv)
    res = dict(status="fail", problems=[], seconds=round(r["seconds"], 3), command=" ".join(argv))
    if r["crash"]:
        res.update(status="crash", problems=["converter " + r["crash"] + ": " + tail(r["err"], 2)])
        return res
    if r["rc"] != 0:
        res["problems"].append("convert exit %s: %s" % (r["rc"], tail(r["err"], 2)))
        return res
    try:
        hist = tflite_ops(out)
    except Exception as e:  # noqa: BLE001
        res["problems"].append("unreadable .tflite: %s" % e)
        return res
    res.update(ops=hist, op_count=sum(hist.values()))
    p = res["problems"]
    keep = mode == "keep_io"

    # structure
    model = onnx_facts.load(src)
    t_max = entry.get("transpose_max", onnx_facts.op_histogram(model).get("Transpose", 0))
    if keep:
        t_max += onnx_facts.rank_ge3_io(model)
    p += structure_problems(model, hist, t_max)
    p += check_count(hist, entry.get("count", {}), entry.get("only", False) and not keep,
                     skip=("TRANSPOSE", "RESHAPE") if keep else ())

    # numerics
    feeds = gen_fixtures.fixture_feeds(job["name"], entry["inputs"], job["shapes"])
    ref = gen_fixtures.onnx_reference(src, feeds)
    try:
        rt = LiteRT(out)
        in_names = list(entry["inputs"])
        in_d = match_by_name(in_names, rt.inputs)
        layouts = {}
        feed_list = []
        for n, d in zip(in_names, in_d):
            lay = layout_of(feeds[n].shape, d["shape"])
            if lay is None:
                p.append("input %s: .tflite shape %s is neither %s nor its channels-last form" % (
                    n, list(d["shape"]), list(feeds[n].shape)))
                return res
            layouts[n] = lay
            feed_list.append((d, to_tflite(feeds[n], lay)))
        got = rt.run(feed_list)
        out_names = entry["outputs"]
        out_d = match_by_name(out_names, rt.outputs)
    except Exception as e:  # noqa: BLE001
        p.append("LiteRT: %s: %s" % (type(e).__name__, str(e)[:300]))
        return res
    idx = {d["index"]: i for i, d in enumerate(rt.outputs)}
    worst = 0.0
    for n, d in zip(out_names, out_d):
        y, want = got[idx[d["index"]]], ref[n]
        lay = layout_of(want.shape, y.shape)
        if lay is None:
            p.append("output %s: .tflite shape %s is neither %s nor its channels-last form" % (
                n, list(y.shape), list(want.shape)))
            continue
        layouts[n] = lay
        y = from_tflite(y.astype(np.float64), lay, want.shape)
        err = float(np.max(np.abs(y - want))) if want.size else 0.0
        scale = float(np.max(np.abs(want))) if want.size else 0.0
        tol = entry.get("rtol", 1e-4) * scale + entry.get("atol", 1e-5)
        rel = err / scale if scale else err
        worst = max(worst, rel)
        if not np.all(np.isfinite(y)) or err > tol:
            p.append("output %s: max abs err %.3g > %.3g (rel %.2e)" % (n, err, tol, rel))
    res["rel"] = worst
    res["layouts"] = layouts
    shapes = dict({n: a.shape for n, a in feeds.items()}, **{n: a.shape for n, a in ref.items()})
    for n, lay in layouts.items():
        want = "identity" if keep else entry.get("io_layout", {}).get(n)
        if want and lay != want and (keep or not same_data_order(shapes[n])):
            p.append("%s is %s, expected %s" % (n, lay, want))
    res["status"] = "pass" if not p else "fail"
    return res


def fixtures_up_to_date():
    """gen_fixtures.py --check in-process: the committed files must be what
    the generator makes."""
    return gen_fixtures.stale_files(gen_fixtures.build_all()[0], FIXTURES)


def part_fixtures(args, pool):
    with open(os.path.join(FIXTURES, "expect.json")) as f:
        doc = json.load(f)
    out_dir = os.path.join(BUILD, "conformance", "fixtures")
    os.makedirs(out_dir, exist_ok=True)
    jobs = []
    for name, entry in sorted(doc["fixtures"].items()):
        if args.k and args.k not in name:
            continue
        modes = [("default", [], {}), ("keep_io", ["--keep-io-layout"], {})]
        for i, v in enumerate(entry.get("variants", [])):
            modes.append(("variant%d" % (i + 1), v["args"], v.get("shapes", {})))
        for mode, extra, shapes in modes:
            jobs.append(dict(kind="fixture", name=name, entry=entry, mode=mode, args=extra,
                             shapes=shapes, bin=args.bin, out_dir=out_dir))
    problems = []
    stale = fixtures_up_to_date()
    if stale:
        problems.append("fixtures out of date with gen_fixtures.py: %s" % ", ".join(stale))
        print("FAIL  " + problems[-1])
    results = pool.map(jobs, progress=args.progress("fixtures"))
    rows = []
    for job, r in zip(jobs, results):
        row = dict(name=job["name"], mode=job["mode"], **r)
        rows.append(row)
        label = "%s [%s]" % (job["name"], job["mode"])
        if r["status"] != "pass":
            print("%-5s %-44s %s" % (r["status"].upper(), label, "; ".join(r["problems"])[:400]))
        elif args.verbose:
            print("pass  %-44s ops=%d rel=%.1e %s" % (label, r.get("op_count", 0), r.get("rel", 0),
                                                      dict(sorted(r.get("ops", {}).items()))))
    counts = collections.Counter(r["status"] for r in results)
    names = sorted({j["name"] for j in jobs})
    ok_names = [n for n in names if all(r["status"] == "pass" for j, r in zip(jobs, results) if j["name"] == n)]
    print("fixtures: %d/%d models pass in every mode; conversions: %d passed, %d failed, %d crashed" % (
        len(ok_names), len(names), counts["pass"], counts["fail"], counts["crash"]))
    failed = counts["fail"] + counts["crash"] + len(problems)
    return dict(ok=failed == 0, summary=dict(counts, models=len(names), models_passing=len(ok_names)),
                problems=problems, results=rows)


JOB_KINDS = {"fixture": job_fixture}


# ----------------------------------------------------------------------------
# part b: ONNX backend node tests
# ----------------------------------------------------------------------------

def node_skip_reason(model):
    """Why a node test is out of scope: an input or output that is not a
    float32/int64/int32/bool tensor."""
    from onnx import TensorProto
    allowed = {TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32, TensorProto.BOOL}
    g = model.graph
    init = {t.name for t in g.initializer}
    ins = [v for v in g.input if v.name not in init]
    for kind, vis in (("input", ins), ("output", g.output)):
        for vi in vis:
            t = vi.type
            if not t.HasField("tensor_type"):
                return "%s %s is a %s" % (kind, vi.name, t.WhichOneof("value"))
            if t.tensor_type.elem_type not in allowed:
                return "%s %s is %s" % (kind, vi.name,
                                        TensorProto.DataType.Name(t.tensor_type.elem_type))
    return None


def node_tests_dir():
    """The node tests as folders of model.onnx + test_data_set_0/*.pb: the
    ones shipped with onnx, or (newer onnx wheels ship none) generated from
    onnx's test-case code into build/onnx_node/ once per onnx version."""
    import onnx
    shipped = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")
    if os.path.isdir(shipped) and os.listdir(shipped):
        return shipped, "shipped with onnx %s" % onnx.__version__
    out = os.path.join(BUILD, "onnx_node", onnx.__version__)
    stamp = os.path.join(out, ".complete")
    if os.path.exists(stamp):
        return out, "generated from onnx %s test cases" % onnx.__version__
    import warnings
    import numpy as np
    from onnx import numpy_helper
    from onnx.backend.test.loader import load_model_tests
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = load_model_tests(kind="node")
    for case in cases:
        d = os.path.join(tmp, case.name)
        os.makedirs(os.path.join(d, "test_data_set_0"))
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        if node_skip_reason(case.model):
            continue
        ins, outs = case.data_sets[0]
        present = [i for i in case.model.graph.input]
        for prefix, arrays, vis in (("input", ins, present), ("output", outs, case.model.graph.output)):
            for j, a in enumerate(arrays):
                tp = a if isinstance(a, onnx.TensorProto) else \
                    numpy_helper.from_array(np.asarray(a), vis[j].name if j < len(vis) else "")
                with open(os.path.join(d, "test_data_set_0", "%s_%d.pb" % (prefix, j)), "wb") as f:
                    f.write(tp.SerializeToString())
    open(os.path.join(tmp, ".complete"), "w").close()
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    return out, "generated from onnx %s test cases" % onnx.__version__


def load_pbs(d, prefix):
    import onnx
    from onnx import numpy_helper
    arrays, j = [], 0
    while os.path.exists(os.path.join(d, "%s_%d.pb" % (prefix, j))):
        t = onnx.TensorProto()
        with open(os.path.join(d, "%s_%d.pb" % (prefix, j)), "rb") as f:
            t.ParseFromString(f.read())
        arrays.append(numpy_helper.to_array(t))
        j += 1
    return arrays


def compare_node_output(got, ref):
    import numpy as np
    if list(got.shape) != list(ref.shape) and not (got.size == ref.size == 1 and ref.ndim <= 1):
        return "shape %s, expected %s" % (list(got.shape), list(ref.shape))
    got = got.reshape(ref.shape)
    if ref.dtype == np.bool_ or np.issubdtype(ref.dtype, np.integer):
        bad = int(np.sum(got.astype(np.int64) != ref.astype(np.int64)))
        return "%d of %d values differ" % (bad, ref.size) if bad else None
    g64, r64 = got.astype(np.float64), ref.astype(np.float64)
    close = np.isclose(g64, r64, rtol=1e-4, atol=1e-5, equal_nan=True)
    if not np.all(close):
        err = np.abs(g64 - r64)
        return "%d of %d values off, max abs err %.3g" % (int(np.sum(~close)), ref.size,
                                                           float(np.nanmax(err)) if err.size else 0.0)
    return None


def job_node(job):
    import numpy as np
    import onnx
    d = job["dir"]
    src = os.path.join(d, "model.onnx")
    out = os.path.join(job["out_dir"], job["name"] + ".tflite")
    if os.path.exists(out):
        os.remove(out)
    r = run_cli([job["bin"], "convert", src, "-o", out, "-q", "--keep-io-layout"])
    if r["crash"]:
        return dict(status="crash", problems=["converter " + r["crash"] + ": " + tail(r["err"], 2)])
    if r["rc"] == 2:
        return dict(status="unsupported", problems=[tail(r["err"], 1, 150)])
    if r["rc"] != 0:
        return dict(status="fail", problems=["convert exit %s: %s" % (r["rc"], tail(r["err"], 2))])
    model = onnx.load(src)
    init = {t.name for t in model.graph.initializer}
    in_names = [v.name for v in model.graph.input if v.name not in init]
    out_names = [v.name for v in model.graph.output]
    data = os.path.join(d, "test_data_set_0")
    ins, refs = load_pbs(data, "input"), load_pbs(data, "output")
    try:
        rt = LiteRT(out)
        feeds = []
        for n, det in zip(in_names, match_by_name(in_names, rt.inputs)):
            a, shp = ins[in_names.index(n)], [int(d) for d in det["shape"]]
            if shp != list(a.shape):
                if a.size == int(np.prod(shp)) and [d for d in shp if d != 1] == \
                        [d for d in a.shape if d != 1]:
                    a = a.reshape(shp)      # a scalar given as [1], and the like
                elif -1 not in list(det.get("shape_signature", [])):
                    return dict(status="fail", problems=["input %s: .tflite shape %s, data %s" % (
                        n, shp, list(a.shape))])
            feeds.append((det, a))
        got = rt.run(feeds)
        idx = {det["index"]: i for i, det in enumerate(rt.outputs)}
        problems = []
        for n, det in zip(out_names, match_by_name(out_names, rt.outputs)):
            why = compare_node_output(got[idx[det["index"]]], refs[out_names.index(n)])
            if why:
                problems.append("output %s: %s" % (n, why))
    except Exception as e:  # noqa: BLE001
        return dict(status="fail", problems=["LiteRT: %s: %s" % (type(e).__name__, str(e)[:300])])
    return dict(status="fail" if problems else "pass", problems=problems)


JOB_KINDS["node"] = job_node


def read_expected_list(path):
    if not os.path.exists(path):
        return []
    names = []
    with open(path) as f:
        for ln in f:
            ln = ln.split("#", 1)[0].strip()
            if ln:
                names.append(ln)
    return names


def part_node(args, pool):
    import onnx
    root, origin = node_tests_dir()
    expected = read_expected_list(NODE_EXPECTED)
    names = sorted(n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n)))
    if args.k:
        names = [n for n in names if args.k in n]
    out_dir = os.path.join(BUILD, "conformance", "node")
    os.makedirs(out_dir, exist_ok=True)
    status, detail, jobs = {}, {}, []
    for n in names:
        d = os.path.join(root, n)
        try:
            why = node_skip_reason(onnx.load(os.path.join(d, "model.onnx")))
        except Exception as e:  # noqa: BLE001
            why = "model does not load: %s" % e
        if why or not os.path.exists(os.path.join(d, "test_data_set_0", "output_0.pb")):
            status[n], detail[n] = "skipped", why or "no test data"
        else:
            jobs.append(dict(kind="node", name=n, dir=d, bin=args.bin, out_dir=out_dir))
    print("node tests: %d in %s (%s); %d to convert" % (len(names), root, origin, len(jobs)))
    for job, r in zip(jobs, pool.map(jobs, progress=args.progress("node"))):
        status[job["name"]], detail[job["name"]] = r["status"], "; ".join(r["problems"])
    counts = collections.Counter(status.values())
    regressions = []
    for n in expected:
        if args.k and args.k not in n:
            continue
        st = status.get(n, "missing")
        if st != "pass":
            regressions.append(n)
            print("FAIL  %-50s listed in onnx_node_expected.txt but %s: %s" % (
                n, st, detail.get(n, "no such test in this onnx version")[:300]))
    crashes = sorted(n for n, st in status.items() if st == "crash")
    for n in crashes:
        if n not in regressions:
            print("CRASH %-50s %s" % (n, detail[n][:300]))
    newly = sorted(n for n, st in status.items() if st == "pass" and n not in set(expected))
    if args.verbose:
        for n in sorted(status):
            if status[n] in ("fail", "unsupported") and n not in regressions:
                print("%-11s %-50s %s" % (status[n], n, detail[n][:200]))
    if newly:
        path = os.path.join(BUILD, "onnx_node_newly_passing.txt")
        with open(path, "w") as f:
            f.write("".join(n + "\n" for n in newly))
        shown = newly if args.verbose or len(newly) <= 40 else newly[:40] + ["..."]
        print("newly passing (%d, not yet in tests/onnx_node_expected.txt; list in %s):\n  %s" % (
            len(newly), os.path.relpath(path, REPO), " ".join(shown)))
    print("node tests: %d passed, %d failed, %d unsupported, %d skipped, %d crashed; "
          "%d listed, %d of them not passing" % (
              counts["pass"], counts["fail"], counts["unsupported"], counts["skipped"],
              counts["crash"], len(expected), len(regressions)))
    ok = not regressions and not crashes
    return dict(ok=ok, summary=dict(counts, listed=len(expected), regressions=regressions,
                                    crashes=crashes, newly_passing=newly),
                results={n: dict(status=status[n], detail=detail[n]) for n in sorted(status)})


# ----------------------------------------------------------------------------
# part c: the shared reference models
# ----------------------------------------------------------------------------

TRANSPOSE_EXEMPT = {"shufflenet_v2_x0_5"}   # at most one TRANSPOSE per ONNX Transpose
EXACT_HISTOGRAMS = {"simple_cifar": {"CONV_2D": 5, "MAX_POOL_2D": 2, "RESHAPE": 1, "SOFTMAX": 1}}
VELA_MODELS = ("simple_cifar", "lenet", "digits_cnn", "mobilenet_v2", "squeezenet1_1", "resnet10")


def shared_dir(args):
    d = args.shared or os.path.join(os.path.dirname(REPO), "shared")
    ok = os.path.exists(os.path.join(d, "models", "manifest.json")) and \
        os.path.exists(os.path.join(d, "tools", "eval_tflite.py"))
    return d if ok else None


def model_rules(name, onnx_path, row):
    """The float path's structural rules for one evaluated model."""
    hist = row.get("op_histogram") or {}
    model = onnx_facts.load(onnx_path)
    t_max = onnx_facts.op_histogram(model).get("Transpose", 0) if name in TRANSPOSE_EXEMPT else 0
    problems = structure_problems(model, hist, t_max)
    if name in EXACT_HISTOGRAMS and hist != EXACT_HISTOGRAMS[name]:
        problems.append("ops %s, expected exactly %s" % (hist, EXACT_HISTOGRAMS[name]))
    return problems


def run_eval(args, shared, only, extra, json_path, binary):
    """Runs the reviewers' eval_tflite.py on `only` (None: every model)."""
    cmd = [sys.executable, os.path.join(shared, "tools", "eval_tflite.py"),
           "--models", os.path.join(shared, "models"),
           "--convert", "%s convert {onnx} -o {tflite} -q" % binary,
           "--work", os.path.join(BUILD, "eval"), "--json", json_path] + extra
    if only is not None:
        cmd += ["--only", ",".join(only)]
    print("$ " + " ".join(cmd))
    p = subprocess.run(cmd, env=converter_env(), capture_output=not args.verbose, text=True)
    if not args.verbose:
        print((p.stdout or "") + (p.stderr[-2000:] if p.returncode not in (0, 1) else ""), end="")
    if not os.path.exists(json_path):
        return None, "eval_tflite.py exit %d and no results" % p.returncode
    with open(json_path) as f:
        return json.load(f), None


def model_names(shared):
    with open(os.path.join(shared, "models", "manifest.json")) as f:
        doc = json.load(f)
    return [m["name"] for m in (doc["models"] if isinstance(doc, dict) else doc)]


def part_models(args, pool):
    shared = shared_dir(args)
    if not shared:
        print("models: SKIP (no ../shared/models with manifest.json and tools/eval_tflite.py)")
        return dict(ok=True, skipped="no shared models")
    only = [n for n in model_names(shared) if args.k in n] if args.k else None
    if only == []:
        print("models: nothing matches -k %s" % args.k)
        return dict(ok=True, skipped="-k")
    json_path = os.path.join(BUILD, "eval", "results.json")
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    doc, err = run_eval(args, shared, only, [], json_path, args.bin)
    if doc is None:
        print("FAIL  models: " + err)
        return dict(ok=False, problems=[err])
    rows, failed = [], 0
    mdir = os.path.join(shared, "models")
    for row in doc["results"]:
        name = row["name"]
        problems = []
        if row["status"] == "FAIL":
            problems.append("FAIL rel=%.3g (%s)" % (row.get("rel", float("nan")), row.get("tolerance")))
        elif row["status"] != "PASS":
            log = row.get("error") or row.get("convert_log_tail") or ""
            problems.append("%s%s: %s" % (row["status"], " (sanitizer)" if SAN_TEXT.search(log) else "",
                                          tail(log, 2)))
        if row.get("op_histogram") is not None:
            problems += model_rules(name, os.path.join(mdir, name + ".onnx"), row)
        failed += bool(problems)
        rows.append(dict(name=name, status=row["status"], problems=problems,
                         ops=row.get("op_histogram"), rel=row.get("rel")))
        print("%-5s %-22s %s" % ("ok" if not problems else "FAIL", name, "; ".join(problems)[:500]))
    print("models: %d of %d pass every rule" % (len(rows) - failed, len(rows)))
    return dict(ok=failed == 0, summary=dict(models=len(rows), failed=failed), results=rows)


# ----------------------------------------------------------------------------
# part q: int8 + Vela (waits for --quantize int8)
# ----------------------------------------------------------------------------

def part_quant(args, pool):
    shared = shared_dir(args)
    if not shared:
        print("quant: SKIP (no ../shared/models)")
        return dict(ok=True, skipped="no shared models")
    probe_dir = tempfile.mkdtemp(prefix="o2l-quant-")
    try:
        probe = run_cli([args.bin, "convert", os.path.join(shared, "models", "digits_cnn.onnx"),
                         "-o", os.path.join(probe_dir, "probe.tflite"), "-q", "--quantize", "int8",
                         "--calib", os.path.join(shared, "models", "digits_calib.npy")])
    finally:
        shutil.rmtree(probe_dir, ignore_errors=True)
    if probe["crash"]:
        print("FAIL  quant: converter %s" % probe["crash"])
        return dict(ok=False, problems=[probe["crash"]])
    if probe["rc"] != 0 and "not available" in probe["err"]:
        print("quant: SKIP (--quantize int8 is not available yet: %s)" % tail(probe["err"], 1))
        return dict(ok=True, skipped="int8 not available")
    names = [n for n in VELA_MODELS if not args.k or args.k in n]
    if not names:
        print("quant: nothing matches -k %s" % args.k)
        return dict(ok=True, skipped="-k")
    json_path = os.path.join(BUILD, "eval", "results_int8.json")
    # Calibration runs every sample through the float model: minutes per
    # model under ASan, so the sanitized binary only does the probe above.
    fast = args.fast_bin if os.access(args.fast_bin, os.X_OK) else args.bin
    # The bar: cosine >= 0.98 and digits_cnn within 0.5 points of
    # its float accuracy.  With the default minmax ranges mobilenet_v2 stays
    # at 0.973 (its error grows layer by layer, not from outliers; see
    # tests/check_quant.py), so this check calibrates with --calib-method
    # mse; check_quant.py holds minmax to its own regression bar.
    doc, err = run_eval(args, shared, names, ["--quant", "int8",
                                              "--quant-flag=--quantize int8 --calib-method mse",
                                              "--calib-flag=--calib {calib}",
                                              "--int8-cosine", "0.98", "--max-acc-drop", "0.005"],
                        json_path, fast)
    if doc is None:
        print("FAIL  quant: " + err)
        return dict(ok=False, problems=[err])
    problems = ["%s int8: %s (cosine %.4f; needs %s)" % (r["name"], r["status"], r.get("cosine", 0), r.get("tolerance"))
                for r in doc["results"] if r["status"] != "PASS"]
    vela = os.path.join(os.path.dirname(sys.executable), "vela")
    vela_rows = {}
    if not os.path.exists(vela):
        print("quant: Vela check SKIPPED (no vela next to %s)" % sys.executable)
    else:
        out_dir = os.path.join(BUILD, "eval", "vela")
        os.makedirs(out_dir, exist_ok=True)
        for n in names:
            tfl = os.path.join(BUILD, "eval", n + ".int8.tflite")
            if not os.path.exists(tfl):
                problems.append("%s: no int8 .tflite for Vela" % n)
                continue
            p = subprocess.run([vela, "--output-dir", out_dir, tfl], capture_output=True, text=True)
            m = re.search(r"CPU operators = (\d+)", p.stdout)
            cpu = int(m.group(1)) if m else None
            vela_rows[n] = dict(rc=p.returncode, cpu_operators=cpu)
            if p.returncode != 0 or cpu != 0:
                problems.append("%s: Vela %s" % (n, "CPU operators = %s" % cpu if p.returncode == 0
                                                 else "exit %d: %s" % (p.returncode, tail(p.stderr or p.stdout, 2))))
            print("%-5s %-22s Vela CPU operators = %s" % ("ok" if cpu == 0 else "FAIL", n, cpu))
    for pr in problems:
        print("FAIL  " + pr)
    print("quant: %d problem(s)" % len(problems))
    return dict(ok=not problems, problems=problems, vela=vela_rows)


# ----------------------------------------------------------------------------
# part d: error paths of the command line
# ----------------------------------------------------------------------------

def part_errors(args, pool):
    import onnx
    with open(os.path.join(FIXTURES, "expect.json")) as f:
        doc = json.load(f)
    rows = []
    base = os.path.join(FIXTURES, "cnn_bn_gemm.onnx")
    sym = os.path.join(FIXTURES, "symbolic_batch.onnx")
    tmp_root = os.path.join(BUILD, "conformance", "errors")
    os.makedirs(tmp_root, exist_ok=True)

    def case(name, argv_tail, exits, words=(), src_bytes=None, stdout_words=(), out_name="out.tflite"):
        """Runs onnx2lite with argv_tail ({out} and {src} substituted) in a
        fresh folder; checks exit status, words in stderr (stdout), and that
        nothing was written."""
        if args.k and args.k not in name:
            return
        d = tempfile.mkdtemp(prefix=name + ".", dir=tmp_root)
        src = None
        if src_bytes is not None:
            src = os.path.join(d, "model.onnx")
            with open(src, "wb") as f:
                f.write(src_bytes)
        before = set(os.listdir(d))
        argv = [args.bin] + [a.replace("{out}", os.path.join(d, out_name)).replace("{src}", src or "")
                             for a in argv_tail]
        r = run_cli(argv)
        problems = []
        if r["crash"]:
            problems.append("converter " + r["crash"])
        elif r["rc"] not in exits:
            problems.append("exit %s, expected %s" % (r["rc"], " or ".join(map(str, exits))))
        text = r["err"] if not stdout_words else r["out"]
        for w in list(words) + list(stdout_words):
            if not re.search(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(w), text):
                problems.append("%s does not mention %r" % ("stdout" if stdout_words else "stderr", w))
        if not stdout_words:
            left = set(os.listdir(d)) - before
            if left:
                problems.append("left files behind: %s" % sorted(left))
        shutil.rmtree(d, ignore_errors=True)
        rows.append(dict(name=name, argv=argv, rc=r["rc"], problems=problems,
                         stderr=tail(r["err"], 4), stdout=r["out"][-1500:] if stdout_words else ""))
        if problems or args.verbose:
            print("%-5s %-28s %s%s" % ("FAIL" if problems else "ok", name, "; ".join(problems),
                                       ("  [stderr: %s]" % tail(r["err"], 2)) if problems else ""))

    data = open(base, "rb").read()
    for frac in (3, 2):     # inside the graph field: a length runs past the end
        cut = data[:len(data) * (frac - 1) // frac]
        try:
            onnx.load_from_string(cut)
            raise SystemExit("internal: cutting %s at %d still parses" % (base, len(cut)))
        except SystemExit:
            raise
        except Exception:  # noqa: BLE001 - the point: it must not parse
            pass
        case("truncated_%d_of_%d" % (len(cut), len(data)), ["convert", "{src}", "-o", "{out}"],
             [1], ["byte"], src_bytes=cut)
    case("empty_file", ["convert", "{src}", "-o", "{out}"], [1], src_bytes=b"")
    case("not_onnx", ["convert", "{src}", "-o", "{out}"], [1],
         src_bytes=b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    for name, e in sorted(doc["errors"].items()):
        case(name, ["convert", os.path.join(FIXTURES, e["file"]), "-o", "{out}"], e["exit"], e["stderr"])
    case("input_shape_wrong_rank", ["convert", sym, "-o", "{out}", "--input-shape", "pixels=1,3,8"],
         [64, 1], ["pixels"])
    case("input_shape_unknown_name", ["convert", sym, "-o", "{out}", "--input-shape", "nosuch=1,3,8,7"],
         [64, 1], ["nosuch"])
    case("input_shape_conflict", ["convert", base, "-o", "{out}", "--input-shape", "input=1,3,20,20"],
         [64, 1], ["input"])
    case("nonexistent_file", ["convert", "/nonexistent/model.onnx", "-o", "{out}"], [1],
         ["/nonexistent/model.onnx"])
    case("output_dir_missing", ["convert", base, "-o", "/nonexistent/dir/out.tflite"], [1],
         ["/nonexistent/dir/out.tflite"])
    case("missing_output_option", ["convert", base], [64])
    case("missing_option_value", ["convert", base, "-o"], [64])
    case("unknown_option", ["convert", base, "-o", "{out}", "--frobnicate"], [64], ["--frobnicate"])
    case("unknown_quantize_mode", ["convert", base, "-o", "{out}", "--quantize", "int3"], [64], ["int3"])
    case("no_command", [], [64])
    case("unknown_command", ["transmogrify"], [64], ["transmogrify"])
    case("inspect_nonexistent", ["inspect", "/nonexistent/x.tflite"], [1])
    case("inspect_truncated", ["inspect", "{src}"], [1], src_bytes=data[:len(data) // 2])

    onnx_hist = onnx_facts.op_histogram(base)
    case("inspect_onnx", ["inspect", base], [0],
         stdout_words=[w for op, n in onnx_hist.items() for w in (op, str(n))])
    out = os.path.join(tmp_root, "tiny_cnn.tflite")
    if not args.k or args.k in "inspect_tflite":   # the README's first command, then inspect
        r = run_cli([args.bin, "convert", os.path.join(REPO, "examples", "tiny_cnn.onnx"), "-o", out])
        if r["rc"] == 0 and not r["crash"]:
            hist = tflite_ops(out)
            case("inspect_tflite", ["inspect", out], [0],
                 stdout_words=[w for op, n in hist.items() for w in (op, str(n))])
        else:
            rows.append(dict(name="inspect_tflite", problems=["cannot make a .tflite to inspect: %s" % (
                r["crash"] or "exit %s: %s" % (r["rc"], tail(r["err"], 1)))]))
            print("FAIL  %-28s %s" % ("inspect_tflite", rows[-1]["problems"][0]))
    failed = sum(bool(r["problems"]) for r in rows)
    print("errors: %d of %d cases pass" % (len(rows) - failed, len(rows)))
    return dict(ok=failed == 0, summary=dict(cases=len(rows), failed=failed), results=rows)


# ----------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------

PART_FUNCS = {"fixtures": part_fixtures, "node": part_node, "models": part_models,
              "errors": part_errors, "quant": part_quant}


def parse_parts(s):
    parts = []
    for p in filter(None, (s or "").split(",")):
        p = PART_LETTERS.get(p, p)
        if p not in PARTS:
            raise SystemExit("unknown part %r (one of %s, or a/b/c/d/q)" % (p, ", ".join(PARTS)))
        parts.append(p)
    return parts or list(PARTS)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(BUILD, "asan", "onnx2lite"))
    ap.add_argument("--fast-bin", default=os.path.join(BUILD, "onnx2lite"),
                    help="optimized build for the int8 evaluation (default build/onnx2lite)")
    ap.add_argument("--only", default="", help="comma-separated parts: %s" % ",".join(PARTS))
    ap.add_argument("-k", default="", help="only tests/models whose name contains this")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--jobs", "-j", type=int, default=min(4, os.cpu_count() or 1))
    ap.add_argument("--shared", default=None, help="folder with models/ and tools/ (default ../shared)")
    ap.add_argument("--json", default=os.path.join(BUILD, "conformance.json"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker_main()
    args.bin = os.path.abspath(args.bin)
    args.fast_bin = os.path.abspath(args.fast_bin)
    if not os.access(args.bin, os.X_OK):
        print("no converter at %s (make asan)" % args.bin, file=sys.stderr)
        return 1
    tty = sys.stderr.isatty()

    def progress(label):
        if not tty:
            return None

        def show(done, total):
            sys.stderr.write("\r%s %d/%d" % (label, done, total) + ("\n" if done == total else ""))
            sys.stderr.flush()
        return show
    args.progress = progress
    parts = parse_parts(args.only)
    log_dir = os.path.join(BUILD, "conformance")
    os.makedirs(log_dir, exist_ok=True)
    pool = Pool(args.jobs, log_dir)
    report = dict(bin=args.bin, parts={})
    t0 = time.time()
    try:
        for part in parts:
            print("\n== %s ==" % part, flush=True)
            t = time.time()
            res = PART_FUNCS[part](args, pool)
            res["seconds"] = round(time.time() - t, 1)
            report["parts"][part] = res
            sys.stdout.flush()
    finally:
        pool.close()
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1, default=str)
    print("\n== summary (%.0f s; details in %s) ==" % (time.time() - t0, os.path.relpath(args.json, REPO)))
    bad = []
    for part in parts:
        r = report["parts"][part]
        state = "SKIP" if r.get("skipped") else ("ok" if r["ok"] else "FAIL")
        print("  %-9s %s" % (part, state))
        if not r["ok"]:
            bad.append(part)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
