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
  mathison-install preflight [flags]       the checks an install runs first, alone; writes nothing
  mathison-install support-bundle [--namespace N] [--dir DIR]
                                           a redacted .tar.gz of what someone helping needs; prints its path
  mathison-install verify [--namespace N]  the verification checklist of a running install: automated checks
                                           (workloads, databases, RBAC, ingress chain), then the manual ones
  mathison-install status [--namespace N]  the install at a glance: version, workloads, settings, last runs
  mathison-install uninstall [--namespace N] [--yes] [--delete-data]
                                           remove the install; its database volumes and Secret stay

Configuration (flags > environment > --values file > the install's recorded answers > defaults):
${table([["--values FILE", "YAML file with the same settings as keys (domain, webReplicas, tls, …)"], ...configRows])}

install:
${table([
  ["--non-interactive", "never prompt; also chosen when stdin is not a terminal, in CI, or with --output json"],
  ["--kubeconfig FILE", "kubeconfig to use [env KUBECONFIG]"],
  ["--context NAME", "kubeconfig context to use"],
  ["--exec-timeout DURATION", "how long a kubeconfig credential plugin may take (default 60s)"],
  ["--output plain|json", "progress as plain lines or JSON Lines events (non-interactive)"],
  ["--dry-run", "server-side dry run: show what would be created or changed, write nothing"],
  ["--timeout DURATION", "override every stage's wait timeout, e.g. 10m"],
  ["--replace-secret KEYS", "replace installed secrets on purpose: ANTHROPIC_API_KEY and/or AUTH_SECRET, comma-separated"],
  ["--pull", "pull mutable image tags again and roll web, worker and the migration out"],
  ["--skip-preflight", "apply without the checks that run first (permissions, storage, ingress, TLS, capacity)"],
  ["--force-namespace", "install into a namespace that holds other workloads (or a system one)"],
  ["--skip-verify", "end after the apply, without the verification checklist"],
  ["--resolve DOMAIN:ADDRESS", "verify: reach the domain at ADDRESS instead of asking DNS (as curl's --resolve)"],
  ["--ca-file FILE", "verify: also trust this PEM CA (NODE_EXTRA_CA_CERTS works too)"],
])}

A re-run keeps every answer of the existing install (recorded in ConfigMap mathison-install)
and its secrets; it shows the plan before applying and holds a lock while it applies.
Exit codes: 0 ok, 1 bug, 2 bad input, 3 cluster access, 4 rejected by the API server,
5 not ready / failed / timed out, 6 another run holds the lock, 7 status: not healthy,
8 no install in the namespace, 9 preflight failed, 10 verify: a check failed, 130 interrupted.

status:
${table([
  ["--output plain|json", "an 80-column summary, or one JSON document (stdout)"],
  ["--kubeconfig FILE, --context NAME", "as for install"],
])}

uninstall:
${table([
  ["--yes, -y", "confirm without asking (required with --non-interactive)"],
  ["--delete-data", "also delete the PostgreSQL and Redis volumes and Secret mathison-secrets"],
  ["--output plain|json", "progress as plain lines or JSON Lines events"],
  ["--timeout DURATION", "how long to wait for each group of objects to be gone (default 2m)"],
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
