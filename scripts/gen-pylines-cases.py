# Prints C initialisers for tests/test_pylines.c from real code objects of
# the running interpreter (works on 2.7 and 3.x).
import sys, dis
SRC = (
    "def sample(n):\n"
    "    total = 0\n"
    "    for i in range(n):\n"
    "        if i % 3 == 0:\n"
    "            total += i\n"
    "        else:\n"
    "            total -= 1\n"
    + "\n" * 200 +
    "    x = [j for j in range(3)]\n"
    "    try:\n"
    "        total += 1 // n\n"
    "    except ZeroDivisionError:\n"
    "        total = -1\n"
    "    while total > 0:\n"
    "        total -= 7\n"
    "    y = (" + " + ".join("n*%d" % k for k in range(90)) + ")\n"
    "    return total + len(x) + y\n")
ns = {}
exec(compile(SRC, "sample.py", "exec"), ns)
co = ns["sample"].__code__
v = sys.version_info
def ranges():
    out = []
    if v >= (3, 10):
        for s, e, l in co.co_lines():
            out.append((s, e, -1 if l is None else l))
        return out, co.co_linetable
    starts = list(dis.findlinestarts(co))
    n = len(co.co_code)
    for k, (off, line) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else n
        out.append((off, end, line))
    return out, co.co_lnotab
rs, tab = ranges()
tab = bytearray(tab)
tag = "py%d%d" % (v[0], v[1])
sys.stdout.write("/* %s: sample() firstlineno %d, %d bytes */\n" % (sys.version.split()[0], co.co_firstlineno, len(tab)))
sys.stdout.write("static const uint8_t %s_tab[] = {" % tag)
for k, b in enumerate(tab):
    if k % 16 == 0:
        sys.stdout.write("\n    ")
    sys.stdout.write("0x%02x," % b)
sys.stdout.write("\n};\n")
sys.stdout.write("static const struct range %s_ranges[] = {" % tag)
for k, (s, e, l) in enumerate(rs):
    if k % 4 == 0:
        sys.stdout.write("\n    ")
    sys.stdout.write("{%d, %d, %d}, " % (s, e, l))
sys.stdout.write("\n};\n")
# 2.7 has variable-length instructions: list the instruction starts.
if v < (3, 0):
    code = bytearray(co.co_code)
    offs = []
    i = 0
    while i < len(code):
        offs.append(i)
        i += 3 if code[i] >= dis.HAVE_ARGUMENT else 1
    sys.stdout.write("static const uint16_t %s_insn[] = {" % tag)
    for k, o in enumerate(offs):
        if k % 16 == 0:
            sys.stdout.write("\n    ")
        sys.stdout.write("%d," % o)
    sys.stdout.write("\n};\n")
