/**
 * The order of apply. Each stage's objects are applied together; the engine waits for the
 * stage's workloads before the next stage starts, so the app never starts before its database
 * is ready and migrated.
 */
export const STAGES = [
  { id: "base", title: "Namespace and RBAC", files: ["namespace.yaml", "rbac.yaml"] },
  { id: "config", title: "Configuration and secrets", files: ["configmap.yaml", "secret.yaml"] },
  { id: "backing", title: "PostgreSQL and Redis", files: ["postgres.yaml", "redis.yaml"] },
  { id: "migrate", title: "Database migration", files: ["migrate-job.yaml"] },
  { id: "app", title: "Web and worker", files: ["web.yaml", "worker.yaml"] },
  { id: "edge", title: "Ingress, network policies and disruption budget", files: ["ingress.yaml", "networkpolicy.yaml", "pdb.yaml"] },
] as const;

export type StageId = (typeof STAGES)[number]["id"];
export const MANIFEST_FILES: readonly string[] = STAGES.flatMap((s) => s.files);
