import { readFileSync, readlinkSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import type { KubeObject } from "../facts/objects.js";

// Who holds the install's lock, as its Lease's annotation says, and whether that process is
// provably gone: the same host, user, boot and PID namespace, and no process of that pid and
// start time. Anything less proves nothing, and the lease must run out.

export const HOLDER_ANNOTATION = "mathison.dev/holder";

/** Who holds the lock, as the refusal names them. */
export interface LockHolder {
  readonly user: string;
  readonly host: string;
  readonly pid: number;
  readonly context: string;
  readonly since: string;
  /** The kernel's boot, its PID namespace and the process's start (Linux): what proves a pid is that process. */
  readonly bootId?: string;
  readonly pidNamespace?: string;
  readonly startTime?: string;
}

/** Where pids mean the same process: one boot of one kernel, one PID namespace (a container has its own). */
export interface ProcessSpace {
  readonly host: string;
  readonly user: string;
  readonly bootId: string | undefined;
  readonly pidNamespace: string | undefined;
  /** A process's start time in clock ticks since boot; undefined when there is no such process. */
  readonly startTimeOf: (pid: number) => string | undefined;
}

function readOrUndefined(read: () => string): string | undefined {
  try {
    return read().trim() || undefined;
  } catch {
    return undefined;
  }
}

/** /proc/PID/stat's 22nd field; the command name before it is in parentheses and may hold spaces. */
function procStartTime(pid: number): string | undefined {
  const stat = readOrUndefined(() => readFileSync(`/proc/${pid}/stat`, "utf8"));
  return stat?.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

/** This process's space, read from /proc (elsewhere it proves nothing, and no holder is taken for gone). */
export function thisProcessSpace(): ProcessSpace {
  return {
    host: hostname(),
    user: userInfo().username,
    bootId: readOrUndefined(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8")),
    pidNamespace: readOrUndefined(() => readlinkSync("/proc/self/ns/pid")),
    startTimeOf: procStartTime,
  };
}

export function holderOf(lease: KubeObject): LockHolder | undefined {
  try {
    return JSON.parse(lease.metadata.annotations?.[HOLDER_ANNOTATION] ?? "") as LockHolder;
  } catch {
    return undefined;
  }
}

/**
 * Whether the holder is a process that no longer exists, proven on this machine: the same host,
 * user, boot and PID namespace, and its pid either gone or now another process (another start
 * time). A holder from another machine, container or boot, or one that did not say, is never
 * taken for gone: its lease must run out.
 */
export function holderIsGone(holder: LockHolder | undefined, here: ProcessSpace = thisProcessSpace()): boolean {
  if (
    !holder ||
    holder.host !== here.host ||
    holder.user !== here.user ||
    !holder.bootId ||
    holder.bootId !== here.bootId ||
    !holder.pidNamespace ||
    holder.pidNamespace !== here.pidNamespace ||
    !holder.startTime ||
    !Number.isInteger(holder.pid) ||
    holder.pid <= 0
  )
    return false;
  return here.startTimeOf(holder.pid) !== holder.startTime;
}

export function describeHolder(holder: LockHolder | undefined): string {
  return holder ? `${holder.user}@${holder.host} (pid ${holder.pid})` : "another run";
}

/** This run as the Lease's annotation names it. */
export function thisHolder(context: string, space: ProcessSpace, now: Date): LockHolder {
  const startTime = space.startTimeOf(process.pid);
  return {
    user: space.user,
    host: space.host,
    pid: process.pid,
    context,
    since: now.toISOString(),
    ...(space.bootId ? { bootId: space.bootId } : {}),
    ...(space.pidNamespace ? { pidNamespace: space.pidNamespace } : {}),
    ...(startTime ? { startTime } : {}),
  };
}

/** Another run holds the lock: nothing was changed. */
export class LockHeldError extends Error {
  constructor(
    readonly holder: LockHolder | undefined,
    readonly expiresAt: Date,
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
