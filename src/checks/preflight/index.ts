import type { Check } from "../types.js";
import { capacityCheck } from "./capacity.js";
import { quotaCheck } from "./quota.js";
import { namespaceCheck, ownershipCheck, versionCheck } from "./cluster.js";
import type { PreflightContext } from "./context.js";
import { ingressClassCheck, tlsCheck } from "./ingress.js";
import { permissionsCheck } from "./permissions.js";
import { storageCheck } from "./storage.js";
import { registryCheck } from "./registry.js";

export type { PreflightContext } from "./context.js";

/** Everything a program can know before the first write, derived from the plan. */
export const PREFLIGHT_CHECKS: readonly Check<PreflightContext>[] = [
  permissionsCheck,
  versionCheck,
  namespaceCheck,
  ownershipCheck,
  storageCheck,
  ingressClassCheck,
  tlsCheck,
  capacityCheck,
  quotaCheck,
  registryCheck,
];
