import { KubeApiError } from "../kube/types.js";

/** How one check came out; every result says what it found in one line, and what to do unless it passed. */
export type CheckStatus = "pass" | "warn" | "fail" | "skip";

export interface CheckResult {
  readonly status: CheckStatus;
  readonly message: string;
  readonly hint?: string;
}

/** A small object per check, as Linkerd's: grouped, titled, run against a context, timed out on its own. */
export interface Check<C> {
  readonly id: string;
  readonly group: string;
  readonly title: string;
  /** What it must reach: the API server only, `pods/exec`, or the network beyond the cluster. */
  readonly needs: readonly ("cluster" | "exec" | "network")[];
  readonly timeoutMs?: number;
  run(context: C): Promise<CheckResult>;
}

export interface CheckOutcome extends CheckResult {
  readonly id: string;
  readonly group: string;
  readonly title: string;
}

const DEFAULT_TIMEOUT_MS = 15_000;

/** A check that cannot run fails, except where reading is forbidden: the permissions check names that. */
function cannotRun(err: Error): CheckResult {
  if (err instanceof KubeApiError && err.status === 403)
    return { status: "skip", message: `not allowed to look: ${err.message}`, hint: "see Permissions" };
  return {
    status: "fail",
    message: `could not check: ${err.message}`,
    hint: "a check that cannot run is a failure: the message says why",
  };
}

async function runOne<C>(check: Check<C>, context: C): Promise<CheckOutcome> {
  const timeoutMs = check.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          status: "fail",
          message: `no answer within ${timeoutMs / 1000} s`,
          hint: "the API server is slow or unreachable: kubectl cluster-info",
        }),
      timeoutMs,
    );
  });
  try {
    const result = await Promise.race([check.run(context).catch(cannotRun), timeout]);
    return { id: check.id, group: check.group, title: check.title, ...result };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every check at once (they are independent), reporting each as it finishes; results in the checks' order. */
export async function runChecks<C>(
  checks: readonly Check<C>[],
  context: C,
  onResult: (o: CheckOutcome) => void = () => undefined,
): Promise<CheckOutcome[]> {
  return Promise.all(
    checks.map(async (c) => {
      const outcome = await runOne(c, context);
      onResult(outcome);
      return outcome;
    }),
  );
}

export const SYMBOL: Record<CheckStatus, string> = { pass: "✔", warn: "‼", fail: "✖", skip: "–" };

/** `✔ Storage: the default StorageClass standard provisions…` and its hint. */
export function checkLines(o: CheckOutcome): string[] {
  return [
    `${SYMBOL[o.status]} ${o.title}: ${o.message}`,
    ...(o.hint && o.status !== "pass" ? o.hint.split("\n").map((l) => `    ${l}`) : []),
  ];
}
