import { spawn } from "node:child_process";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../src/paths.js";
import type { TestCluster } from "./cluster.js";

export interface InstallRun {
  readonly code: number;
  /** Parsed JSON Lines from stdout (with --output json). */
  readonly events: any[];
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** The built CLI as a user runs it, in a child process, against the test cluster. */
export function runInstaller(cluster: TestCluster, args: readonly string[], env: Record<string, string> = {}): Promise<InstallRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, "bin", "mathison-install.js"), ...args], {
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", KUBECONFIG: cluster.kubeconfig, ANTHROPIC_API_KEY: "sk-ant-test", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) => {
      const stdout = Buffer.concat(out).toString();
      const events = stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      resolve({ code: code ?? -1, events, stdout, stderr: Buffer.concat(err).toString(), ms: Date.now() - started });
    });
  });
}

export function installArgs(namespace: string, ...extra: string[]): string[] {
  return ["install", "--non-interactive", "--output", "json", "--namespace", namespace, "--domain", `${namespace}.e2e.test`, ...extra];
}
