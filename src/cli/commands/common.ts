import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { NetworkOptions } from "../../checks/verify/index.js";
import { type GivenSources, loadConfig, readGiven } from "../../config/load.js";
import { formatProblem } from "../../config/types.js";
import { connect, type ConnectOptions } from "../../kube/client.js";
import { type AccessQuestion, ClusterAccessError, KubeApiError, type Kube } from "../../kube/types.js";
import { describeAccess } from "../../checks/preflight/permissions.js";
import { DEFAULT_NAMESPACE } from "../../facts/names.js";
import { OUTPUT_FORMATS, type OutputFormat } from "../../ui/choose-reporter.js";
import type { ParsedArgs } from "../args.js";
import { ExitCode, type ExitCodeValue } from "../../base/exit-codes.js";
import type { CliIO } from "../../base/io.js";
import { invoked } from "../../base/invocation.js";
import { widthOf, wrapLines } from "../../ui/wrap.js";

/**
 * The flags every command reads the same way — --output, the settings (flags, environment,
 * values file: read once), the cluster's, --lock-timeout, --timeout (with the command's default),
 * the network checks' — whichever of them the command takes. Each problem is pushed to
 * `problems` (one line, naming the flag); undefined when any of these is wrong.
 */
export interface CommandFlags {
  readonly output: OutputFormat;
  readonly namespace: string;
  readonly given: GivenSources;
  readonly cluster: ConnectOptions;
  readonly lockTimeoutMs: number;
  /** --timeout, or the command's default; undefined for a command with neither. */
  readonly timeoutMs: number | undefined;
  readonly network: NetworkOptions;
}

export function commandFlags(
  args: ParsedArgs,
  io: Pick<CliIO, "stdin" | "env">,
  problems: string[],
  defaults: { readonly timeoutMs?: number } = {},
): CommandFlags | undefined {
  const before = problems.length;
  const output = (args.strings["output"] ?? "plain") as OutputFormat;
  if (!OUTPUT_FORMATS.includes(output))
    problems.push(`--output: ${JSON.stringify(output)} is not allowed: ${OUTPUT_FORMATS.join(" or ")}`);
  const given = readGiven({ flags: args.strings, env: io.env });
  const loaded = loadConfig({ flags: args.strings, env: io.env, given, beforeRecord: true });
  if (!loaded.ok) problems.push(...loaded.problems.map(formatProblem));
  const timeoutFlag = args.strings["timeout"];
  const timeoutMs = timeoutFlag === undefined ? defaults.timeoutMs : parseDuration(timeoutFlag);
  if (timeoutFlag !== undefined && timeoutMs === undefined)
    problems.push(`--timeout: ${JSON.stringify(timeoutFlag)} is not allowed: a duration such as 90s, 10m or 1h`);
  const network = networkOptions(args);
  if (typeof network === "string") problems.push(network);
  const cluster = connectOptions(args, io);
  if (typeof cluster === "string") problems.push(cluster);
  const lockTimeoutMs = lockTimeout(args);
  if (typeof lockTimeoutMs === "string") problems.push(lockTimeoutMs);
  if (
    problems.length > before ||
    !loaded.ok ||
    typeof network === "string" ||
    typeof cluster === "string" ||
    typeof lockTimeoutMs === "string"
  )
    return undefined;
  return { output, namespace: loaded.config.namespace, given, cluster, lockTimeoutMs, timeoutMs, network };
}

/** Bad input, said the one way: each problem on its line, what was not done, where the flags are listed; exit 2. */
export function refused(
  problems: readonly string[],
  io: Pick<CliIO, "stderr">,
  nothingDone: string,
  command: string,
): ExitCodeValue {
  for (const p of problems)
    io.stderr.write(`${wrapLines([`mathison-install: ${p}`], widthOf(io.stderr)).join("\n")}\n`);
  io.stderr.write(`${nothingDone}; ${invoked()} ${command} --help lists the flags\n`);
  return ExitCode.usage;
}

/** The common flags of a command that takes no others (a problem: said, exit 2, nothing done). */
export function flagsOrRefused(args: ParsedArgs, io: CliIO): CommandFlags | ExitCodeValue {
  const problems: string[] = [];
  return commandFlags(args, io, problems) ?? refused(problems, io, "nothing was done", args.command);
}

/** --resolve DOMAIN:ADDRESS and --ca-file PATH, for the checks beyond the cluster; a bad value is the one-line problem. */
export function networkOptions(args: ParsedArgs): NetworkOptions | string {
  const resolve = new Map<string, string>();
  const ports = new Map<string, number>();
  const given = args.strings["resolve"];
  if (given !== undefined) {
    const parsed = parseResolve(given);
    if (!parsed) {
      return `--resolve: ${JSON.stringify(given)} is not allowed: DOMAIN:ADDRESS or DOMAIN:PORT:ADDRESS (as curl's --resolve), the address an IPv4 or IPv6 address`;
    }
    resolve.set(parsed.domain, parsed.address);
    if (parsed.port !== undefined) ports.set(parsed.domain, parsed.port);
  }
  const caFile = args.strings["ca-file"];
  if (caFile === undefined) return { resolve, ports };
  try {
    const extraCa = readFileSync(caFile, "utf8");
    if (!extraCa.includes("-----BEGIN CERTIFICATE-----")) throw new Error("no PEM certificate in it");
    return { resolve, ports, extraCa };
  } catch (err) {
    return `--ca-file: ${JSON.stringify(caFile)} is not allowed: ${(err as Error).message}; a readable PEM file of CA certificates`;
  }
}

