// Loaded with `node --import` into a benchmarked run: writes the process's peak RSS (KiB) to the
// file named by MATHISON_BENCH_RSS_FILE when it exits.
import { writeFileSync } from "node:fs";

const file = process.env["MATHISON_BENCH_RSS_FILE"];
if (file) process.on("exit", () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
