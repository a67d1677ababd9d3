import { registryHost } from "../render/registry.js";
import { type KubeObject, typed } from "../facts/objects.js";

// What a diagnosis is, and the first place one is looked for: a pod's containers.

/** Why a workload is not ready yet, as a person debugging it with kubectl would put it. */
export interface Diagnosis {
  /** The Kubernetes reason: ImagePullBackOff, FailedScheduling, FailedCreate, … */
  readonly reason: string;
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
  /** A state that will not recover by waiting: the stage fails now, not at its timeout. */
  readonly fatal: boolean;
  /** The pod and container concerned; their last log lines belong in the report. */
  readonly pod?: string;
  readonly container?: string;
  readonly previousLogs?: boolean;
}

/** Restarts after which a crash loop is taken as final (the migration Job's backoffLimit). */
export const CRASH_LOOP_RESTARTS = 3;

const IMAGE_HINT =
  "check the image name and tag, that it exists in the registry, and that the cluster may pull it (imagePullSecrets for a private registry)";

/** A registry that refused the credentials (or wanted some) is named, with the flags that give them. */
export function pullHint(image: string, message: string | undefined): string {
  if (!/unauthorized|authentication required|denied|no basic auth credentials|\b401\b|\b403\b/i.test(message ?? ""))
    return IMAGE_HINT;
  return `the registry ${registryHost(image)} refused the pull: give its credentials with --registry-username and --registry-password-file (or --docker-config FILE, or --image-pull-secret NAME for a Secret you made)`;
}

/** Why a pod's container does not run: a pull refused, a crash loop, a bad config, an init container failing. */
export function containerDiagnosis(pod: KubeObject): Diagnosis | undefined {
  const podName = pod.metadata.name;
  const status = typed(pod, "Pod").status;
  const statuses = [...(status?.initContainerStatuses ?? []), ...(status?.containerStatuses ?? [])];
  for (const cs of statuses) {
    const waiting = cs.state?.waiting;
    const lastTerminated = cs.lastState?.terminated;
    const container = cs.name;
    const at = `pod ${podName}, container ${container}`;
    switch (waiting?.reason) {
      case "ImagePullBackOff":
      case "ErrImagePull":
      case "InvalidImageName":
      case "ErrImageNeverPull":
        return {
          reason: waiting.reason,
          message: `${at}: ${waiting.message ?? `cannot pull ${cs.image}`}`,
          hint: pullHint(cs.image, waiting.message),
          fatal: true,
          pod: podName,
          container,
        };
      case "CreateContainerConfigError":
        return {
          reason: waiting.reason,
          message: `${at}: ${waiting.message ?? "invalid container configuration"}`,
          hint: "a Secret or ConfigMap (or a key in it) the container references is missing: kubectl describe pod shows which",
          fatal: true,
          pod: podName,
          container,
        };
      case "CreateContainerError":
      case "RunContainerError":
        return {
          reason: waiting.reason,
          message: `${at}: ${waiting.message ?? "the container could not start"}`,
          hint: "the runtime could not start the container: check its command, mounts and security context",
          fatal: true,
          pod: podName,
          container,
        };
      case "CrashLoopBackOff": {
        const restarts = cs.restartCount ?? 0;
        const oom = lastTerminated?.reason === "OOMKilled";
        const exit = lastTerminated
          ? ` (last exit: ${lastTerminated.reason ?? "terminated"}, code ${lastTerminated.exitCode ?? "?"})`
          : "";
        return {
          reason: oom ? "OOMKilled" : "CrashLoopBackOff",
          message: `${at}: restarted ${restarts} times${exit}`,
          hint: oom
            ? "the container ran out of memory: raise its memory limit"
            : "the program exits on start: its last log lines say why",
          fatal: restarts >= CRASH_LOOP_RESTARTS,
          pod: podName,
          container,
          previousLogs: true,
        };
      }
    }
  }
  return undefined;
}