/** `DOMAIN:ADDRESS`, or curl's `DOMAIN:PORT:ADDRESS` (the port where the controller serves the domain). */
export function parseResolve(given: string): { domain: string; address: string; port?: number } | undefined {
  const at = given.indexOf(":");
  if (at <= 0) return undefined;
  const domain = given.slice(0, at).toLowerCase();
  const rest = given.slice(at + 1);
  if (isIP(rest) !== 0) return { domain, address: rest };
  const m = /^(\d{1,5}):(.+)$/.exec(rest);
  const port = Number(m?.[1]);
  if (!m || port < 1 || port > 65535 || isIP(m[2]!) === 0) return undefined;
  return { domain, address: m[2]!, port };
}

/**
 * How a command reaches the cluster, from its flags and terminal: --kubeconfig, --context, whether
 * a credential plugin may ask the person (stdin is a terminal, as kubectl decides), and how long
 * it may take (--exec-timeout). A bad --exec-timeout is the one-line problem.
 */
export function connectOptions(args: ParsedArgs, io: Pick<CliIO, "stdin" | "env">): ConnectOptions | string {
  const given = args.strings["exec-timeout"];
  const timeoutMs = given === undefined ? undefined : parseDuration(given);
  if (given !== undefined && timeoutMs === undefined)
    return `--exec-timeout: ${JSON.stringify(given)} is not allowed: a duration such as 90s or 5m`;
  return {
    kubeconfig: args.strings["kubeconfig"],
    context: args.strings["context"],
    exec: { stdinIsTerminal: io.stdin.isTTY === true, ...(timeoutMs ? { timeoutMs } : {}) },
    env: io.env,
  };
}

/** `10m`, `90s`, `1h`, `500ms`, or plain seconds. */
export function parseDuration(value: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"]!;
  return n * unit > 0 ? n * unit : undefined;
}

/** `--lock-timeout` (default 0: a live holder is refused at once); a bad value is the one-line problem. */
export function lockTimeout(args: ParsedArgs): number | string {
  const given = args.strings["lock-timeout"];
  if (given === undefined || given === "0") return 0;
  return (
    parseDuration(given) ?? `--lock-timeout: ${JSON.stringify(given)} is not allowed: a duration such as 30s or 5m`
  );
}

/** What the person should know about how the cluster is reached, said once before anything else. */
export function warnAboutAccess(kube: Kube, io: Pick<CliIO, "stderr">): void {
  for (const w of kube.warnings ?? []) io.stderr.write(`mathison-install: warning: ${w}\n`);
}

/** Connects as kubectl would; an unreachable cluster or refused credentials become exit 3 with a hint. */
export async function withCluster(
  args: ParsedArgs,
  io: CliIO,
  run: (kube: Kube) => Promise<ExitCodeValue>,
): Promise<ExitCodeValue> {
  const options = connectOptions(args, io);
  if (typeof options === "string") {
    io.stderr.write(`mathison-install: ${options}\n`);
    return ExitCode.usage;
  }
  try {
    const kube = connect(options);
    warnAboutAccess(kube, io);
    return await run(kube);
  } catch (err) {
    // It reached the cluster and was told no: a permission, not a connection, is missing.
    if (err instanceof KubeApiError && err.status === 403) {
      const missing = await missingStateReads(options, args.strings["namespace"] ?? DEFAULT_NAMESPACE);
      say(io, [
        `mathison-install: the cluster refused a read these credentials need: ${err.message}`,
        ...(missing.length > 0 ? [`  missing: ${missing.map(describeAccess).join("; ")}`] : []),
        `  try: kubectl auth can-i --list${args.strings["namespace"] ? ` -n ${args.strings["namespace"]}` : ""} with the same --kubeconfig/--context shows what they may do; ${invoked()} preflight lists every permission an install needs`,
      ]);
      return ExitCode.preflight;
    }
    if (!(err instanceof ClusterAccessError)) throw err;
    say(io, [
      `mathison-install: cannot reach the cluster: ${err.message}`,
      "  try: kubectl cluster-info with the same --kubeconfig/--context",
    ]);
    return ExitCode.clusterAccess;
  }
}

/** The reads every command starts with (the namespace, the record, the Secret, the lock) these credentials may not make; none when the cluster cannot say. */
async function missingStateReads(options: ConnectOptions, namespace: string): Promise<AccessQuestion[]> {
  const reads: AccessQuestion[] = [
    { verb: "get", resource: "namespaces", group: "" },
    { verb: "get", resource: "configmaps", group: "", namespace },
    { verb: "get", resource: "secrets", group: "", namespace },
    { verb: "get", resource: "leases", group: "coordination.k8s.io", namespace },
  ];
  try {
    const kube = connect(options);
    const allowed = await Promise.all(reads.map((q) => kube.canI(q)));
    return reads.filter((_, i) => !allowed[i]);
  } catch {
    return [];
  }
}

/** Lines on stderr, wrapped at words to the terminal (never inside a word or a command). */
function say(io: CliIO, lines: readonly string[]): void {
  io.stderr.write(`${wrapLines(lines, widthOf(io.stderr)).join("\n")}\n`);
}
