#!/usr/bin/env python3
"""Generate sampler/python/pylayouts.c: CPython struct layouts, one per minor version.

For every CPython installed through pyenv (`pyenv root`, or $PYENV_ROOT, then
versions/*), this compiles a small probe program against that version's own
headers (Py_BUILD_CORE defined, so the internal headers under
include/pythonX.Y/internal can be used), runs it, and writes the offsets and
sizes it prints into a table of `struct py_layout` (see sampler/python/pylayout.h).

Usage:  scripts/gen-pylayouts.py [-o sampler/python/pylayouts.c] [VERSION...]
        (default: every pyenv version; the newest patch of each minor wins)

Each field has candidate C expressions, tried in order; the first that
compiles gives the value, and a field none of whose candidates compiles is
PYL_NONE.  Renamed fields (tstate_head -> threads.head, f_code ->
f_executable) are just two candidates.

To add a version (say 3.14):
  1. `pyenv install 3.14.x` with a shared build: it installs the headers,
     internal ones included (env PYTHON_CONFIGURE_OPTS=--enable-shared).
  2. Add its internal headers to INCLUDES below if the structs moved, and a
     candidate for every field that was renamed; check the output of
     `scripts/gen-pylayouts.py 3.14.x` by hand (PYL_NONE where a field should
     exist means a missing candidate).
  3. Rules that are not offsets (frame kind, line-table format, string kind)
     are in semantics() below.
  4. Run it, commit sampler/python/pylayouts.c, and add line-table cases to
     tests/test_pylines.c (scripts/gen-pylines-cases.py).
"""
import os
import re
import subprocess
import sys
import tempfile

# Headers to include, by (major, minor) from which they apply.
INCLUDES = [
    ((2, 7), ["Python.h", "frameobject.h"]),
    ((3, 7), ["Python.h", "frameobject.h", "internal/pystate.h"]),
    ((3, 8), ["Python.h", "frameobject.h", "internal/pycore_pystate.h"]),
    ((3, 9), ["Python.h", "frameobject.h", "internal/pycore_interp.h",
              "internal/pycore_runtime.h"]),
    ((3, 10), ["Python.h", "frameobject.h", "internal/pycore_interp.h",
               "internal/pycore_runtime.h", "internal/pycore_moduleobject.h"]),
    ((3, 11), ["Python.h", "internal/pycore_frame.h", "internal/pycore_interp.h",
               "internal/pycore_runtime.h", "internal/pycore_code.h",
               "internal/pycore_dict.h", "internal/pycore_moduleobject.h"]),
]

UNI_STATE = ("({ PyASCIIObject o; unsigned int w = 0; memset(&o, 0, sizeof o); o.state.%s = %s;"
             " memcpy(&w, (char *)&o + offsetof(PyASCIIObject, state), 4); (long)w; })")

