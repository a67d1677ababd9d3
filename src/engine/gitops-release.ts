import { withoutGitopsMarks } from "../facts/gitops.js";
import { refOf, type KubeObject } from "../facts/objects.js";
import { KubeApiError, type Kube } from "../kube/types.js";

/**
 * `install --leave-gitops`: removes a GitOps controller's marks from the install's live objects,
 * so the installer sees the install as its own again (and a controller still syncing puts them
 * back, which the next install sees). Each object is replaced at the version read, read again on
 * a conflict. Returns how many objects carried marks.
 */
export async function releaseFromGitops(kube: Kube, desired: readonly KubeObject[]): Promise<number> {
  let released = 0;
  for (const obj of desired) {
    for (let attempt = 0; ; attempt++) {
      const live = await kube.get(refOf(obj));
      const clean = live && withoutGitopsMarks(live);
      if (!clean) break;
      try {
        await kube.replace(clean);
        released++;
        break;
      } catch (err) {
        // Changed since it was read (a controller, the garbage collector): read it again.
        if (!(err instanceof KubeApiError && err.status === 409) || attempt >= 4) throw err;
      }
    }
  }
  return released;
}
