import { parseArgs, type ParseArgsConfig } from "node:util";
import { FIELDS } from "../config/fields.js";
import { ExitCode, UserError } from "../base/exit-codes.js";
import { closest } from "../base/closest.js";
import { invoked } from "../base/invocation.js";

export const COMMANDS = [
  "install",
  "render",
  "status",
  "uninstall",
  "preflight",
  "support-bundle",
  "verify",
  "backup",
  "restore",
  "export",
  "secrets",
] as const;
export type Command = (typeof COMMANDS)[number];

type OptionSpec = NonNullable<ParseArgsConfig["options"]>[string];

/** Flags every command takes besides the config fields. */
const COMMON_OPTIONS: Record<string, OptionSpec> = {
  values: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
};

/** How a command reaches the cluster, as kubectl does, and how it reports. */
const CLUSTER_OPTIONS: Record<string, OptionSpec> = {
  kubeconfig: { type: "string" },
  context: { type: "string" },
  "exec-timeout": { type: "string" },
  output: { type: "string" },
};

/** How a command that writes lines (and, with --output json, only its `done` event on stdout) reaches the cluster. */
const CLUSTER_ACCESS: Record<string, OptionSpec> = {
  kubeconfig: CLUSTER_OPTIONS["kubeconfig"]!,
  context: CLUSTER_OPTIONS["context"]!,
  "exec-timeout": CLUSTER_OPTIONS["exec-timeout"]!,
  output: CLUSTER_OPTIONS["output"]!,
};

/** How the checks beyond the cluster reach the domain before DNS or the CA are public. */
const NETWORK_OPTIONS: Record<string, OptionSpec> = {
  resolve: { type: "string" },
  "ca-file": { type: "string" },
};

export const COMMAND_OPTIONS: Record<Command, Record<string, OptionSpec>> = {
  render: {
    out: { type: "string" },
    "show-secrets": { type: "boolean" },
    images: { type: "boolean" },
  },
  install: {
    ...CLUSTER_OPTIONS,
    "non-interactive": { type: "boolean" },
    "dry-run": { type: "boolean" },
    timeout: { type: "string" },
    "replace-secret": { type: "string" },
    pull: { type: "boolean" },
    "skip-preflight": { type: "boolean" },
    "force-namespace": { type: "boolean" },
    "skip-verify": { type: "boolean" },
    "lock-timeout": { type: "string" },
    "no-backup": { type: "boolean" },
    "backup-dir": { type: "string" },
    rotate: { type: "string" },
    "leave-gitops": { type: "boolean" },
    "delete-parked-postgres": { type: "boolean" },
    ...NETWORK_OPTIONS,
  },
  export: {
    ...CLUSTER_ACCESS,
    gitops: { type: "string" },
    flavor: { type: "string" },
    "repo-url": { type: "string" },
    "repo-path": { type: "string" },
    "repo-branch": { type: "string" },
    "lock-timeout": { type: "string" },
  },
  secrets: {
    ...CLUSTER_ACCESS,
    "replace-secret": { type: "string" },
    rotate: { type: "string" },
    "lock-timeout": { type: "string" },
  },
  verify: { ...CLUSTER_OPTIONS, ...NETWORK_OPTIONS, "non-interactive": { type: "boolean" } },
  "support-bundle": {
    ...CLUSTER_ACCESS,
    dir: { type: "string" },
  },
  preflight: { ...CLUSTER_OPTIONS, "force-namespace": { type: "boolean" } },
  status: { ...CLUSTER_OPTIONS, "all-namespaces": { type: "boolean", short: "A" } },
  backup: { ...CLUSTER_OPTIONS, out: { type: "string" }, "include-redis": { type: "boolean" } },
  restore: {
    ...CLUSTER_OPTIONS,
    ...NETWORK_OPTIONS,
    "non-interactive": { type: "boolean" },
    yes: { type: "boolean", short: "y" },
    timeout: { type: "string" },
    "lock-timeout": { type: "string" },
  },
  uninstall: {
    ...CLUSTER_OPTIONS,
    "non-interactive": { type: "boolean" },
    yes: { type: "boolean", short: "y" },
    "delete-data": { type: "boolean" },
    "no-backup": { type: "boolean" },
    "backup-dir": { type: "string" },
    timeout: { type: "string" },
    "lock-timeout": { type: "string" },
  },
};

