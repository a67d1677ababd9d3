import type { Check } from "../types.js";
import type { VerifyContext } from "./context.js";
import { authUrlCheck, ingressAddressCheck, sseCheck } from "./ingress.js";
import { serviceAccountCheck } from "./permissions.js";
import { endpointsCheck } from "./services.js";
import { migrationCheck, probesCheck, webCheck, workerCheck } from "./workloads.js";

export type { VerifyContext } from "./context.js";

/** The automated checks a program can make after an install (those that need only the API server). */
export const VERIFY_CHECKS: readonly Check<VerifyContext>[] = [
  migrationCheck, webCheck, workerCheck, probesCheck, endpointsCheck, serviceAccountCheck, ingressAddressCheck, authUrlCheck, sseCheck,
];
