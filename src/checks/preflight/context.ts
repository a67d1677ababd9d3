import type { InstallConfig } from "../../config/types.js";
import type { Kube } from "../../kube/types.js";
import type { InstallState } from "../../record/store.js";
import type { RenderedPlan } from "../../render/render.js";

/** What every preflight check reads: the cluster, the plan about to be applied, and what is installed. */
export interface PreflightContext {
  readonly kube: Kube;
  readonly rendered: RenderedPlan;
  readonly config: InstallConfig;
  readonly state: InstallState;
  /** `--force-namespace`: install into a namespace that holds other workloads. */
  readonly forceNamespace: boolean;
}
