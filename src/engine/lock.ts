import { LOCK_NAME } from "../facts/names.js";
import { randomBytes } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { KubeApiError, type Kube } from "../kube/types.js";
import { type KubeObject, typed } from "../facts/objects.js";

/** A holder that stopped renewing for this long (a killed run) loses the lock to the next run. */
export const LEASE_SECONDS = 15;
/** A holder renews three times per lease: one lost renewal never loses the lock. */
const renewMsOf = (leaseSeconds: number) => (leaseSeconds * 1000) / 3;
const HOLDER_ANNOTATION = "mathison.dev/holder";

/** Who holds the lock, as the refusal names them. */
export interface LockHolder {
  readonly user: string;
  readonly host: string;
  readonly pid: number;
  readonly context: string;
  readonly since: string;
}

/** Another run holds the lock: nothing was changed. */
export class LockHeldError extends Error {
  constructor(
    readonly holder: LockHolder | undefined,
    readonly expiresAt: Date,
    readonly stoppedRenewing = false,
  ) {
    super(lockHeldMessage(holder, expiresAt));
  }
}

export function lockHeldMessage(holder: LockHolder | undefined, expiresAt: Date, now = new Date()): string {
  const who = holder
    ? `${holder.user}@${holder.host} (pid ${holder.pid}, context ${holder.context}) since ${holder.since}`
    : "another run";
  const left = Math.max(0, Math.ceil((expiresAt.getTime() - now.getTime()) / 1000));
  return `another mathison-install run holds the install's lock: ${who}, and is still renewing it (its lease runs ${left} s more); wait for it to finish, or give --lock-timeout 5m to wait for it`;
}

/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** When the holder last renewed (or took) the lease; empty when it never said. */
function renewedAt(lease: KubeObject): string {
  const spec = typed(lease, "Lease").spec;
  return spec?.renewTime ?? spec?.acquireTime ?? "";
}

function leaseSecondsOf(lease: KubeObject): number {
  return typed(lease, "Lease").spec?.leaseDurationSeconds ?? LEASE_SECONDS;
}

function expiry(lease: KubeObject): Date {
  const renewed = Date.parse(renewedAt(lease));
  return new Date((Number.isNaN(renewed) ? 0 : renewed) + leaseSecondsOf(lease) * 1000);
}

export function holderOf(lease: KubeObject): LockHolder | undefined {
  try {
    return JSON.parse(lease.metadata.annotations?.[HOLDER_ANNOTATION] ?? "") as LockHolder;
  } catch {
    return undefined;
  }
}

/** The lock as it is now, for `status`-like reports; undefined when free or expired. */
export async function currentHolder(
  kube: Kube,
  namespace: string,
  now = new Date(),
): Promise<{ holder: LockHolder | undefined; expiresAt: Date } | undefined> {
  const lease = await kube.get({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: LOCK_NAME, namespace });
  if (!lease?.spec?.holderIdentity || expiry(lease) <= now) return undefined;
  return { holder: holderOf(lease), expiresAt: expiry(lease) };
}

export interface HeldLock {
  /** Set when the previous holder's process was gone or it stopped renewing, and this run took the lock over. */
  readonly tookOverFrom: LockHolder | undefined;
  /** Why it was taken over: `its process is gone`, or `it stopped renewing it`. */
  readonly tookOverBecause?: string;
  /** Stops renewing and deletes the Lease if it is still ours. */
  release(): Promise<void>;
}

/** How long to wait for a held lock, and how waiting is told. */
export interface LockWait {
  /** `--lock-timeout`: how long to wait for a live holder (default 0: refuse at once). */
  readonly timeoutMs: number;
  /** Told once per wait, with the holder and how long at most. */
  readonly onWait: (message: string) => void;
  /** This run's lease (default 15 s): how soon the next run may take over if this one is killed. */
  readonly leaseSeconds?: number;
}

/** Whether the holder is a process on this host that no longer exists (a killed run): its lock is free now. */
export function holderIsGone(
  holder: LockHolder | undefined,
  here = { host: hostname(), user: userInfo().username },
): boolean {
  if (
    !holder ||
    holder.host !== here.host ||
    holder.user !== here.user ||
    !Number.isInteger(holder.pid) ||
    holder.pid <= 0
  )
    return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** A holder whose last renewal is older than two of its renewal periods has stopped (killed elsewhere, or frozen). */
function stoppedRenewing(lease: KubeObject, now: Date): boolean {
  const renewed = Date.parse(renewedAt(lease));
  return Number.isNaN(renewed) || now.getTime() - renewed > 2 * renewMsOf(leaseSecondsOf(lease));
}

/**
 * One run at a time per install, as `acquireOnce`, waiting where waiting is the answer: for a
 * holder that stopped renewing, until its lease ends (seconds); for a live holder, only as long
 * as `--lock-timeout` allows. A holder on this host whose process is gone is taken over at once.
 */
export async function acquireLock(
  kube: Kube,
  namespace: string,
  context: string,
  onLost: (message: string) => void,
  wait: LockWait = { timeoutMs: 0, onWait: () => undefined },
  now: () => Date = () => new Date(),
): Promise<HeldLock> {
  const deadline = now().getTime() + wait.timeoutMs;
  let told = false;
  for (;;) {
    try {
      return await acquireOnce(
        kube,
        { namespace, context, leaseSeconds: wait.leaseSeconds ?? LEASE_SECONDS },
        onLost,
        now,
      );
    } catch (err) {
      if (!(err instanceof LockHeldError)) throw err;
      const stopped = err.stoppedRenewing;
      const until = stopped ? Math.max(err.expiresAt.getTime(), deadline) : deadline;
      if (now().getTime() >= until) throw err;
      if (!told) {
        const seconds = Math.ceil(((stopped ? err.expiresAt.getTime() : deadline) - now().getTime()) / 1000);
        wait.onWait(
          stopped
            ? `the install's lock is held by ${describeHolder(err.holder)}, which stopped renewing it: waiting ${seconds} s for its lease to end`
            : `the install's lock is held by ${describeHolder(err.holder)}: waiting up to ${seconds} s (--lock-timeout) for it to finish`,
        );
        told = true;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, Math.max(100, until - now().getTime()))));
    }
  }
}

