import { ask } from "./access.js";
import type { CheckResult } from "../types.js";
import type { PreflightCheck } from "./context.js";
import { typed } from "../../facts/objects.js";
import { parseQuantity } from "../../facts/quantity.js";
import { formatCpu, formatMemory, plannedPods } from "./placement.js";

/** ResourceQuota and LimitRange in the namespace allow what the plan requests. */
export const quotaCheck: PreflightCheck = {
  id: "quota",
  group: "Capacity",
  title: "Quota and limits",
  needs: ["cluster"],
  reads: (ctx) => [
    ask("ResourceQuota", "list", ctx.rendered.namespace),
    ask("LimitRange", "list", ctx.rendered.namespace),
  ],
  async run(ctx): Promise<CheckResult> {
    if (!ctx.state.namespaceExists)
      return { status: "pass", message: "a new namespace: no ResourceQuota or LimitRange applies" };
    const ns = ctx.config.namespace;
    const [quotas, ranges] = await Promise.all([
      ctx.kube.list("v1", "ResourceQuota", ns),
      ctx.kube.list("v1", "LimitRange", ns),
    ]);
    const pods = plannedPods(ctx.rendered.stages.flatMap((s) => s.objects));
    const planned: Record<string, number> = {
      "requests.cpu": pods.reduce((n, p) => n + p.requests.cpu, 0),
      "requests.memory": pods.reduce((n, p) => n + p.requests.memory, 0),
      "limits.cpu": pods.reduce((n, p) => n + p.limits.cpu, 0),
      "limits.memory": pods.reduce((n, p) => n + p.limits.memory, 0),
      pods: pods.length,
    };
    const problems: string[] = [];
    for (const q of quotas.items) {
      for (const [key, want] of Object.entries(planned)) {
        const hard = parseQuantity(q.spec?.hard?.[key] ?? q.spec?.hard?.[key.replace("requests.", "")]);
        if (hard !== undefined && want > hard)
          problems.push(
            `ResourceQuota ${q.metadata.name} allows ${key} ${q.spec.hard[key] ?? q.spec.hard[key.replace("requests.", "")]}, the plan needs ${key.endsWith("memory") ? formatMemory(want) : key.endsWith("cpu") ? formatCpu(want) : want}`,
          );
      }
    }
    for (const r of ranges.items) {
      for (const limit of typed(r, "LimitRange").spec?.limits ?? []) {
        if (limit.type !== "Container" || !limit.max) continue;
        const maxCpu = parseQuantity(limit.max.cpu);
        const maxMem = parseQuantity(limit.max.memory);
        const over = pods.find(
          (p) => (maxCpu !== undefined && p.limits.cpu > maxCpu) || (maxMem !== undefined && p.limits.memory > maxMem),
        );
        if (over)
          problems.push(
            `LimitRange ${r.metadata.name} caps a container at ${limit.max.cpu ?? "-"} CPU / ${limit.max.memory ?? "-"} memory; ${over.owner} asks more`,
          );
      }
    }
    if (problems.length > 0)
      return {
        status: "fail",
        message: problems.join("; "),
        hint: `kubectl -n ${ns} describe resourcequota,limitrange; raise them or install elsewhere`,
      };
    return {
      status: "pass",
      message:
        quotas.items.length + ranges.items.length === 0
          ? "no ResourceQuota or LimitRange in the namespace"
          : "the namespace's ResourceQuota and LimitRange allow the plan",
    };
  },
};
