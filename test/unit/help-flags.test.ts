import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { COMMANDS, parseCommandLine } from "../../src/cli/args.js";
import { helpText } from "../../src/cli/help.js";
import { FIELDS } from "../../src/config/fields.js";

/** The flags a command's --help lists: the first column of its rows (`--out DIR`, `--help, -h`). */
function listedFlags(command: (typeof COMMANDS)[number]): string[] {
  const text = helpText("0.0.0", command, 400);
  return [...text.matchAll(/^ {2}(--[a-z][a-z-]*)/gm)].map((m) => m[1]!);
}

/** Whether the parser takes `flag` for `command` (a value given where the flag takes one). */
function accepted(command: (typeof COMMANDS)[number], flag: string): boolean {
  for (const argv of [
    [command, flag],
    [command, `${flag}=x`],
  ]) {
    try {
      parseCommandLine(argv);
      return true;
    } catch {
      // a flag that takes a value fails bare, one that takes none fails with one: either form counts.
    }
  }
  return false;
}

describe("each command's --help against its parser", () => {
  for (const command of COMMANDS) {
    it(`${command}: every flag listed is accepted, and every accepted flag is listed`, () => {
      const listed = listedFlags(command);
      assert.ok(listed.includes("--help") && listed.includes("--namespace"), listed.join(" "));
      for (const flag of listed)
        assert.ok(accepted(command, flag), `${command} --help lists ${flag}, which it refuses`);
      const candidates = [
        ...new Set([...FIELDS.map((f) => f.flag), ...COMMANDS.flatMap((c) => listedFlags(c)), "--version", "--values"]),
      ];
      for (const flag of candidates)
        if (accepted(command, flag))
          assert.ok(listed.includes(flag), `${command} takes ${flag}, which its --help does not list`);
    });
  }

  it("a setting a command does not use is refused by name", () => {
    assert.throws(() => parseCommandLine(["status", "--domain", "x.example"]), /--domain: unknown flag for "status"/);
  });
});