/** Which install's lock, for whom, and for how long at a time. */
interface LeaseWhere {
  readonly namespace: string;
  readonly context: string;
  readonly leaseSeconds: number;
}

function describeHolder(holder: LockHolder | undefined): string {
  return holder ? `${holder.user}@${holder.host} (pid ${holder.pid})` : "another run";
}

/**
 * One try: a coordination.k8s.io Lease in the namespace, created by the first run (a create is
 * atomic: a second gets 409), renewed while the run applies, deleted when it ends. A Lease whose
 * holder stopped renewing past its duration, or whose holder's process on this host is gone, is
 * taken over with an update that carries its resourceVersion, so two runs cannot both take it over.
 */
async function acquireOnce(
  kube: Kube,
  where: LeaseWhere,
  onLost: (message: string) => void,
  now: () => Date,
): Promise<HeldLock> {
  const { namespace, context, leaseSeconds } = where;
  const identity = `${userInfo().username}@${hostname()} pid ${process.pid} ${randomBytes(4).toString("hex")}`;
  const holder: LockHolder = {
    user: userInfo().username,
    host: hostname(),
    pid: process.pid,
    context,
    since: now().toISOString(),
  };
  const spec = (t: Date, transitions: number) => ({
    holderIdentity: identity,
    leaseDurationSeconds: leaseSeconds,
    acquireTime: microTime(t),
    renewTime: microTime(t),
    leaseTransitions: transitions,
  });
  const desired = (t: Date, transitions: number): KubeObject => ({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: LOCK_NAME,
      namespace,
      annotations: { [HOLDER_ANNOTATION]: JSON.stringify(holder) },
      labels: { "app.kubernetes.io/part-of": "mathison", "app.kubernetes.io/managed-by": "mathison-install" },
    },
    spec: spec(t, transitions),
  });
  let lease: KubeObject;
  let tookOverFrom: LockHolder | undefined;
  let tookOverBecause: string | undefined;
  try {
    lease = await kube.create(desired(now(), 0));
  } catch (err) {
    if (!(err instanceof KubeApiError) || err.status !== 409) throw err;
    const existing = await kube.get({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      name: LOCK_NAME,
      namespace,
    });
    if (!existing) return acquireOnce(kube, where, onLost, now);
    const gone = holderIsGone(holderOf(existing));
    if (existing.spec?.holderIdentity && expiry(existing) > now() && !gone)
      throw new LockHeldError(holderOf(existing), expiry(existing), stoppedRenewing(existing, now()));
    tookOverFrom = existing.spec?.holderIdentity ? holderOf(existing) : undefined;
    tookOverBecause = gone ? "its process is gone" : "it stopped renewing it";
    const next = desired(now(), (typed(existing, "Lease").spec?.leaseTransitions ?? 0) + 1);
    next.metadata.resourceVersion = existing.metadata.resourceVersion;
    try {
      lease = await kube.replace(next);
    } catch (e) {
      // Another run took it over first.
      if (e instanceof KubeApiError && e.status === 409)
        throw new LockHeldError(undefined, new Date(now().getTime() + leaseSeconds * 1000));
      throw e;
    }
  }
  let stopped = false;
  const renew = async (): Promise<void> => {
    const next = structuredClone(lease);
    next.spec.renewTime = microTime(now());
    try {
      lease = await kube.replace(next);
    } catch (err) {
      if (stopped) return;
      if (err instanceof KubeApiError && (err.status === 409 || err.status === 404)) {
        stopped = true;
        clearInterval(timer);
        onLost("the install's lock was taken by another run (this run stopped renewing it in time)");
      }
      // Anything else (a dropped connection) is retried at the next tick, well within the lease.
    }
  };
  const timer = setInterval(() => void renew(), renewMsOf(leaseSeconds));
  timer.unref();
  return {
    tookOverFrom,
    ...(tookOverBecause ? { tookOverBecause } : {}),
    async release() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      // Only the Lease as this run last wrote it: one taken over meanwhile has another version (409, left alone).
      await kube
        .delete(
          { apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: LOCK_NAME, namespace },
          lease.metadata.resourceVersion ? { resourceVersion: lease.metadata.resourceVersion } : {},
        )
        .catch(() => undefined);
    },
  };
}
