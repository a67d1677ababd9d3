import { VERIFY_CHECKS, type NetworkOptions, type VerifyContext } from "../checks/verify/index.js";
import { MANUAL_CHECKS, type ManualCheck } from "../checks/verify/manual.js";
import { runChecks, type CheckOutcome } from "../checks/types.js";
import type { DoneEvent, EngineEvent } from "../engine/events.js";
import type { Kube } from "../kube/types.js";
import { lastSuccessfulRun, type ManualAnswer, type Verification } from "../record/install-record.js";
import { readInstallState, writeRecord } from "../record/store.js";
import { authUrl } from "../render/customise.js";
import { parseTls } from "../config/resolve.js";
import { readOnce } from "../kube/read-once.js";
import { invoked } from "../base/invocation.js";

/** The checklist as a front end shows it: the automated checks as they finish, then (interactive) the manual ones. */
export interface ChecklistRun {
  /** Runs every automated check, calling `onResult` as each ends; resolves with all, in the checks' order. */
  readonly automated: (onResult: (o: CheckOutcome) => void) => Promise<CheckOutcome[]>;
  /** The checks' titles and groups, so a screen can show a row per check before any ends. */
  readonly titles: readonly { readonly id: string; readonly group: string; readonly title: string }[];
  readonly manual: readonly ManualCheck[];
  readonly url: string;
  readonly namespace: string;
}

/** How a front end takes a checklist: returns the automated outcomes and what the person answered. */
export type Checklist = (
  run: ChecklistRun,
) => Promise<{ outcomes: CheckOutcome[]; manual: Readonly<Record<string, ManualAnswer>> }>;

export type VerifiedEvent = Extract<EngineEvent, { event: "verified" }>;

/** How a front end takes part in verifying: shows the checklist, then the verdict. */
export interface VerifyFrontEnd {
  readonly checklist: Checklist;
  verified(e: VerifiedEvent): void;
}

export interface VerifyResult {
  readonly verification: Verification;
  readonly outcomes: readonly CheckOutcome[];
}

/**
 * `verify`: the checklist of an install as its record describes it, and the result kept in the
 * record (for `status`). Undefined when there is no install that completed.
 */
export async function verifyInstall(
  kube: Kube,
  namespace: string,
  network: NetworkOptions,
  fe: VerifyFrontEnd,
): Promise<VerifyResult | undefined> {
  const state = await readInstallState(kube, namespace);
  const last = lastSuccessfulRun(state.record);
  if (!state.namespaceExists || !state.record.answers || !last) return undefined;
  const result = await checkInstall(
    kube,
    { state, answers: state.record.answers, webImage: last.webImage, workerImage: last.workerImage, network },
    fe,
  );
  // Written against the record as read here; a record that cannot be written does not change the verdict, and is said.
  const notRecorded = await writeRecord(kube, namespace, { ...state.record, verification: result.verification }).then(
    () => "",
    (err: Error) => `; the result was not recorded: ${err.message}`,
  );
  fe.verified(verifiedEvent(result, notRecorded));
  return result;
}

/** The install to check: its state and the answers and images it runs. */
export type InstallToCheck = Omit<VerifyContext, "kube">;

/**
 * Runs the checklist (automated checks, then the manual ones where a person is there to answer)
 * and says what failed; records nothing, so an install can keep the result in its one record.
 * The checks share one read of each object (they all look at the Ingress).
 */
export async function checkInstall(kube: Kube, install: InstallToCheck, fe: VerifyFrontEnd): Promise<VerifyResult> {
  const context: VerifyContext = { ...install, kube: readOnce(kube) };
  const answers = install.answers;
  const { outcomes, manual } = await fe.checklist({
    automated: (onResult) => runChecks(VERIFY_CHECKS, context, onResult),
    titles: VERIFY_CHECKS.map(({ id, group, title }) => ({ id, group, title })),
    manual: MANUAL_CHECKS,
    url: authUrl({ tls: parseTls(answers["tls"] ?? "none"), domain: answers["domain"] ?? "" }),
    namespace: install.state.namespace,
  });
  const said = (a: ManualAnswer) =>
    Object.entries(manual)
      .filter(([, v]) => v === a)
      .map(([k]) => k);
  const failed = [...outcomes.filter((o) => o.status === "fail").map((o) => o.id), ...said("no")];
  const verification: Verification = {
    time: new Date().toISOString(),
    ok: failed.length === 0,
    failed,
    warned: outcomes.filter((o) => o.status === "warn").map((o) => o.id),
    ...(Object.keys(manual).length > 0 ? { manual } : {}),
  };
  return { verification, outcomes };
}

/** The checklist's verdict as an event; `notRecorded` says why the record does not hold it. */
export function verifiedEvent(result: VerifyResult, notRecorded = ""): VerifiedEvent {
  const v = result.verification;
  return {
    event: "verified",
    ok: v.ok,
    failed: v.failed,
    warned: v.warned,
    message: `${verificationLine(result)}${notRecorded}`,
  };
}

/** One line for the end of a checklist: `verification failed (dns): 13 passed, 1 warning, 1 skipped`. */
export function verificationLine(r: VerifyResult): string {
  const count = (s: string) => r.outcomes.filter((o) => o.status === s).length;
  const parts = [`${count("pass")} passed`];
  if (count("warn") > 0) parts.push(`${count("warn")} ${count("warn") === 1 ? "warning" : "warnings"}`);
  if (count("skip") > 0) parts.push(`${count("skip")} skipped`);
  const manual = Object.values(r.verification.manual ?? {});
  if (manual.length > 0)
    parts.push(
      `manual: ${manual.filter((a) => a === "yes").length} yes, ${manual.filter((a) => a === "no").length} no, ${manual.filter((a) => a === "skip").length} skipped`,
    );
  return r.verification.ok
    ? `verification passed: ${parts.join(", ")}`
    : `verification failed (${r.verification.failed.join(", ")}): ${parts.join(", ")}`;
}

/** The apply's success, or — when verification failed — that the install runs but does not work yet, and what each failed check needs. */
export function wholeRunVerdict(applied: DoneEvent, verified: VerifyResult | undefined, namespace: string): DoneEvent {
  if (!verified || verified.verification.ok) return applied;
  const failed = verified.verification.failed;
  const hints = [
    ...new Set(verified.outcomes.filter((o) => o.status === "fail" && o.hint).map((o) => o.hint!.split("\n")[0]!)),
  ];
  return {
    ...applied,
    ok: false,
    outcome: "verify-failed",
    message: `${applied.message}, but verification failed (${failed.join(", ")}): it does not work end to end yet`,
    next: [...hints, `${invoked()} verify --namespace ${namespace}`],
  };
}
