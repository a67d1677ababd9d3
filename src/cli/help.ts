import { FIELDS } from "../config/fields.js";

function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([a]) => a.length)) + 2;
  return rows.map(([a, b]) => `  ${a.padEnd(width)}${b}`).join("\n");
}

export function helpText(version: string): string {
  const configRows = FIELDS.map((f) => [`${f.flag} ${f.secret ? "FILE" : "VALUE"}`, `${f.describe} [env ${f.env}${f.default ? `, default ${f.default}` : ""}]`] as const);
  return `mathison-install ${version}: install and upgrade the Mathison stack on a Kubernetes cluster

Usage:
  mathison-install [install] [flags]       install or upgrade (interactive in a terminal)
  mathison-install render [flags]          print the objects an install applies, in order; needs no cluster

Configuration (flags > environment > --values file > defaults):
${table([["--values FILE", "YAML file with the same settings as keys (domain, webReplicas, tls, …)"], ...configRows])}

install:
${table([
  ["--non-interactive", "never prompt; also chosen when stdin is not a terminal or CI=true"],
  ["--kubeconfig FILE", "kubeconfig to use [env KUBECONFIG]"],
  ["--context NAME", "kubeconfig context to use"],
  ["--output plain|json", "progress as plain lines or JSON Lines events (non-interactive)"],
  ["--dry-run", "server-side dry run: show what would be created or changed, write nothing"],
  ["--timeout DURATION", "override every stage's wait timeout, e.g. 10m"],
])}

render:
${table([
  ["--out DIR", "write one file per stage into DIR instead of stdout"],
  ["--show-secrets", "print secret values instead of <redacted> (files are written 0600)"],
])}

  -h, --help      this help
  -v, --version   print the version
`;
}
