/**
 * The order of apply. Each stage's objects are applied together; the engine waits for the
 * stage's workloads before the next stage starts, so the app never starts before its database
 * is ready and migrated.
 */
export const STAGES = [
  { id: "base", title: "Namespace and RBAC", files: ["00-namespace.yaml", "01-rbac.yaml"] },
  { id: "config", title: "Configuration and secrets", files: ["02-configmap.yaml", "03-secret.yaml"] },
  { id: "backing", title: "PostgreSQL and Redis", files: ["04-postgres.yaml", "05-redis.yaml"] },
  { id: "migrate", title: "Database migration", files: ["06-migrate-job.yaml"] },
  { id: "app", title: "Web and worker", files: ["07-web.yaml", "08-worker.yaml"] },
  {
    id: "edge",
    title: "Ingress, network policies and disruption budget",
    files: ["09-ingress.yaml", "10-networkpolicy.yaml", "11-pdb.yaml"],
  },
] as const;

export type StageId = (typeof STAGES)[number]["id"];
export const MANIFEST_FILES: readonly string[] = STAGES.flatMap((s) => s.files);
