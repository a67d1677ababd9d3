import type { AccessQuestion } from "../../kube/types.js";
import type { RenderedPlan } from "../../render/render.js";
import type { CheckResult } from "../types.js";
import type { PreflightCheck, PreflightContext } from "./context.js";
import { ask, dedupe } from "./access.js";
import { isNamespaced, type KubeObject, typed } from "../../facts/objects.js";
import { WATCHED_KINDS } from "../../facts/resources.js";

/**
 * Every request the run will make, derived from the plan: apply (get, create, patch) of each
 * object, the waits' lists and watches, the migration log, Job cleanup, the lock and the record.
 */
export function requiredAccess(rendered: RenderedPlan): AccessQuestion[] {
  const ns = rendered.namespace;
  const objects = rendered.stages.flatMap((s) => s.objects);
  const questions: AccessQuestion[] = [];
  for (const obj of objects) {
    for (const verb of ["get", "create", "patch"])
      questions.push(ask(obj.kind, verb, isNamespaced(obj) ? ns : undefined));
  }
  for (const [, kind] of WATCHED_KINDS) for (const verb of ["list", "watch"]) questions.push(ask(kind, verb, ns));
  questions.push(ask("Pod", "get", ns, "log"), ask("Job", "delete", ns));
  for (const verb of ["get", "create", "update", "delete"]) questions.push(ask("Lease", verb, ns));
  // What the verification reads afterwards: endpoints, ingress classes, the ServiceAccount's access reviews, exec into the databases.
  questions.push(
    ask("EndpointSlice", "list", ns),
    ask("IngressClass", "get", undefined),
    ask("SubjectAccessReview", "create", undefined),
    ask("Pod", "create", ns, "exec"),
  );
  return dedupe(questions);
}

/** What each other preflight check reads beyond the run's own requests, as it declares it: without these it is skipped, blind. */
export function checkReads(
  ctx: Pick<PreflightContext, "rendered" | "config">,
  checks: readonly PreflightCheck[],
): { title: string; reads: AccessQuestion[] }[] {
  return checks.map((c) => ({ title: c.title, reads: c.reads(ctx) })).filter((c) => c.reads.length > 0);
}

/**
 * Creating a ClusterRole or binding it needs either every permission it grants or the
 * `escalate` / `bind` verbs: ask for the rules only when those are missing.
 */
export function grantedByRoles(rendered: RenderedPlan): AccessQuestion[] {
  const roles = rendered.stages.flatMap((s) => s.objects).filter((o) => o.kind === "ClusterRole");
  return dedupe(
    roles.flatMap((role: KubeObject) =>
      (typed(role, "ClusterRole").rules ?? []).flatMap((rule) =>
        (rule.apiGroups ?? [""]).flatMap((group) =>
          (rule.resources ?? []).flatMap((res) =>
            (rule.verbs ?? []).map((verb) => {
              const [resource, subresource] = res.split("/");
              return { verb, resource: resource!, group, ...(subresource ? { subresource } : {}) };
            }),
          ),
        ),
      ),
    ),
  );
}

/** `create namespaces`, `list pods in x`, `get pods/log in x`. */
export function describeAccess(q: AccessQuestion): string {
  const res = `${q.resource}${q.subresource ? `/${q.subresource}` : ""}${q.group ? `.${q.group}` : ""}`;
  return `${q.verb} ${res}${q.namespace ? ` in ${q.namespace}` : ""}`;
}

/** The smallest ClusterRole that grants what is missing, as YAML a cluster admin can apply. */
export function roleSnippet(missing: readonly AccessQuestion[]): string {
  const rules = new Map<string, Set<string>>();
  for (const q of missing) {
    const key = JSON.stringify([q.group ?? "", `${q.resource}${q.subresource ? `/${q.subresource}` : ""}`]);
    rules.set(key, (rules.get(key) ?? new Set()).add(q.verb));
  }
  const lines = [
    "apiVersion: rbac.authorization.k8s.io/v1",
    "kind: ClusterRole",
    "metadata: {name: mathison-installer}",
    "rules:",
  ];
  for (const [key, verbs] of rules) {
    const [group, resource] = JSON.parse(key) as [string, string];
    lines.push(`- {apiGroups: ["${group}"], resources: [${resource}], verbs: [${[...verbs].join(", ")}]}`);
  }
  return lines.join("\n");
}

