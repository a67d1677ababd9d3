import type { Kube } from "../../kube/types.js";
import type { InstallState } from "../../record/store.js";

/** What the verification reads: the cluster and the install as its record describes it. */
export interface VerifyContext {
  readonly kube: Kube;
  readonly state: InstallState;
  readonly answers: Readonly<Record<string, string>>;
  /** The images the last successful run installed. */
  readonly webImage: string;
  readonly workerImage: string;
}
