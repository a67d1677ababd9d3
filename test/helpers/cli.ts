import { PassThrough } from "node:stream";
import { main } from "../../src/cli/main.js";

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with captured streams and exactly the environment given. */
export async function runCli(argv: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  stdout.on("data", (c: Buffer) => chunks.out.push(c));
  stderr.on("data", (c: Buffer) => chunks.err.push(c));
  const code = await main(argv, { stdout, stderr, stdin: new PassThrough(), env });
  return { code, stdout: Buffer.concat(chunks.out).toString(), stderr: Buffer.concat(chunks.err).toString() };
}
