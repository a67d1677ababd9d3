import { existsSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { parseReplaceSecrets, parseRotate } from "../../config/installed.js";
import { formatProblem } from "../../config/types.js";
import { runExport as exportPipeline, type GitopsOutput } from "../../pipeline/gitops.js";
import { runSecretsApply as secretsPipeline } from "../../pipeline/secrets-apply.js";
import { GITOPS_FLAVORS, type GitopsFlavor, type RepoLocation } from "../../render/gitops.js";
import { widthOf, wrapLines } from "../../ui/wrap.js";
import type { ParsedArgs } from "../args.js";
import { commandFlags, refused } from "./common.js";
import type { ExitCodeValue } from "../../base/exit-codes.js";
import type { CliIO } from "../../base/io.js";

/** `mathison-install export --gitops DIR`: see pipeline/gitops.ts. */
export async function runExport(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const problems: string[] = [];
  const dir = args.strings["gitops"];
  if (dir === undefined)
    problems.push("--gitops: missing: the directory to write the GitOps repository into (export --gitops DIR)");
  const flavor = (args.strings["flavor"] ?? "kustomize") as GitopsFlavor;
  if (!GITOPS_FLAVORS.includes(flavor))
    problems.push(`--flavor: ${JSON.stringify(flavor)} is not allowed: ${GITOPS_FLAVORS.join(", ")}`);
  const repo = repoLocation(args, dir, flavor, problems);
  const common = commonOptions(args, io, problems);
  if (problems.length > 0 || !common || dir === undefined)
    return refused(problems, io, "nothing was written", "export");
  return exportPipeline({ ...common, dir: resolve(dir), flavor, repo }, output(io));
}

/** `mathison-install secrets apply`: see pipeline/gitops.ts. */
export async function runSecrets(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const problems: string[] = [];
  const verb = (args.positionals ?? []).join(" ");
  if (verb !== "apply")
    problems.push(`${verb === "" ? "(no verb)" : JSON.stringify(verb)}: not allowed: secrets takes one verb, apply`);
  const replace = parseReplaceSecrets(args.strings["replace-secret"]);
  problems.push(...replace.problems.map(formatProblem));
  const rotate = parseRotate(args.strings["rotate"]);
  if (typeof rotate === "string") problems.push(rotate);
  const common = commonOptions(args, io, problems);
  if (problems.length > 0 || !common || typeof rotate === "string")
    return refused(problems, io, "no Secret was changed", "secrets");
  return secretsPipeline({ ...common, replaceSecrets: replace.keys, rotateSecrets: rotate }, output(io));
}

/** What export and secrets apply take of the common flags. */
function commonOptions(args: ParsedArgs, io: CliIO, problems: string[]) {
  const flags = commandFlags(args, io, problems);
  if (!flags) return undefined;
  const { cluster, lockTimeoutMs, namespace, given } = flags;
  return { cluster, lockTimeoutMs, namespace, flags: args.strings, env: io.env, given };
}

/** The repository the controller follows: required for argocd and flux; the path found from DIR's Git work tree. */
function repoLocation(
  args: ParsedArgs,
  dir: string | undefined,
  flavor: GitopsFlavor,
  problems: string[],
): RepoLocation | undefined {
  const url = args.strings["repo-url"];
  if (url === undefined) {
    if (flavor !== "kustomize")
      problems.push(`--repo-url: missing: the Git repository ${flavor === "argocd" ? "Argo CD" : "Flux"} follows`);
    return undefined;
  }
  if (!/^(https?|ssh|git):\/\/\S+$|^[\w.-]+@[\w.-]+:\S+$/.test(url))
    problems.push(`--repo-url: ${JSON.stringify(url)} is not allowed: a Git URL (https://…, ssh://… or git@host:path)`);
  const path = args.strings["repo-path"] ?? (dir === undefined ? "." : pathInWorkTree(resolve(dir)));
  if (path.startsWith("/") || path.split("/").includes(".."))
    problems.push(`--repo-path: ${JSON.stringify(path)} is not allowed: a relative path inside the repository`);
  return { url, path, branch: args.strings["repo-branch"] ?? "main" };
}

/** DIR relative to the nearest directory above it holding `.git`; `.` when there is none. */
function pathInWorkTree(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(resolve(d, ".git"))) return relative(d, dir) || ".";
    if (dirname(d) === d) return ".";
  }
}

function output(io: CliIO): GitopsOutput {
  const say = (line: string): void => {
    io.stderr.write(`${wrapLines([line], widthOf(io.stderr)).join("\n")}\n`);
  };
  return { say, line: say };
}
