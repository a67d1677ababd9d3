/** Where a command meant for copying starts: from it to the end of its clause, the text is never broken. */
const COMMAND_START = /^(kubectl|mathison-install|helm|openssl|npx|npm|curl)$/;

/**
 * A line wrapped at word boundaries to `width`, continuation lines indented under the text after
 * the line's own indent and marker (`  ✔ `, `  • `, `  1. `, `  hint: `). A word is never split,
 * and a command (kubectl …, mathison-install …) stays on one line up to the end of its clause, so
 * it can be copied; only a word or command longer than the width makes a longer line.
 */
export function wrapLine(line: string, width: number, options: { readonly keepCommands?: boolean } = {}): string[] {
  if (visible(line) <= width) return [line];
  const head = /^((?:\x1b\[[0-9;]*m)?\s*(?:[✔✖‼–•·?›→!+~-]\s+|\d+\.\s+|(?:hint|try|next|then):\s+)?)/.exec(line)![1]!;
  const indent = " ".repeat(Math.min(visible(head), Math.floor(width / 2)));
  const units =
    options.keepCommands === false
      ? line
          .slice(head.length)
          .split(" ")
          .filter((w) => w !== "")
      : unitsOf(line.slice(head.length));
  const lines: string[] = [];
  let current = head;
  let empty = true;
  for (const unit of units) {
    if (!empty && visible(current) + 1 + visible(unit) > width) {
      lines.push(current);
      current = indent;
      empty = true;
    }
    current += empty ? unit : ` ${unit}`;
    empty = false;
  }
  lines.push(current);
  return lines;
}

/** Columns a string takes on a terminal: colour codes take none. */
function visible(s: string): number {
  return s.replace(/\x1b\[[0-9;]*m/g, "").length;
}

/** Words, with each command joined into one unit up to the end of its clause (`;` or `,`). */
function unitsOf(text: string): string[] {
  const words = text.split(" ").filter((w) => w !== "");
  const units: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (!COMMAND_START.test(words[i]!.replace(/^[`(]/, ""))) {
      units.push(words[i]!);
      continue;
    }
    let j = i;
    while (j < words.length - 1 && !/[;,]$/.test(words[j]!)) j++;
    units.push(words.slice(i, j + 1).join(" "));
    i = j;
  }
  return units;
}

/** Every line of a block wrapped (lines with their own breaks are split first). */
export function wrapLines(lines: readonly string[], width: number): string[] {
  return lines.flatMap((l) => l.split("\n")).flatMap((l) => wrapLine(l, width));
}

/** The width to wrap output for: the terminal's, where the stream is one; otherwise none (logs and pipes keep whole lines). */
export function widthOf(stream: { isTTY?: boolean; columns?: number }): number {
  return stream.isTTY === true && stream.columns ? stream.columns : Number.POSITIVE_INFINITY;
}
