import type { AccessQuestion } from "../../kube/types.js";
import { describeAccess } from "../preflight/permissions.js";
import type { Check, CheckResult } from "../types.js";
import type { VerifyContext } from "./context.js";
import { invoked } from "../../base/invocation.js";

/** Seed 001 §5: what the worker's ServiceAccount must be allowed, cluster-wide. */
export const SERVICE_ACCOUNT_ACCESS: readonly AccessQuestion[] = [
  { verb: "create", resource: "namespaces", group: "" },
  { verb: "create", resource: "deployments", group: "apps" },
  { verb: "get", resource: "pods", subresource: "log", group: "" },
  { verb: "create", resource: "pods", subresource: "exec", group: "" },
];

/** `kubectl auth can-i … --as=system:serviceaccount:<ns>:mathison`, by SubjectAccessReview. */
export const serviceAccountCheck: Check<VerifyContext> = {
  id: "service-account",
  group: "Permissions",
  title: "Worker's permissions",
  needs: ["cluster"],
  async run({ kube, state }): Promise<CheckResult> {
    const user = `system:serviceaccount:${state.namespace}:mathison`;
    const groups = ["system:serviceaccounts", `system:serviceaccounts:${state.namespace}`, "system:authenticated"];
    const allowed = await Promise.all(SERVICE_ACCOUNT_ACCESS.map((q) => kube.canUser(user, groups, q)));
    const missing = SERVICE_ACCOUNT_ACCESS.filter((_, i) => !allowed[i]);
    if (missing.length > 0)
      return {
        status: "fail",
        message: `${user} may not ${missing.map(describeAccess).join("; ")}`,
        hint: `the ClusterRole or its binding was changed: re-run ${invoked()} install to restore them`,
      };
    return {
      status: "pass",
      message: `${user} may ${SERVICE_ACCOUNT_ACCESS.map(describeAccess).join(", ")} (the worker can create a namespace and deploy apps)`,
    };
  },
};
