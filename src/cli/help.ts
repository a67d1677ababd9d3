import { FIELDS } from "../config/fields.js";
import { wrapLine } from "../ui/wrap.js";
import { COMMAND_OPTIONS, settingsOf, type Command } from "./args.js";
import { invoked } from "../base/invocation.js";
import { RECORD_NAME } from "../facts/names.js";
import { EXIT_CODE_MEANINGS } from "../base/exit-codes.js";

/** Help is laid out for 80 columns, or the terminal's when it is narrower. */
const HELP_WIDTH = 80;

/**
 * Flag and description columns; a description wraps at words under its own column, never past
 * `columns`. Narrower than 70 columns the description goes under its flag instead, so that long
 * words (paths, variable names) still fit.
 */
function table(rows: readonly (readonly [string, string])[], columns: number): string {
  if (columns < 70)
    return rows
      .flatMap(([a, b]) => [
        ...wrapLine(`  ${a}`, columns, { keepCommands: false }),
        ...wrapLine(`      ${b}`, columns, { keepCommands: false }),
      ])
      .join("\n");
  const width = Math.min(Math.max(...rows.map(([a]) => a.length)) + 2, 28);
  const room = columns - 2 - width;
  return rows
    .flatMap(([a, b]) => {
      const text = wrapLine(b, room, { keepCommands: false });
      const first =
        a.length + 2 > width ? [`  ${a}`, `  ${" ".repeat(width)}${text[0]}`] : [`  ${a.padEnd(width)}${text[0]}`];
      return [...first, ...text.slice(1).map((l) => `  ${" ".repeat(width)}${l.trimStart()}`)];
    })
    .join("\n");
}

const prose = (text: string, columns: number): string => wrapLine(text, columns, { keepCommands: false }).join("\n");

/** What each command does, and how it is called. */
const COMMANDS: Readonly<Record<Command, { readonly usage: string; readonly summary: string }>> = {
  install: { usage: "[install] [flags]", summary: "install or upgrade (interactive in a terminal)" },
  render: {
    usage: "render [flags]",
    summary: "print the objects an install applies, in order; needs no cluster",
  },
  preflight: {
    usage: "preflight [flags]",
    summary: "the checks an install runs first, alone; writes nothing",
  },
  verify: {
    usage: "verify [--namespace N]",
    summary: "the verification checklist of a running install: automated checks, then the manual ones",
  },
  status: {
    usage: "status [--namespace N | --all-namespaces]",
    summary: "the install at a glance: version, workloads, settings, last runs",
  },
  uninstall: {
    usage: "uninstall [--namespace N] [--yes] [--delete-data]",
    summary: "remove the install; its database volumes and Secret stay",
  },
  backup: {
    usage: "backup [--namespace N] [--out FILE] [--include-redis]",
    summary: "a pg_dump of the database to a local file, with a manifest beside it; prints its path",
  },
  restore: {
    usage: "restore FILE.dump [--namespace N] [--yes]",
    summary:
      "replace the database with a backup (FILE.dump, as backup wrote it, with its manifest FILE.dump.json beside it): web and worker stop, the migration runs again, then verify",
  },
  export: {
    usage: "export --gitops DIR [--flavor F] [--repo-url URL]",
    summary:
      "hand the install to GitOps: a directory Argo CD, Flux or kubectl applies in the installer's order, without a secret value",
  },
  secrets: {
    usage: "secrets apply [--namespace N]",
    summary: "create or update the install's Secrets in the cluster, keeping every installed value (for GitOps)",
  },
  "support-bundle": {
    usage: "support-bundle [--namespace N] [--dir DIR]",
    summary: "a redacted .tar.gz of what someone helping needs; prints its path",
  },
};

const LINES_THEN_DONE = [
  "--output plain|json",
  "lines on stderr; json: also the run's done event on stdout, for scripts",
] as const;

