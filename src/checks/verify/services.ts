import type { Check, CheckResult } from "../types.js";
import type { VerifyContext } from "./context.js";

/** The postgres and redis Services have ready endpoints: web and worker can reach them. */
export const endpointsCheck: Check<VerifyContext> = {
  id: "endpoints", group: "Backing services", title: "PostgreSQL and Redis endpoints", needs: ["cluster"],
  async run({ kube, state }): Promise<CheckResult> {
    const ns = state.namespace;
    const counts = await Promise.all(["postgres", "redis"].map(async (svc) => {
      const slices = (await kube.list("discovery.k8s.io/v1", "EndpointSlice", ns, { labelSelector: `kubernetes.io/service-name=${svc}` })).items;
      const ready = slices.flatMap((s) => (s.endpoints as { conditions?: { ready?: boolean } }[] | undefined) ?? []).filter((e) => e.conditions?.ready !== false).length;
      return [svc, ready] as const;
    }));
    const empty = counts.filter(([, n]) => n === 0).map(([svc]) => svc);
    if (empty.length > 0) return { status: "fail", message: `Service ${empty.join(" and ")} has no ready endpoint`, hint: `kubectl -n ${ns} get pods,endpointslices: the StatefulSet's pod is not Ready` };
    return { status: "pass", message: counts.map(([svc, n]) => `${svc} ${n} ready`).join(", ") };
  },
};
