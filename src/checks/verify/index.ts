import type { Check } from "../types.js";
import type { VerifyContext } from "./context.js";
import { authUrlCheck, ingressAddressCheck, sseCheck } from "./ingress.js";
import { dnsCheck, healthCheck } from "./network.js";
import { tlsCertificateCheck, tlsServedCheck } from "./tls.js";
import { serviceAccountCheck } from "./permissions.js";
import { endpointsCheck, postgresQueryCheck, redisPingCheck, vectorExtensionCheck } from "./services.js";
import { migrationCheck, probesCheck, webCheck, workerCheck } from "./workloads.js";

export type { NetworkOptions, VerifyContext } from "./context.js";

/** The automated checks a program can make after an install. */
export const VERIFY_CHECKS: readonly Check<VerifyContext>[] = [
  migrationCheck,
  webCheck,
  workerCheck,
  probesCheck,
  endpointsCheck,
  postgresQueryCheck,
  vectorExtensionCheck,
  redisPingCheck,
  serviceAccountCheck,
  ingressAddressCheck,
  dnsCheck,
  tlsCertificateCheck,
  tlsServedCheck,
  healthCheck,
  authUrlCheck,
  sseCheck,
];
