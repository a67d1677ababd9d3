import { createRequire } from "node:module";

/**
 * Node's built-in modules loaded as CommonJS, where they are needed: a run loads only those it
 * uses (`child_process` for an exec plugin, `zlib` for a support bundle, …), and `node:http` this
 * way does not evaluate its WebSocket getters, which load undici (node-http.ts).
 */
export const builtin = createRequire(import.meta.url);
