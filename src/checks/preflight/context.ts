import type { InstallConfig } from "../../config/types.js";
import type { AccessQuestion, Kube } from "../../kube/types.js";
import type { InstallState } from "../../record/store.js";
import type { RenderedPlan } from "../../render/render.js";
import type { Check } from "../types.js";

/** What every preflight check reads: the cluster, the plan about to be applied, and what is installed. */
export interface PreflightContext {
  readonly kube: Kube;
  readonly rendered: RenderedPlan;
  readonly config: InstallConfig;
  readonly state: InstallState;
  /** `--force-namespace`: install into a namespace that holds other workloads. */
  readonly forceNamespace: boolean;
}

/**
 * A preflight check declares what it reads beyond what the run itself reads (the plan's objects,
 * pods in the namespace, the server's version: `requiredAccess`), so the Permissions check can say
 * when it would be blind. A check that reads nothing more declares `reads: () => []`.
 */
export interface PreflightCheck extends Check<PreflightContext> {
  /** Whether the check is about this install at all (your own database's checks: only with it); absent: always. */
  readonly applies?: (config: InstallConfig) => boolean;
  reads(ctx: Pick<PreflightContext, "rendered" | "config">): AccessQuestion[];
}