/** Every flag that is not a setting: its syntax and what it does. */
const FLAGS: Readonly<Record<string, readonly [string, string]>> = {
  "non-interactive": [
    "--non-interactive",
    "never prompt; also chosen when stdin is not a terminal, in CI, or with --output json",
  ],
  kubeconfig: ["--kubeconfig FILE", "kubeconfig to use [env KUBECONFIG]"],
  context: ["--context NAME", "kubeconfig context to use"],
  "exec-timeout": ["--exec-timeout DURATION", "how long a kubeconfig credential plugin may take (default 60s)"],
  output: ["--output plain|json", "plain lines on stderr, or JSON Lines events on stdout"],
  "dry-run": ["--dry-run", "server-side dry run: show what would be created or changed, write nothing"],
  timeout: [
    "--timeout DURATION",
    "install: override every stage's wait timeout; uninstall: how long each group of objects may take to go (default 2m)",
  ],
  "replace-secret": [
    "--replace-secret KEYS",
    "replace installed secrets on purpose: ANTHROPIC_API_KEY and/or AUTH_SECRET (your own databases' too: POSTGRES_PASSWORD, REDIS_PASSWORD), comma-separated",
  ],
  rotate: [
    "--rotate KEYS",
    "rotate POSTGRES_PASSWORD (changed inside PostgreSQL, then the Secret; web and worker roll) and/or AUTH_SECRET (every session ends)",
  ],
  pull: ["--pull", "pull mutable image tags again and roll web, worker and the migration out"],
  "skip-preflight": [
    "--skip-preflight",
    "apply without the checks that run first (permissions, storage, ingress, TLS, capacity)",
  ],
  "force-namespace": ["--force-namespace", "install into a namespace that holds other workloads (or a system one)"],
  "skip-verify": ["--skip-verify", "end after the apply, without the verification checklist"],
  "lock-timeout": [
    "--lock-timeout DURATION",
    "wait this long for another run's lock instead of refusing (a killed run's lock on this host is taken over at once)",
  ],
  resolve: [
    "--resolve DOMAIN:[PORT:]ADDRESS",
    "the verification reaches the domain at ADDRESS (and PORT) instead of asking DNS (as curl's --resolve)",
  ],
  "ca-file": ["--ca-file FILE", "the verification also trusts this PEM CA (NODE_EXTRA_CA_CERTS works too)"],
  yes: ["--yes, -y", "confirm without asking (required with --non-interactive)"],
  "all-namespaces": [
    "--all-namespaces, -A",
    "every install these credentials can see, one a row (namespace, state, web image, last run), as helm list -A",
  ],
  "delete-data": [
    "--delete-data",
    "also delete the PostgreSQL and Redis volumes and Secret mathison-secrets (a backup is taken first)",
  ],
  "no-backup": ["--no-backup", "no backup of the database before a migration (install) or before --delete-data"],
  "backup-dir": [
    "--backup-dir DIR",
    "where those backups go (default: mathison-install/backups/CONTEXT/NAMESPACE under ~/.local/share or XDG_DATA_HOME; the last 5 are kept)",
  ],
  out: [
    "--out DIR|FILE",
    "render: one file per stage into DIR; backup: the dump's path (default: where --backup-dir puts them)",
  ],
  images: [
    "--images",
    "print the images the install runs, one a line (with --image-registry: SOURCE MIRROR pairs, for crane or skopeo copy)",
  ],
  "show-secrets": ["--show-secrets", "print secret values instead of <redacted> (files are written 0600)"],
  dir: ["--dir DIR", "where to write the bundle (default: the current directory)"],
  "include-redis": [
    "--include-redis",
    "also Redis's data (BullMQ's queued jobs): an RDB snapshot beside the dump, FILE.rdb; restore puts it back",
  ],
  gitops: ["--gitops DIR", "the directory to write (made if missing; files the export writes are replaced)"],
  flavor: [
    "--flavor kustomize|argocd|flux",
    "kustomize (default): the stages and a README giving their order; argocd: sync waves and an Application; flux: Kustomizations chained with dependsOn",
  ],
  "repo-url": ["--repo-url URL", "the Git repository the controller follows (required for argocd and flux)"],
  "repo-path": [
    "--repo-path PATH",
    "DIR's path inside that repository (default: found from DIR's enclosing Git work tree, else the root)",
  ],
  "repo-branch": ["--repo-branch NAME", "the branch the controller follows (default main)"],
  "delete-parked-postgres": [
    "--delete-parked-postgres",
    "delete the cluster's PostgreSQL an install keeps parked since its data moved to your own, with its volume (the copy from before the move)",
  ],
  "leave-gitops": [
    "--leave-gitops",
    "manage an install a GitOps controller applied with the installer again: removes the controller's marks from its objects (remove its Application or Kustomizations first)",
  ],
};

/**
 * A shared flag's words where they differ by command: each command's help speaks of that command
 * only (render's --out is a directory, backup's a file; status prints its plain lines on stdout).
 */
