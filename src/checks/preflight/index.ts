import { capacityCheck } from "./capacity.js";
import { quotaCheck } from "./quota.js";
import { namespaceCheck, ownershipCheck, versionCheck } from "./cluster.js";
import type { PreflightCheck } from "./context.js";
import { ingressClassCheck, tlsCheck } from "./ingress.js";
import { permissionsCheckOf } from "./permissions.js";
import { storageCheck } from "./storage.js";
import { registryCheck } from "./registry.js";
import { EXTERNAL_CHECKS } from "./external.js";
import type { InstallConfig } from "../../config/types.js";

export type { PreflightContext } from "./context.js";

/** The checks after the Permissions check: it asks for the reads each of them declares. */
const LOOKING: readonly PreflightCheck[] = [
  versionCheck,
  namespaceCheck,
  ownershipCheck,
  storageCheck,
  ingressClassCheck,
  tlsCheck,
  capacityCheck,
  quotaCheck,
  registryCheck,
  ...EXTERNAL_CHECKS,
];

/** Everything a program can know before the first write, derived from the plan. */
export const PREFLIGHT_CHECKS: readonly PreflightCheck[] = [permissionsCheckOf(LOOKING), ...LOOKING];

/** The checks about this install (your own database's only when it has one). */
export function preflightChecksFor(config: InstallConfig): readonly PreflightCheck[] {
  return PREFLIGHT_CHECKS.filter((c) => c.applies?.(config) ?? true);
}
