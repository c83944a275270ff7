// What the Node tests of the TypeScript client share: the built package, the
// settings tests/test_typescript.py passes in the environment, and a small
// HTTP server whose every answer a test scripts.
//
// NF_TS_PACKAGE             the built package (dist/esm, dist/cjs)
// NF_SANDBOX_URL            a live sandbox counting each token's requests
// NF_SANDBOX_TOKEN          an admin token
// NF_SANDBOX_QUIET_TOKEN    an admin token no test sends anything with
// NF_SANDBOX_FORBIDDEN_TOKEN a token without the create permission
// NF_SANDBOX_PROJECT        the sandbox's project
// NF_REQUEST_EXAMPLE        the spec's request example, as JSON
// NF_RESPONSE_EXAMPLE       the spec's 200 response example, as JSON

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** An environment variable the suite cannot run without. */
export function setting(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite through tests/test_typescript.py`);
  return value;
}

export const PACKAGE = setting("NF_TS_PACKAGE");

/** The package as its users import it: `dist/esm/index.js`. */
export const nf = await import(pathToFileURL(join(PACKAGE, "dist", "esm", "index.js")).href);

export const PROJECT = process.env.NF_SANDBOX_PROJECT || "default-project";
export const PATH = "/v1/projects/{projectId}/services/build";
/** The User-Agent the package sends: its name and the version in its package.json. */
export const USER_AGENT = `northflank-build-typescript/${
  JSON.parse(readFileSync(join(PACKAGE, "package.json"), "utf8")).version
}`;

/** The spec's request example under a name no other test uses. */
export function uniqueBody(prefix = "Ts") {
  return { ...JSON.parse(setting("NF_REQUEST_EXAMPLE")), name: `${prefix} ${randomBytes(6).toString("hex")}` };
}

/** The spec's 200 response example: `{ data: BuildService }`. */
export function responseExample() {
  return JSON.parse(setting("NF_RESPONSE_EXAMPLE"));
}

/** The id the API derives from a service name. */
export function serviceId(name) {
  return name.toLowerCase().replaceAll(" ", "-");
}

/**
 * A body breaking the spec at each of `INVALID_PATHS` (the same as the Python
 * client's tests use).
 */
export function invalidBody() {
  const body = uniqueBody("Bad");
  body.name = "ab";
  body.billing.buildPlan = 3;
  delete body.vcsData;
  body.buildSettings.dockerfile.useCache = "no";
  body.bogus = true;
  return body;
}

export const INVALID_PATHS = [
  ["$.billing.buildPlan", "type"],
  ["$.bogus", "additionalProperties"],
  ["$.buildSettings.dockerfile.useCache", "type"],
  ["$.name", "minLength"],
  ["$.vcsData", "required"],
];

/** `[path, rule]` of each field error, sorted. */
export function pathsOf(errors) {
  return errors.map((e) => [e.path, e.rule]).sort((a, b) => (a.join(" ") < b.join(" ") ? -1 : 1));
}

/** What `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise) {
  try {
    const value = await promise;
    assert.fail(`expected a rejection, got ${JSON.stringify(value)?.slice(0, 200)}`);
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    return error;
  }
}

/** A JSON `Response`, as a fake `fetch` answers. */
export function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/**
 * A `node:http` server on 127.0.0.1 answering request N with `plan[N]` (the
 * last one again once the plan runs out). A step is `(req, res, body) => void`.
 * `requests` records what arrived: method, url, headers, body.
 */
export async function scriptedServer() {
  const state = { plan: [], requests: [] };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const index = state.requests.length;
      state.requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      const step = state.plan[Math.min(index, state.plan.length - 1)];
      if (step) step(req, res, body);
      else answer(res, 500, { error: { message: "no plan" } });
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    get requests() {
      return state.requests;
    },
    /** A new script; forgets what arrived before. */
    script(...plan) {
      state.plan = plan;
      state.requests = [];
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Writes a JSON answer. */
export function answer(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}