/**
 * Which settings a command takes: every one (it renders or applies the install), or only
 * --namespace (it works on an install as recorded). Help lists them; the parser refuses the rest.
 */
export const COMMAND_SETTINGS: Readonly<Record<Command, "all" | "namespace">> = {
  install: "all",
  render: "all",
  preflight: "all",
  export: "all",
  secrets: "all",
  verify: "namespace",
  status: "namespace",
  uninstall: "namespace",
  backup: "namespace",
  restore: "namespace",
  "support-bundle": "namespace",
};

/** The settings' flags `command` takes, as FIELDS rows. */
export function settingsOf(command: Command): typeof FIELDS {
  return COMMAND_SETTINGS[command] === "all" ? FIELDS : FIELDS.filter((f) => f.key === "namespace");
}

export interface ParsedArgs {
  readonly command: Command;
  /** String-valued flags, keyed by name without `--`. */
  readonly strings: Readonly<Record<string, string | undefined>>;
  readonly booleans: Readonly<Record<string, boolean | undefined>>;
  /** What follows the flags: `restore FILE`'s file, `secrets apply`'s verb; no other command takes any. */
  readonly positionals?: readonly string[];
}

export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const first = argv[0];
  const named = first !== undefined && !first.startsWith("-");
  if (named && !(COMMANDS as readonly string[]).includes(first)) {
    const near = closest(first, COMMANDS);
    throw new UserError(
      `unknown command "${first}"${near ? `; did you mean ${near}?` : ""}: allowed: ${COMMANDS.join(", ")}`,
      ExitCode.usage,
      `${invoked()} --help lists them`,
    );
  }
  const command: Command = named ? (first as Command) : "install";
  const options: Record<string, OptionSpec> = { ...COMMON_OPTIONS, ...COMMAND_OPTIONS[command] };
  for (const f of settingsOf(command)) options[f.flag.slice(2)] = { type: "string" };
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[] = [];
  try {
    const parsed = parseArgs({
      args: argv.slice(named ? 1 : 0) as string[],
      options,
      strict: true,
      allowPositionals: command === "restore" || command === "secrets",
    });
    values = parsed.values as Record<string, string | boolean | undefined>;
    positionals = parsed.positionals;
  } catch (err) {
    throw new UserError(
      describeParseError(err as Error & { code?: string }, command, Object.keys(options)),
      ExitCode.usage,
      `${invoked()} ${command} --help lists the flags`,
    );
  }
  const strings: Record<string, string | undefined> = {};
  const booleans: Record<string, boolean | undefined> = {};
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === "string") strings[k] = v;
    else booleans[k] = v;
  }
  return { command, strings, booleans, positionals };
}

function describeParseError(err: Error & { code?: string }, command: Command, flags: readonly string[]): string {
  const flag = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1];
  switch (err.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `${flag ?? "flag"}: unknown flag for "${command}"${didYouMean(flag, command, flags)}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return /argument missing/.test(err.message)
        ? `${flag ?? "flag"}: missing: a value after the flag`
        : `${flag ?? "flag"}: takes no value`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ""}: only flags follow the command`;
    default:
      return err.message;
  }
}

/** `; did you mean --namespace?` for a flag a typo away from one of this command's, or the command a flag belongs to. */
function didYouMean(flag: string | undefined, command: Command, flags: readonly string[]): string {
  const name = flag?.replace(/^-+/, "").split("=")[0];
  if (!name) return "";
  const near = closest(name, flags);
  if (near) return `; did you mean --${near}?`;
  const owners = COMMANDS.filter((c) => c !== command && Object.hasOwn(COMMAND_OPTIONS[c], name));
  return owners.length > 0 ? `; it is a flag of ${owners.join(", ")}` : "";
}
