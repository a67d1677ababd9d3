import { builtin } from "./builtin.js";

/**
 * node:http, loaded as CommonJS: imported as an ES module it evaluates its WebSocket getters,
 * which load undici (about 25 ms and several MB before the first request).
 */
export const http = builtin("node:http") as typeof import("node:http");
