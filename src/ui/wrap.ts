/** Where a command meant for copying starts: from it to the end of its clause, the text is never broken. */
const COMMAND_START = /^(kubectl|mathison-install|helm|openssl|npx|npm|curl|bash)$/;

/**
 * A line wrapped at word boundaries to `width`, continuation lines indented under the text after
 * the line's own indent and marker (`  ✔ `, `  • `, `  1. `, `  hint: `). A word is never split,
 * and a command (kubectl …, mathison-install …) starts a line of its own when it does not fit
 * where it is, and runs to the end of its clause; one longer than a line is split only at spaces,
 * each line but its last ending in ` \`, so that it pastes into a shell as one command. Only a
 * single word longer than the width makes a longer line.
 */
export function wrapLine(line: string, width: number, options: { readonly keepCommands?: boolean } = {}): string[] {
  if (visible(line) <= width) return [line];
  const head = /^((?:\x1b\[[0-9;]*m)?\s*(?:[✔✖‼–•·?›→!+~-]\s+|\d+\.\s+|(?:hint|try|next|then):\s+)?)/.exec(line)![1]!;
  const indent = " ".repeat(Math.min(visible(head), Math.floor(width / 2)));
  const text = line.slice(head.length);
  const units =
    options.keepCommands === false
      ? text
          .split(" ")
          .filter((w) => w !== "")
          .map((w) => ({ text: w, command: false }))
      : unitsOf(text);
  const lines: string[] = [];
  let current = head;
  let empty = true;
  const breakLine = (): void => {
    lines.push(current);
    current = indent;
    empty = true;
  };
  for (const unit of units) {
    if (!empty && visible(current) + 1 + visible(unit.text) > width) breakLine();
    if (unit.command && visible(current) + (empty ? 0 : 1) + visible(unit.text) > width) {
      const pieces = continued(unit.text, width - visible(indent), visible(current) + (empty ? 0 : 1));
      current += (empty ? "" : " ") + pieces[0];
      for (const piece of pieces.slice(1)) {
        lines.push(current);
        current = indent + piece;
      }
      empty = false;
      continue;
    }
    current += empty ? unit.text : ` ${unit.text}`;
    empty = false;
  }
  lines.push(current);
  return lines;
}

/**
 * A command cut at spaces into lines of at most `width` columns (the first has `used` of them
 * taken already), every line but the last ending in ` \` and the next indented two more: a shell
 * reads them as one command.
 */
function continued(command: string, width: number, used: number): string[] {
  const words = command.split(" ");
  const pieces: string[] = [];
  let piece = words[0]!;
  let room = width - used;
  for (const word of words.slice(1)) {
    // Room for " word" and, should another follow, " \".
    if (visible(piece) + 1 + visible(word) + 2 > room) {
      pieces.push(`${piece} \\`);
      piece = `  ${word}`;
      room = width;
    } else piece += ` ${word}`;
  }
  pieces.push(piece);
  return pieces;
}

/** Columns a string takes on a terminal: colour codes take none. */
function visible(s: string): number {
  return s.replace(/\x1b\[[0-9;]*m/g, "").length;
}

/**
 * Words that never belong to a command we print and always to the prose around one: `… install
 * --namespace ns finishes it`, `kubectl describe nodes shows …`. A command ends before them, so a
 * continuation never splits prose with a ` \` that a shell would read.
 */
const PROSE_AFTER_COMMAND =
  /^(to|with|without|finishes|starts|shows|says|lists|tells|gives|prints|once|then|and|or|if|until|when|which|that|it|again|for|is|are|from|after|before|in|on|as|so|but|instead)$/;

/** Words, with each command joined into one unit up to the end of its clause (`;` or `,`) or the prose after it. */
function unitsOf(text: string): { text: string; command: boolean }[] {
  const words = text.split(" ").filter((w) => w !== "");
  const units: { text: string; command: boolean }[] = [];
  for (let i = 0; i < words.length; i++) {
    if (!COMMAND_START.test(words[i]!.replace(/^[`(]/, ""))) {
      units.push({ text: words[i]!, command: false });
      continue;
    }
    let j = i;
    while (j < words.length - 1 && !/[;,]$/.test(words[j]!) && !PROSE_AFTER_COMMAND.test(words[j + 1]!)) j++;
    units.push({ text: words.slice(i, j + 1).join(" "), command: true });
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

/** Lines written to a stream through the one wrapping path, at the stream's width (a terminal's) or whole. */
export function writeLines(
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  lines: readonly string[],
): void {
  stream.write(`${wrapLines(lines, widthOf(stream)).join("\n")}\n`);
}
