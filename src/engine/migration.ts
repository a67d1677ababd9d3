import type { Kube } from "../kube/types.js";
import { type KubeObject, typed } from "../facts/objects.js";
import { MIGRATION_JOB_PREFIX } from "../facts/names.js";

/** The migration Job created last among `jobs` (the current image's, unless someone ran another since). */
export function newestMigrationJob(jobs: readonly KubeObject[]): KubeObject | undefined {
  return jobs
    .filter((j) => j.metadata.name.startsWith(MIGRATION_JOB_PREFIX))
    .sort((a, b) => String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)))[0];
}

/**
 * Migration Jobs of earlier images, once this image's migration completed: their pod templates
 * are immutable, so each image got its own. One that never finished (a crash-looping image the
 * user moved away from) would otherwise restart forever.
 */
export async function removeOldMigrationJobs(
  kube: Kube,
  namespace: string,
  keep: readonly string[],
  report: (object: string, message: string) => void,
): Promise<void> {
  const { items } = await kube.list("batch/v1", "Job", namespace, {
    labelSelector: "app.kubernetes.io/component=migration,app.kubernetes.io/part-of=mathison",
  });
  await Promise.all(
    items
      .filter((job) => !keep.includes(job.metadata.name))
      .map(async (job) => {
        const finished = typed(job, "Job").status?.conditions?.some(
          (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
        );
        await kube.delete(
          { apiVersion: "batch/v1", kind: "Job", name: job.metadata.name, namespace },
          { propagation: "Background" },
        );
        report(
          `Job/${job.metadata.name}`,
          `deleted: the ${finished ? "finished" : "unfinished"} migration Job of an earlier image`,
        );
      }),
  );
}