async function missingOf(ctx: PreflightContext, qs: readonly AccessQuestion[]): Promise<AccessQuestion[]> {
  const allowed = await Promise.all(qs.map((q) => ctx.kube.canI(q)));
  return qs.filter((_, i) => !allowed[i]);
}

/** The checks whose reads these credentials lack, with the reads they lack. */
async function blindChecks(
  ctx: PreflightContext,
  checks: readonly PreflightCheck[],
): Promise<{ title: string; reads: AccessQuestion[] }[]> {
  const lacking = await Promise.all(
    checkReads(ctx, checks).map(async (c) => ({ title: c.title, reads: await missingOf(ctx, dedupe(c.reads)) })),
  );
  return lacking.filter((c) => c.reads.length > 0);
}

/** The Permissions check: every request the run makes, and the reads `others` declare (a blind check is named). */
export const permissionsCheckOf = (others: readonly PreflightCheck[]): PreflightCheck => ({
  id: "permissions",
  group: "Permissions",
  title: "Permissions",
  needs: ["cluster"],
  reads: () => [],
  async run(ctx): Promise<CheckResult> {
    const needed = requiredAccess(ctx.rendered);
    // RBAC allows `*` on `*` only to a rule of wildcards (cluster-admin): then every question is answered at once.
    if (await ctx.kube.canI({ verb: "*", resource: "*", group: "*" }))
      return {
        status: "pass",
        message: `all ${needed.length} requests the run makes are allowed (every verb on every resource is)`,
      };
    const [missing, escalate, bind, blind] = await Promise.all([
      missingOf(ctx, needed),
      ctx.kube.canI({ verb: "escalate", resource: "clusterroles", group: "rbac.authorization.k8s.io" }),
      ctx.kube.canI({ verb: "bind", resource: "clusterroles", group: "rbac.authorization.k8s.io" }),
      blindChecks(ctx, others),
    ]);
    const grants = escalate && bind ? [] : await missingOf(ctx, grantedByRoles(ctx.rendered));
    const cannotSee = blind.map((b) => `${b.title} (${b.reads.map(describeAccess).join(", ")})`).join("; ");
    if (missing.length === 0 && grants.length === 0)
      return blind.length === 0
        ? {
            status: "pass",
            message: `all ${needed.length} requests the run makes are allowed, and every check's reads`,
          }
        : {
            status: "warn",
            message: `all ${needed.length} requests the run makes are allowed; these checks cannot read what they look at and are skipped: ${cannotSee}`,
            hint: `for a preflight that sees everything, ask for:\n${roleSnippet(blind.flatMap((b) => b.reads))}`,
          };
    const parts = [
      ...(missing.length > 0
        ? [`missing ${missing.length} of ${needed.length}: ${missing.map(describeAccess).join("; ")}`]
        : []),
      ...(grants.length > 0
        ? [
            `the ClusterRole grants ${grants.length} permissions you do not hold (and no escalate/bind on clusterroles): ${grants.slice(0, 6).map(describeAccess).join("; ")}${grants.length > 6 ? "; …" : ""}`,
          ]
        : []),
    ];
    if (blind.length > 0) parts.push(`skipped for want of reads: ${cannotSee}`);
    return {
      status: "fail",
      message: parts.join(". "),
      hint: `ask for cluster-admin, or for a role with at least this (the ClusterRole's own rules too, or escalate and bind on clusterroles):\n${roleSnippet([...missing, ...grants])}`,
    };
  },
});