# field -> candidate expressions (each a C long expression).
FIELDS = [
    ("rt_interp_head", ["offsetof(_PyRuntimeState, interpreters.head)"]),
    ("rt_interp_main", ["offsetof(_PyRuntimeState, interpreters.main)"]),
    ("rt_gil", ["offsetof(_PyRuntimeState, ceval.gil)"]),
    ("rt_tstate_current", ["offsetof(_PyRuntimeState, gilstate.tstate_current)"]),
    ("is_next", ["offsetof(PyInterpreterState, next)"]),
    ("is_tstate_head", ["offsetof(PyInterpreterState, threads.head)",
                        "offsetof(PyInterpreterState, tstate_head)"]),
    # Only where ceval.gil is a pointer (3.12+), not an embedded struct.
    ("is_gil_ptr", ["__builtin_choose_expr(__builtin_types_compatible_p("
                    "__typeof__(((PyInterpreterState *)0)->ceval.gil), struct _gil_runtime_state *),"
                    " offsetof(PyInterpreterState, ceval.gil), (void)0)"]),
    ("gil_locked", ["offsetof(struct _gil_runtime_state, locked)"]),
    ("gil_last_holder", ["offsetof(struct _gil_runtime_state, last_holder)"]),
    ("ts_next", ["offsetof(PyThreadState, next)"]),
    ("ts_interp", ["offsetof(PyThreadState, interp)"]),
    ("ts_frame", ["offsetof(PyThreadState, current_frame)", "offsetof(PyThreadState, frame)"]),
    ("ts_cframe", ["offsetof(PyThreadState, cframe)"]),
    ("cframe_current", ["offsetof(_PyCFrame, current_frame)"]),
    ("ts_thread_id", ["offsetof(PyThreadState, thread_id)"]),
    ("ts_native_thread_id", ["offsetof(PyThreadState, native_thread_id)"]),
    ("f_back", ["offsetof(PyFrameObject, f_back)"]),
    ("f_code", ["offsetof(PyFrameObject, f_code)"]),
    ("f_lasti", ["offsetof(PyFrameObject, f_lasti)"]),
    ("f_lineno", ["offsetof(PyFrameObject, f_lineno)"]),
    ("if_previous", ["offsetof(_PyInterpreterFrame, previous)"]),
    ("if_code", ["offsetof(_PyInterpreterFrame, f_executable)",
                 "offsetof(_PyInterpreterFrame, f_code)"]),
    ("if_prev_instr", ["offsetof(_PyInterpreterFrame, prev_instr)"]),
    ("if_instr_ptr", ["offsetof(_PyInterpreterFrame, instr_ptr)"]),
    ("if_owner", ["offsetof(_PyInterpreterFrame, owner)"]),
    ("if_owner_generator", ["(long)FRAME_OWNED_BY_GENERATOR"]),
    ("if_owner_cstack", ["(long)FRAME_OWNED_BY_CSTACK"]),
    ("if_is_entry", ["offsetof(_PyInterpreterFrame, is_entry)"]),
    ("co_filename", ["offsetof(PyCodeObject, co_filename)"]),
    ("co_name", ["offsetof(PyCodeObject, co_name)"]),
    ("co_qualname", ["offsetof(PyCodeObject, co_qualname)"]),
    ("co_firstlineno", ["offsetof(PyCodeObject, co_firstlineno)"]),
    ("co_linetable", ["offsetof(PyCodeObject, co_linetable)",
                      "offsetof(PyCodeObject, co_lnotab)"]),
    ("co_code_adaptive", ["offsetof(PyCodeObject, co_code_adaptive)"]),
    ("co_firsttraceable", ["offsetof(PyCodeObject, _co_firsttraceable)"]),
    ("code_size", ["sizeof(PyCodeObject)"]),
    ("ob_type", ["offsetof(PyObject, ob_type)"]),
    ("bytes_size", ["offsetof(PyVarObject, ob_size)"]),
    ("bytes_sval", ["offsetof(PyBytesObject, ob_sval)", "offsetof(PyStringObject, ob_sval)"]),
    ("uni_length", ["offsetof(PyASCIIObject, length)"]),
    ("uni_state", ["offsetof(PyASCIIObject, state)"]),
    ("uni_ascii_size", ["sizeof(PyASCIIObject)"]),
    ("uni_compact_size", ["sizeof(PyCompactUnicodeObject)"]),
    ("uni_kind_mask", [UNI_STATE % ("kind", "7")]),
    ("uni_compact_mask", [UNI_STATE % ("compact", "1")]),
    ("uni_ascii_mask", [UNI_STATE % ("ascii", "1")]),
    # Thread names: sys.modules -> threading -> _active -> Thread._name.
    ("is_modules", ["offsetof(PyInterpreterState, imports.modules)",
                    "offsetof(PyInterpreterState, modules)"]),
    ("md_dict", ["offsetof(PyModuleObject, md_dict)"]),
    ("dict_used", ["offsetof(PyDictObject, ma_used)"]),
    ("dict_keys", ["offsetof(PyDictObject, ma_keys)"]),
    ("dict_values", ["offsetof(PyDictObject, ma_values)"]),
    ("dict_hashmask", ["offsetof(PyDictObject, ma_mask)"]),
    ("dict_table", ["offsetof(PyDictObject, ma_table)"]),
    ("dk_size", ["offsetof(PyDictKeysObject, dk_size)"]),
    ("dk_log2_size", ["offsetof(PyDictKeysObject, dk_log2_size)"]),
    ("dk_log2_index_bytes", ["offsetof(PyDictKeysObject, dk_log2_index_bytes)"]),
    ("dk_kind", ["offsetof(PyDictKeysObject, dk_kind)"]),
    ("dk_nentries", ["offsetof(PyDictKeysObject, dk_nentries)"]),
    ("dk_indices", ["offsetof(PyDictKeysObject, dk_indices)"]),
    ("dk_kind_general", ["(long)DICT_KEYS_GENERAL"]),
    ("dv_values", ["offsetof(PyDictValues, values)"]),
    ("tp_dictoffset", ["offsetof(PyTypeObject, tp_dictoffset)"]),
    ("ht_cached_keys", ["offsetof(PyHeapTypeObject, ht_cached_keys)"]),
    ("long_digits", ["offsetof(PyLongObject, long_value.ob_digit)",
                     "offsetof(PyLongObject, ob_digit)"]),
    ("long_tag", ["offsetof(PyLongObject, long_value.lv_tag)"]),
    ("int_ival", ["offsetof(PyIntObject, ob_ival)"]),
]

