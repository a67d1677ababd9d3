/**
 * How the user started the program, as hints and "what next" lines name it: `npx mathison-install`
 * under npx, `bash scripts/mathison-install.sh` from a checkout (the script says so in
 * MATHISON_INVOKED_AS), else the installed bin. Set once as a run starts (cli/main.ts).
 */
// A process-wide slot, not a module variable: the terminal screens are a bundle of their own
// (dist/bundle/terminal.mjs) with their own copy of this module.
const SLOT = Symbol.for("mathison-install.invoked-as");
const slot = globalThis as { [SLOT]?: string };

export function invocationOf(env: Readonly<Record<string, string | undefined>>): string {
  const given = env["MATHISON_INVOKED_AS"]?.trim();
  if (given) return given;
  // npm exec (npx) runs the bin with npm_command=exec: the user typed npx.
  if (env["npm_command"] === "exec") return "npx mathison-install";
  return "mathison-install";
}

export function setInvocation(env: Readonly<Record<string, string | undefined>>): void {
  slot[SLOT] = invocationOf(env);
}

/** The program as the user starts it, for a command in a hint: `${invoked()} install --namespace x`. */
export function invoked(): string {
  return slot[SLOT] ?? "mathison-install";
}
