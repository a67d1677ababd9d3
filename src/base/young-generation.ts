import { setFlagsFromString } from "node:v8";

/**
 * Keeps V8's young generation at 2 MB a half-space from here on, for a run that streams a
 * database: a backup or a restore passes hundreds of MB through short-lived buffers, and V8 would
 * otherwise grow the young generation to 32 MB and more (a backup's peak RSS 95-130 MB instead of
 * 84-90).
 *
 * Not for every run: setting a V8 flag changes V8's flag hash, after which V8 rejects the code
 * cache Node ships for its own modules, and loading https, tls and the rest takes twice as long
 * (about 15 ms); a small young generation also means more collections. So the launcher sets the
 * same flags as `backup` and `restore` start (their start matters less than their memory), and an
 * install calls this only once it takes its backup, when everything it loads is loaded.
 */
export function boundYoungGeneration(): void {
  setFlagsFromString("--semi-space-growth-factor=1");
  setFlagsFromString("--max-semi-space-size=2");
}