# 3.6-3.10 keep PyDictKeysObject in Objects/dict-common.h, which is not
# installed: its fields, from that file (the same in all five), are given
# here.  PyModuleObject before 3.10: md_dict follows the object header.
DICT_COMMON = {"dk_size": 8, "dk_nentries": 32, "dk_indices": 40}
MODULE_MD_DICT = 16

# Fields whose absence is an error (they are needed on every version).
REQUIRED = {"ts_next", "ts_interp", "ts_thread_id", "is_next", "is_tstate_head",
            "co_filename", "co_name", "co_firstlineno", "co_linetable", "bytes_sval"}


def pyenv_root():
    root = os.environ.get("PYENV_ROOT")
    if not root:
        try:
            root = subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            sys.exit("gen-pylayouts: pyenv not found; set PYENV_ROOT")
    return root


def include_dir(prefix, mm):
    for suffix in ("", "m", "dm", "d"):
        d = os.path.join(prefix, "include", "python%d.%d%s" % (mm[0], mm[1], suffix))
        if os.path.isdir(d):
            return d
    return None


def program(mm, cands):
    incs = [h for since, hs in INCLUDES if mm >= since for h in [hs]][-1]
    lines = ["#define Py_BUILD_CORE 1", "#include <stddef.h>", "#include <stdio.h>",
             "#include <string.h>"]
    lines += ['#include "%s"' % h for h in incs]
    body = ["int main(void)", "{"]
    for name, k, expr in cands:
        body.append('    printf("%s %%ld\\n", (long)(%s));' % (name, expr))
    body += ['    printf("version %s\\n", PY_VERSION);', "    return 0;", "}"]
    return "\n".join(lines + body) + "\n"