const FLAGS_OF: Partial<Record<Command, Readonly<Record<string, readonly [string, string]>>>> = {
  render: { out: ["--out DIR", "write one file per stage into DIR instead of printing the objects"] },
  backup: {
    out: [
      "--out FILE",
      "the dump's path; its manifest goes beside it, FILE.json (default: mathison-install/backups/CONTEXT/NAMESPACE under ~/.local/share or XDG_DATA_HOME)",
    ],
  },
  install: {
    timeout: ["--timeout DURATION", "override every stage's wait timeout"],
    "no-backup": ["--no-backup", "no backup of the database before a migration"],
    "backup-dir": [
      "--backup-dir DIR",
      "where the backup before a migration goes (default: mathison-install/backups/CONTEXT/NAMESPACE under ~/.local/share or XDG_DATA_HOME; the last 5 are kept)",
    ],
  },
  uninstall: {
    timeout: ["--timeout DURATION", "how long each group of objects may take to go (default 2m)"],
    "no-backup": ["--no-backup", "no backup of the database before --delete-data deletes it"],
    "backup-dir": [
      "--backup-dir DIR",
      "where the backup before --delete-data goes (default: mathison-install/backups/CONTEXT/NAMESPACE under ~/.local/share or XDG_DATA_HOME)",
    ],
  },
  restore: {
    timeout: [
      "--timeout DURATION",
      "how long each step of the restore may wait, and the database statements (default 10m)",
    ],
  },
  status: {
    output: ["--output plain|json", "plain lines on stdout, or a report event per install and done (JSON Lines)"],
  },
  export: { output: LINES_THEN_DONE },
  secrets: { output: LINES_THEN_DONE },
  "support-bundle": {
    output: ["--output plain|json", "the bundle's path on stdout, or a support-bundle event and the done event"],
  },
};

/** The flag as `command`'s help shows it. */
function flagRow(command: Command, key: string): readonly [string, string] | undefined {
  return FLAGS_OF[command]?.[key] ?? FLAGS[key];
}

const EXIT_CODES = `Exit codes: ${Object.entries(EXIT_CODE_MEANINGS)
  .map(([code, m]) => `${code} ${m.short}`)
  .join(", ")}.`;

function settingRows(fields: typeof FIELDS): [string, string][] {
  const rows = fields.map(
    (f) =>
      [
        `${f.flag} ${f.secret ? "FILE" : "VALUE"}`,
        `${f.describe} [env ${f.env}${f.requiredForInstall ? "; required for install" : f.default ? `, default ${f.default}` : ""}]`,
      ] as [string, string],
  );
  return [["--values FILE", "YAML file with the same settings as keys (domain, webReplicas, tls, …)"], ...rows];
}

/** `mathison-install --help`: the commands, the settings, and where each command's own help is; `columns` wide at most. */
export function helpText(version: string, command?: Command, columns = HELP_WIDTH): string {
  const w = Math.min(HELP_WIDTH, columns);
  if (command) return commandHelp(version, command, w);
  const me = invoked();
  return `${prose(`${me} ${version}: install and upgrade the Mathison stack on a Kubernetes cluster`, w)}

Usage:
${table(
  (Object.entries(COMMANDS) as [Command, (typeof COMMANDS)[Command]][]).map(([, c]) => [
    `${me} ${c.usage}`.replace(" [flags]", ""),
    c.summary,
  ]),
  w,
)}

${prose(`${me} COMMAND --help shows a command's own flags.`, w)}

${prose("Settings (flags > environment > --values file > the install's recorded answers > defaults):", w)}
${table(settingRows(FIELDS), w)}

${prose(`A re-run keeps every answer of the existing install (recorded in ConfigMap ${RECORD_NAME}) and its secrets; it shows the plan before applying and holds a lock while it applies.`, w)}
${prose(EXIT_CODES, w)}

  -h, --help      this help
  -v, --version   print the version
`;
}

/** `command`'s one-line usage and what it does, as --help gives them. */
export function usageOf(command: Command): { readonly usage: string; readonly summary: string } {
  return COMMANDS[command];
}

/** Every flag `command` takes, as its --help lists them: its own, then help and version, then the settings. */
export function commandFlagRows(command: Command): (readonly [string, string])[] {
  const own = Object.keys(COMMAND_OPTIONS[command]).map((k) => {
    const row = flagRow(command, k);
    // A flag the parser takes must say what it does: a missing row is a bug, not a silent gap in --help.
    if (!row) throw new Error(`--${k} of ${command} has no row in help's FLAGS`);
    return row;
  });
  return [...own, ["--help, -h", "this help"], ["--version, -v", "print the version"]];
}

function commandHelp(version: string, command: Command, w: number): string {
  const c = COMMANDS[command];
  const me = invoked();
  return `${prose(`${me} ${c.usage}: ${c.summary}`, w)}

Flags:
${table(commandFlagRows(command), w)}

Settings:
${table(settingRows(settingsOf(command)), w)}

${prose(`${EXIT_CODES} (${me} --help lists every command; version ${version}.)`, w)}
`;
}
