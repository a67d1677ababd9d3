// The static table of built-in kinds must say what the API server's discovery says; the e2e suite
// compares it with the real one (test/e2e/manifests.e2e.test.ts), here its shape.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allObjects, render } from "../helpers/plan.js";
import { BUILTIN_RESOURCES } from "../../src/facts/resources.js";

describe("built-in resources", () => {
  it("cover every kind the install applies", () => {
    for (const o of allObjects(render()))
      assert.ok(BUILTIN_RESOURCES.has(`${o.apiVersion}/${o.kind}`), `${o.apiVersion} ${o.kind}`);
  });
});