def compile_probe(src, inc, tmp, run=False):
    c = os.path.join(tmp, "probe.c")
    exe = os.path.join(tmp, "probe")
    with open(c, "w") as f:
        f.write(src)
    cmd = ["cc", "-std=gnu11", "-w", "-I", inc, "-I", os.path.join(inc, "internal"), c]
    cmd += ["-o", exe] if run else ["-fsyntax-only"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if not run:
        return r.returncode, r.stderr
    if r.returncode:
        sys.exit("gen-pylayouts: probe does not compile:\n" + r.stderr[:3000])
    return 0, subprocess.run([exe], capture_output=True, text=True, check=True).stdout


def probe(prefix, mm, tmp):
    inc = include_dir(prefix, mm)
    if not inc:
        raise RuntimeError("no headers under %s/include" % prefix)
    cands = [(n, k, e) for n, es in FIELDS for k, e in enumerate(es)]
    # Drop the candidates that do not compile (errors name their line).
    while True:
        src = program(mm, cands)
        rc, err = compile_probe(src, inc, tmp)
        if rc == 0:
            break
        first = src.count("\n", 0, src.index("int main")) + 3
        bad = {int(m) for m in re.findall(r"probe\.c:(\d+):\d+: error", err)}
        drop = {i for i in range(len(cands)) if first + i in bad}
        if not drop:
            sys.exit("gen-pylayouts: headers of %d.%d do not compile:\n%s" % (mm + (err[:3000],)))
        cands = [c for i, c in enumerate(cands) if i not in drop]
    # First surviving candidate of each field.
    seen, chosen = set(), []
    for n, k, e in cands:
        if n not in seen:
            seen.add(n)
            chosen.append((n, k, e))
    _, out = compile_probe(program(mm, chosen), inc, tmp, run=True)
    vals = {}
    for line in out.splitlines():
        key, val = line.split(" ", 1)
        vals[key] = val if key == "version" else int(val)
    missing = REQUIRED - set(vals)
    if missing:
        sys.exit("gen-pylayouts: %d.%d lacks %s" % (mm + (", ".join(sorted(missing)),)))
    return vals


def semantics(mm):
    """The rules that are not offsets."""
    return {
        "root": "PYL_ROOT_RUNTIME" if mm >= (3, 7) else "PYL_ROOT_INTERP_HEAD",
        "frame_kind": "PYL_FRAME_INTERP" if mm >= (3, 11) else "PYL_FRAME_OBJECT",
        "str_kind": "PYL_STR_UNICODE" if mm >= (3, 0) else "PYL_STR_BYTES",
        "line_format": ("PYLINES_LOCATIONS_311" if mm >= (3, 11) else
                        "PYLINES_LINETABLE_310" if mm >= (3, 10) else
                        "PYLINES_LNOTAB" if mm >= (3, 6) else "PYLINES_LNOTAB_UNSIGNED"),
        "f_lasti_scale": 2 if mm == (3, 10) else 1,
        # where an instance's attributes are (see pylayout.h)
        "inst_dict": ("PYL_INST_INLINE_313" if mm >= (3, 13) else
                      "PYL_INST_TAGGED_312" if mm >= (3, 12) else
                      "PYL_INST_MANAGED_311" if mm >= (3, 11) else "PYL_INST_DICTOFFSET"),
    }


def emit(layouts, out):
    names = [n for n, _ in FIELDS]
    w = ["/*",
         " * pylayouts.c - GENERATED by scripts/gen-pylayouts.py from the headers",
         " * of the CPythons listed below; do not edit, re-run the script.",
         " */",
         '#include "pylayout.h"', "",
         "const struct py_layout py_layouts[] = {"]
    for mm, vals in layouts:
        sem = semantics(mm)
        if (3, 6) <= mm < (3, 11):
            for k, v in DICT_COMMON.items():
                vals.setdefault(k, v)
        vals.setdefault("md_dict", MODULE_MD_DICT)
        w.append("    {")
        w.append("        .major = %d, .minor = %d, .probed = \"%s\"," % (mm + (vals["version"],)))
        for k, v in sem.items():
            w.append("        .%s = %s," % (k, v))
        for n in names:
            v = vals.get(n, "PYL_NONE")
            if n.endswith("_mask"):
                v = "0x%xu" % v if v != "PYL_NONE" else "0"
            w.append("        .%s = %s," % (n, v))
        w.append("    },")
    w += ["};", "",
          "const size_t py_layouts_count = sizeof py_layouts / sizeof py_layouts[0];", ""]
    with open(out, "w") as f:
        f.write("\n".join(w))
    # The repo's style, if clang-format is there (the values do not change).
    try:
        subprocess.run(["clang-format", "-i", out], check=False)
    except OSError:
        pass


def main():
    args = sys.argv[1:]
    out = "sampler/python/pylayouts.c"
    if args[:1] == ["-o"]:
        out, args = args[1], args[2:]
    vdir = os.path.join(pyenv_root(), "versions")
    versions = args or sorted(os.listdir(vdir))
    best = {}
    for v in versions:
        m = re.match(r"^(\d+)\.(\d+)\.(\d+)$", v)
        if not m:
            continue  # not a plain CPython release (pypy, a venv...)
        mm, patch = (int(m.group(1)), int(m.group(2))), int(m.group(3))
        if mm not in best or patch > best[mm][0]:
            best[mm] = (patch, v)
    layouts = []
    with tempfile.TemporaryDirectory() as tmp:
        for mm in sorted(best):
            v = best[mm][1]
            layouts.append((mm, probe(os.path.join(vdir, v), mm, tmp)))
            print("gen-pylayouts: %s probed" % v, file=sys.stderr)
    emit(layouts, out)


if __name__ == "__main__":
    main()
