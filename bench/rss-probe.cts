// Loaded with `node --require` into a benchmarked run: writes the process's peak RSS (KiB) to the
// file named by MATHISON_BENCH_RSS_FILE when it exits. CommonJS, as the launcher is: an ES module
// given to --import starts Node's ES module loader first, a few ms the run would be charged. On
// Linux the peak is VmHWM of its own address space: getrusage's maxRSS survives fork and exec, so
// a child of a big parent would report at least the parent's size.
import fs = require("node:fs");

function peakKiB(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (hwm) return Number(hwm[1]);
  } catch {
    // not Linux: getrusage's figure
  }
  return process.resourceUsage().maxRSS;
}

const file = process.env["MATHISON_BENCH_RSS_FILE"];
if (file) process.on("exit", () => fs.writeFileSync(file, String(peakKiB())));
