#!/bin/sh
# speedscope, SVG flame graph and Markdown report on real fixture runs:
# the speedscope file validated against the schema the speedscope npm
# package ships (with ajv), the SVG parsed as XML with every frame's width
# checked against its count and its shares against a folded run of the same
# process, the report's sections on a CPU-bound and on a memory/I/O fixture,
# and the Result section against a baseline.  Without the npm registry the
# schema check cannot run: the test then ends as SKIP (77) when all else
# passed, never as a pass.
. "$(dirname "$0")/lib.sh"

BUILD_DIR=${BUILD_DIR:-.}
NPM_DIR="$BUILD_DIR/tests/.npm-web"
NPM_SKIPPED=""

# ---------------------------------------------------------------- helpers

# svg_check SVG [SNAPSHOT [FOLDED]]: XML parses; every frame's width is its
# count's share of the plot; children fit in their parents.  SNAPSHOT, the
# text snapshot of the same run: the same samples, and each function's
# total % equal to the one the frames give (to its rounding).  FOLDED, a
# folded profile of another run of the same process: each stack of 10% or
# more of it is a path of frames.
svg_check() {
    python3 - "$@" <<'PY'
import re, sys
import xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
assert root.find("s:script", ns) is not None, "no embedded script"
group = root.find(".//s:g[@id='frames']", ns)
frames = []
for g in group.findall("s:g", ns):
    title = g.find("s:title", ns).text
    m = re.match(r"^(.*) \((\d+) samples?, ([\d.]+)%\)$", title, re.S)
    assert m, "bad title %r" % title
    r = g.find("s:rect", ns)
    frames.append(dict(name=m.group(1), n=int(m.group(2)), pct=float(m.group(3)),
                       s=int(g.get("data-s")),
                       x=float(r.get("x")), w=float(r.get("width")), y=int(r.get("y"))))
top = [f for f in frames if f["name"] == "all"][0]
total = top["n"]
assert total > 0, "no samples"
plot = top["w"]
bad = 0
for f in frames:
    want = f["n"] * plot / total
    if abs(f["x"] - top["x"] - f["s"] * plot / total) > 0.002:
        bad += 1
        print("data-s off: %r" % f)
    if abs(f["w"] - want) > 0.002 or abs(f["pct"] - 100.0 * f["n"] / total) > 0.006:
        bad += 1
        print("width off: %r" % f)
    if f["x"] < top["x"] - 3e-3 or f["x"] + f["w"] > top["x"] + plot + 3e-3:
        bad += 1
        print("outside the plot: %r" % f)
# parents: the frame one level down (y + 16) whose range holds it
bylevel = {}
for f in frames:
    bylevel.setdefault(f["y"], []).append(f)
for f in frames:
    if f is top:
        continue
    # x and width are each rounded to 0.0005: ends may differ by 0.0015
    ps = [p for p in bylevel.get(f["y"] + 16, []) if p["x"] - 3e-3 <= f["x"] and
          f["x"] + f["w"] <= p["x"] + p["w"] + 3e-3]
    if len(ps) != 1:
        bad += 1
        print("no single parent for %r" % f)
        continue
    f["parent"] = ps[0]
    ps[0].setdefault("kids", 0)
    ps[0]["kids"] += f["n"]
for f in frames:
    if f.get("kids", 0) > f["n"]:
        bad += 1
        print("children exceed their parent: %r" % f)
print("svg: %d frames, %d samples, %d problems" % (len(frames), total, bad))
def path(f):
    p = []
    while "parent" in f:
        p.append(f["name"])
        f = f["parent"]
    return tuple(reversed(p))
# per function: samples with it on the stack, counted at its outermost frame
svg_total = {}
for f in frames:
    if f is top:
        continue
    p = path(f)
    if f["name"] in p[:-1]:
        continue
    svg_total[f["name"]] = svg_total.get(f["name"], 0) + f["n"]
if len(sys.argv) > 2 and sys.argv[2]:
    # the text snapshot of the same run: its samples and the TOTAL% column
    text = open(sys.argv[2]).read()
    m = re.search(r"^samples: +(\d+)", text, re.M)
    if not m or int(m.group(1)) != total:
        bad += 1
        print("samples: snapshot %s, svg %d" % (m and m.group(1), total))
    rows = re.findall(r"^ *([\d.]+)% +([\d.]+)% +\d+ +(\S+)", text, re.M)
    assert rows, "no hot table in the snapshot"
    for self_pct, total_pct, name in rows:
        b = 100.0 * svg_total.get(name, 0) / total
        flag = "ok" if abs(float(total_pct) - b) <= 0.06 else "OFF"
        print("%s: %s total %s%% in the snapshot, %.2f%% in the svg" % (flag, name, total_pct, b))
        if flag != "ok":
            bad += 1
if len(sys.argv) > 3:
    # another run of the same process, folded: its heavy stacks are there
    paths = set(path(f) for f in frames if f is not top)
    fold, fold_n = {}, 0
    for line in open(sys.argv[3]):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        fold_n += int(count)
        fold[tuple(stack.split(";"))] = fold.get(tuple(stack.split(";")), 0) + int(count)
    for p, c in sorted(fold.items()):
        if c >= 0.10 * fold_n and p not in paths:
            bad += 1
            print("OFF: %d%% of the folded run is %s, not in the svg" % (100 * c // fold_n, ";".join(p)))
sys.exit(1 if bad else 0)
PY
}

# speedscope_check JSON TID: structure the schema does not cover: one
# profile per thread named name-tid, weights adding up to endValue, frames
# with file and line for the fixture's functions.
speedscope_check() {
    python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["exporter"].startswith("pertop "), d["exporter"]
names = [p["name"] for p in d["profiles"]]
assert any(n.endswith("-" + sys.argv[2]) for n in names), names
frames = d["shared"]["frames"]
for p in d["profiles"]:
    assert p["type"] == "sampled" and p["unit"] == "nanoseconds", p["unit"]
    assert sum(p["weights"]) == p["endValue"], p["name"]
    assert len(p["samples"]) == len(p["weights"])
    assert all(0 <= i < len(frames) for s in p["samples"] for i in s)
ci = [f for f in frames if f["name"] == "compute_inner"]
assert ci and ci[0]["file"].endswith("cpu_mix.c") and ci[0]["line"] > 0, ci
print("speedscope: %d profiles %s, %d frames" % (len(names), names, len(frames)))
PY
}

# npm_ready: speedscope (its schema), ajv and jsdom installed under the
# build tree on first use; false (with NPM_SKIPPED saying why) when they
# cannot be.
npm_ready() {
    [ -n "$NPM_SKIPPED" ] && return 1
    for m in speedscope ajv jsdom; do
        [ -f "$NPM_DIR/node_modules/$m/package.json" ] && continue
        if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
            NPM_SKIPPED="node or npm missing (scripts/install-deps.sh --test installs them)"
            return 1
        fi
        mkdir -p "$NPM_DIR"
        if ! timeout 300 npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
            speedscope ajv jsdom >"$TMP/npm.log" 2>&1; then
            NPM_SKIPPED="npm could not install speedscope, ajv and jsdom: $(grep -m1 -i \
                'err' "$TMP/npm.log")"
            return 1
        fi
        break
    done
    return 0
}

# schema_check JSON: validates against the speedscope package's schema with
# ajv.
schema_check() {
    npm_ready || return 0
    schema=$(find "$NPM_DIR/node_modules/speedscope" -name 'file-format-schema.json' | head -n1)
    if [ -z "$schema" ]; then
        fail "the speedscope package ships no file-format-schema.json"
        return 0
    fi
    NODE_PATH="$NPM_DIR/node_modules" node - "$schema" "$1" <<'JS'
const fs = require("fs");
const Ajv = require("ajv");
const schema = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const data = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const validate = new Ajv({allErrors: true, strict: false}).compile(schema);
if (!validate(data)) {
    console.log(JSON.stringify(validate.errors, null, 1).slice(0, 2000));
    process.exit(1);
}
console.log("valid against " + process.argv[2]);
JS
    check "speedscope file valid against the speedscope package's schema" [ $? -eq 0 ]
}

# svg_js_check SVG: runs the flame graph's own script in jsdom: hover shows
# the title, a click on compute_outer zooms (it fills the width, its callees
# scale with it, its callers fade at full width, the rest hides), Reset Zoom
# restores every frame, Search paints the matches and gives their share.
svg_js_check() {
    npm_ready || return 0
    NODE_PATH="$NPM_DIR/node_modules" node - "$1" <<'JS'
const fs = require("fs");
const { JSDOM } = require("jsdom");
const dom = new JSDOM(fs.readFileSync(process.argv[2], "utf8"),
                      {contentType: "image/svg+xml", runScripts: "outside-only"});
const w = dom.window, doc = w.document;
w.eval(doc.getElementsByTagName("script")[0].textContent);
w.init({});
let bad = 0;
const expect = (what, ok) => { if (!ok) { bad++; console.log("script: " + what + ": wrong"); } };
const near = (a, b) => Math.abs(a - b) < 0.01;
const gs = Array.from(doc.getElementById("frames").getElementsByTagName("g"));
const st = g => {
  const r = g.getElementsByTagName("rect")[0];
  const t = g.getElementsByTagName("title")[0].textContent;
  return {title: t, n: +/\((\d+) samples?/.exec(t)[1], s: +g.getAttribute("data-s"),
          x: +r.getAttribute("x"),
          w: +r.getAttribute("width"), disp: g.style.display, op: g.style.opacity,
          fill: r.getAttribute("fill")};
};
const one = name => gs.find(g => st(g).title.startsWith(name + " ("));
const all = st(doc.getElementById("allg")), plot = all.w;
const outer = one("compute_outer"), middle = one("compute_middle"), parse = one("parse_input");
const run = one("run_cycle"), inner = one("compute_inner");
const o0 = st(outer), m0 = st(middle);
outer.onmouseover();
const where = outer.getAttribute("data-loc");
expect("hover shows the title and file:line " + where,
       doc.getElementById("details").textContent === o0.title + " \u2014 " + where &&
       /cpu_mix\.c:\d+, cpu_mix$/.test(where));
expect("reset hidden at first", doc.getElementById("reset").style.display === "none");
outer.onclick();
expect("zoomed frame fills the width", near(st(outer).x, 10) && near(st(outer).w, plot));
expect("callee scales with it", near(st(middle).w, m0.n * plot / o0.n) &&
       near(st(middle).x, 10 + (m0.s - o0.s) * plot / o0.n));
expect("caller at full width, faded", near(st(run).w, plot) && st(run).op === "0.6");
expect("a frame outside hides", st(parse).disp === "none");
expect("reset shown", doc.getElementById("reset").style.display === "");
doc.getElementById("reset").onclick();
expect("reset restores", near(st(outer).x, o0.x) && near(st(outer).w, o0.w) &&
       st(parse).disp === "" && st(run).op === "");
// every frame as the zoom target: all its callees stay, inside the plot
const orig = gs.map(st);
gs.forEach((z, i) => {
  if (z.id === "allg") return;
  const zo = orig[i];
  z.onclick();
  gs.forEach((g, k) => {
    const o = orig[k], now = st(g);
    const inside = o.s >= zo.s && o.s + o.n <= zo.s + zo.n;
    const above = +g.getElementsByTagName("rect")[0].getAttribute("y") <
                  +z.getElementsByTagName("rect")[0].getAttribute("y");
    if (inside && above && (now.disp === "none" || now.x + now.w > 10 + plot + 0.002 ||
                            !near(now.w, o.n * plot / zo.n)))
      expect("zoom on " + zo.title + " keeps " + o.title, false);
  });
  doc.getElementById("reset").onclick();
});
w.prompt = () => "compute_inner|parse_input";
doc.getElementById("search").onclick();
// neither calls the other: the share is the sum of their frames
const want = 100 * gs.filter(g => /^(compute_inner|parse_input) \(/.test(st(g).title))
                     .reduce((a, g) => a + st(g).n, 0) / all.n;
const got = parseFloat(doc.getElementById("matched").textContent.replace("Matched: ", ""));
expect("matched " + got + "% of " + want.toFixed(1) + "%", Math.abs(got - want) <= 0.051);
expect("matches painted", st(inner).fill === "rgb(230,0,230)" && st(outer).fill !== "rgb(230,0,230)");
doc.getElementById("search").onclick();
expect("search cleared", st(inner).fill !== "rgb(230,0,230)" &&
       doc.getElementById("matched").textContent === " ");
console.log("script: " + (bad ? bad + " problems" : "hover, zoom, reset and search work"));
process.exit(bad ? 1 : 0);
JS
    check "SVG script: hover, zoom, reset and search" [ $? -eq 0 ]
}

no_temp_left() {
    ! ls "$TMP" | grep -q '\.tmp[0-9]'
}

# ---------------------------------------------------------------- cpu_mix

start_fixture "$FIXTURE_DIR/cpu_mix"
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 3 --rate 299 --batch -o "$TMP/mix.svg" -f svg \
    >"$TMP/mix.txt" 2>"$TMP/svg.err"
check "svg run exits 0" [ $? -eq 0 ]
"$PERTOP" --pid "$P" --duration 3 --rate 299 --batch -o "$TMP/mix.folded" -f folded \
    >/dev/null 2>&1
check "folded run exits 0" [ $? -eq 0 ]
check "SVG: XML, widths from counts, shares as the same run's snapshot, heavy stacks" \
    svg_check "$TMP/mix.svg" "$TMP/mix.txt" "$TMP/mix.folded"
check "SVG names the hot function" grep -q "<title>compute_inner (" "$TMP/mix.svg"
svg_js_check "$TMP/mix.svg"

"$PERTOP" --pid "$P" --duration 2 --batch -o "$TMP/mix.json" -f speedscope >/dev/null 2>&1
check "speedscope run exits 0" [ $? -eq 0 ]
check "speedscope: profile per thread, weights, frames with file:line" \
    speedscope_check "$TMP/mix.json" "$P"
schema_check "$TMP/mix.json"

# the CPU % the report gives against the process's own tick count over
# the same stretch of time (the machine may be loaded: no fixed figure)
t0=$(date +%s.%N)
k0=$(cpu_ticks "$P")
"$PERTOP" --pid "$P" --duration 4 --rate 499 --stats --batch -o "$TMP/mix.md" -f report \
    >/dev/null 2>"$TMP/mix.stats"
check "report run exits 0" [ $? -eq 0 ]
# the procfs readings for the run figures share the processing thread:
# every capture must still be processed
smp=$(sed -n 's/.* samples=\([0-9]*\) processed=\([0-9]*\) .*/\1 \2/p' "$TMP/mix.stats")
check "every capture processed (samples, processed: $smp)" \
    sh -c "[ -n '$smp' ] && echo '$smp' | awk '{ exit !(\$1 == \$2) }'"
k1=$(cpu_ticks "$P")
t1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
real_cpu=$(awk -v a="$k0" -v b="$k1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
    'BEGIN { printf "%.1f", 100 * (b - a) / hz / (t1 - t0) }')
# (Markdown's '_' escaped)
check "report: title names the command" grep -qE "^## Performance Analysis: .*cpu\\\\_mix" \
    "$TMP/mix.md"
check "report: Baseline with CPU %" grep -qE "^\| CPU \| [0-9.]+% of one CPU" "$TMP/mix.md"
cpu=$(sed -n 's/^| CPU | \([0-9.]*\)% of one CPU.*/\1/p' "$TMP/mix.md")
# (the ticks span pertop's start and end too: on a loaded machine the two
# differ by some points, a wrong computation by far more)
check "report: CPU $cpu% as the process's ticks say ($real_cpu%, ±25)" \
    within "${cpu:-0}" "$real_cpu" 25
check "report: RSS and its peak" grep -qE "^\| RSS \| .* at the end, peak " "$TMP/mix.md"
check "report: Bottleneck names compute_inner with file:line" \
    grep -qE "^\| [0-9.]+ \| [0-9.]+ \| [0-9]+ \| \`compute_inner\` \| \`.*cpu_mix.c:[0-9]+\` \| \`cpu_mix\` \|" "$TMP/mix.md"
check "report: hottest stacks in code blocks" grep -q "^Stack #1: " "$TMP/mix.md"
check "report: a stack reaches main" grep -qE "^ *main \(.*cpu_mix.c:[0-9]+\)" "$TMP/mix.md"
check "report: no Memory section for a flat process" sh -c "! grep -q '^### Memory' '$TMP/mix.md'"
check "report: no I/O section for a CPU-bound process" sh -c "! grep -q '^### I/O' '$TMP/mix.md'"
# the run section names the engine (perf by default), and --stats too
want=$(default_engine "$TMP/mix.stats")
if [ "$want" = ptrace ]; then
    check "report: engine ptrace, and why not perf" \
        grep -q "^| engine | ptrace: perf\\\\_event sampling refused" "$TMP/mix.md"
else
    check "report: engine $want in the Baseline section" \
        sh -c "sed -n '/^### Baseline/,/^### /p' '$TMP/mix.md' | grep -qxF '| engine | $want |'"
fi
check "--stats: engine=$want" grep -qF "pertop: stats: engine=$want" "$TMP/mix.stats"

# --baseline: a pprof of this process (carrying its run figures), then a
# folded file (carrying none)
"$PERTOP" --pid "$P" --duration 2 --batch -o "$TMP/base.pb.gz" -f pprof >/dev/null 2>&1
check "pprof baseline written" [ -s "$TMP/base.pb.gz" ]
"$PERTOP" --pid "$P" --duration 2 --batch --baseline "$TMP/base.pb.gz" -o "$TMP/res.md" \
    -f report >/dev/null 2>"$TMP/res.err"
check "report --baseline exits 0" [ $? -eq 0 ]
check "Result section" grep -q "^### Result" "$TMP/res.md"
check "Result: CPU before and after (from the pprof's run figures)" \
    grep -qE "^\| CPU \| [0-9.]+% \| [0-9.]+% \| [-+][0-9.]+% \|" "$TMP/res.md"
check "Result: compute_inner before and after" \
    grep -qE "^\| \`compute_inner\` \| [0-9.]+ \| [0-9.]+ \| [-+][0-9.]+ \|" "$TMP/res.md"
"$PERTOP" --pid "$P" --duration 1 --batch --baseline "$TMP/mix.folded" -o "$TMP/res2.md" \
    -f report >/dev/null 2>&1
check "Result against a folded file says it has no run figures" \
    grep -q "carries no run figures" "$TMP/res2.md"
check "target still running after all that" running_free "$P"
kill -9 "$P"

# a launched command of one second: figures from the first second's
# readings, and how it ended
"$PERTOP" --batch -o "$TMP/short.md" -f report -- "$FIXTURE_DIR/cpu_mix" --seconds 1 \
    >/dev/null 2>&1
check "launch report exits 0" [ $? -eq 0 ]
check "launch report: CPU measured in a one-second run" \
    grep -qE "^\| CPU \| [0-9.]+% of one CPU" "$TMP/short.md"
check "launch report: the command's end" \
    grep -qE "^\| end \| process [0-9]+ exited with status 0 \|" "$TMP/short.md"

# threads as the first level of the flame graph
start_fixture "$FIXTURE_DIR/cpu_mix" --threads 2
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 2 --batch -o "$TMP/thr.svg" -f svg --threads >/dev/null 2>&1
check "svg --threads exits 0" [ $? -eq 0 ]
check "SVG --threads: XML and geometry" svg_check "$TMP/thr.svg"
svg_js_check "$TMP/thr.svg"
check "SVG --threads: worker threads are frames" grep -qE "<title>mixworker-1-[0-9]+ \(" "$TMP/thr.svg"
kill -9 "$P"

# ---------------------------------------------------------------- C++ names

start_fixture "$FIXTURE_DIR/cxx_mix"
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 2 --batch -o "$TMP/cxx.svg" -f svg >/dev/null 2>&1
"$PERTOP" --pid "$P" --duration 1 --batch -o "$TMP/cxx.json" -f speedscope >/dev/null 2>&1
kill -9 "$P"
check "SVG of template names parses as XML" svg_check "$TMP/cxx.svg"
check "SVG escapes '<' in template names" grep -q "&lt;" "$TMP/cxx.svg"
check "speedscope of C++ names is JSON" python3 -c "import json,sys; json.load(open(sys.argv[1]))" \
    "$TMP/cxx.json"

# ---------------------------------------------------------------- memio

start_fixture "$FIXTURE_DIR/memio"
P=$FIX_PID
"$PERTOP" --pid "$P" --duration 5 --idle --batch -o "$TMP/memio.md" -f report >/dev/null 2>&1
check "memio report exits 0" [ $? -eq 0 ]
check "memio: --idle reports the default engine too, no note" \
    grep -qE '^\| engine \| (perf \(task-clock\) \|$|ptrace: perf\\_event sampling refused)' \
    "$TMP/memio.md"
check "memio: Memory section (2 MiB/s growth)" grep -q "^### Memory" "$TMP/memio.md"
check "memio: I/O section (1 MiB/s each way)" grep -q "^### I/O" "$TMP/memio.md"
# "read 1.0 MiB/s" or "read 950.2 KiB/s", in MiB/s
rd=$(sed -n 's/^- all I\/O (files, pipes, sockets): read \([0-9.]*\) \([KM]i\)B\/s.*/\1 \2/p' \
    "$TMP/memio.md" | awk '{ printf "%.2f", $2 == "Ki" ? $1 / 1024 : $1 }')
check "memio: read rate about 1 MiB/s ($rd)" within "${rd:-0}" 1.0 0.4
check "memio: Waits section" grep -q "^### Waits" "$TMP/memio.md"
check "memio: blocker waits in read on a pipe" \
    grep -qE "^\| \`blocker-[0-9]+\` \| \`read\` \| \`pipe:\[" "$TMP/memio.md"
check "memio: netwait waits in accept on a listening socket" \
    grep -qE "^\| \`netwait-[0-9]+\` \| \`accept4?\` \| \`socket:\[[0-9]+\] tcp .*listen\`" \
    "$TMP/memio.md"
check "memio still running" running_free "$P"
kill -9 "$P"

# ---------------------------------------------------------------- bad output

"$PERTOP" --format flamegraph --pid 1 >/dev/null 2>"$TMP/fmt.err"
check "unknown format: exit 2" [ $? -eq 2 ]
check "unknown format: the message lists the formats" \
    grep -qE "speedscope.*svg.*report" "$TMP/fmt.err"
"$PERTOP" --format report --threads --pid 1 >/dev/null 2>"$TMP/thr.err"
check "--threads with report: exit 2" [ $? -eq 2 ]

"$PERTOP" --batch -o "$TMP/none/x.svg" -f svg -- "$FIXTURE_DIR/cpu_mix" --seconds 1 \
    >/dev/null 2>"$TMP/bad.err"
check "unwritable svg path: exit 6" [ $? -eq 6 ]
check "unwritable svg path: one line" [ "$(wc -l <"$TMP/bad.err")" -eq 1 ]
check "no temporary file left behind" no_temp_left

if [ -n "$NPM_SKIPPED" ]; then
    echo "SKIP: speedscope schema and flame graph script checks: $NPM_SKIPPED"
    echo "$((CHECKS - FAILS)) passed, $FAILS failed, the npm checks not run"
    [ "$FAILS" -eq 0 ] && exit 77
fi
finish
