// The built TypeScript client against a live sandbox (started by tests/test_typescript.py).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  INVALID_PATHS,
  PROJECT,
  USER_AGENT,
  invalidBody,
  nf,
  pathsOf,
  rejection,
  serviceId,
  setting,
  uniqueBody,
} from "./support.mjs";

const BASE = setting("NF_SANDBOX_URL");
const TOKEN = setting("NF_SANDBOX_TOKEN");
const QUIET_TOKEN = setting("NF_SANDBOX_QUIET_TOKEN");
const FORBIDDEN_TOKEN = setting("NF_SANDBOX_FORBIDDEN_TOKEN");
const ENDPOINT = `${BASE}/v1/projects/${PROJECT}/services/build`;

delete process.env.NORTHFLANK_API_TOKEN;
delete process.env.NORTHFLANK_BASE_URL;

/** A client of the sandbox; no retries, so that a wrong answer shows at once. */
function client(options = {}) {
  return new nf.ApiClient({ token: TOKEN, baseUrl: BASE, maxRetries: 0, ...options });
}

function create(apiClient, data, projectId = PROJECT) {
  return apiClient.create.service.build({ parameters: { projectId }, data });
}

/** How many requests the sandbox has had with `token`; asking counts too, hence the `- 1`. */
async function requestsFrom(token) {
  const response = await fetch(`${BASE}/v1/request-count`, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  const limit = Number(response.headers.get("x-ratelimit-limit"));
  const remaining = Number(response.headers.get("x-ratelimit-remaining"));
  assert.ok(limit > 0, "the sandbox does not count requests (start it with a rate limit)");
  return limit - remaining - 1;
}

/** The error of an error status, from the result and thrown: both must agree. */
async function bothErrors(options, data, projectId = PROJECT) {
  const result = await create(client(options), data, projectId);
  const thrown = await rejection(create(client({ ...options, throwErrorOnHttpErrorCode: true }), data, projectId));
  return { result, thrown };
}

describe("create against the sandbox", () => {
  test("a success: data, request and rawResponse", async () => {
    const body = uniqueBody();
    const result = await create(client({ customUserAgent: "ts-tests/1" }), body);

    assert.equal("error" in result, false);
    assert.deepEqual(nf.validateBuildService(result.data), []);
    assert.deepEqual(nf.validateCreateBuildServiceResponse({ data: result.data }), []);
    assert.equal(result.data.name, body.name);
    assert.equal(result.data.id, serviceId(body.name));
    assert.equal(result.data.serviceType, "build");
    assert.ok(result.data.appId.endsWith(`/${PROJECT}/${result.data.id}`));
    assert.equal(result.data.status.build.status, "QUEUED");
    for (const key of Object.keys(body)) assert.deepEqual(result.data[key], body[key], key);

    assert.ok(result.rawResponse instanceof Response);
    assert.equal(result.rawResponse.status, 200);
    assert.equal(result.rawResponse.bodyUsed, true);
    assert.match(result.rawResponse.headers.get("x-request-id"), /^[0-9a-f-]{36}$/);
    assert.deepEqual(result.request, {
      url: ENDPOINT,
      method: "POST",
      headers: {
        accept: "application/json",
        "content-type": "application/json",
        "user-agent": `${USER_AGENT} (ts-tests/1)`,
        authorization: "Bearer <redacted>",
      },
      body: JSON.stringify(body),
    });
    assert.equal(JSON.stringify(result).includes(TOKEN), false);
  });

  test("the same again: 409 in `error`, with the message, id and details", async () => {
    const body = uniqueBody();
    const first = await create(client(), body);
    assert.equal(first.rawResponse.status, 200);

    const result = await create(client(), body);
    assert.equal(result.data, undefined);
    assert.equal(result.rawResponse.status, 409);
    assert.equal(result.error.status, 409);
    assert.equal(result.error.message, "There is already a service with the same derived identifier");
    assert.equal(result.error.id, result.rawResponse.headers.get("x-request-id"));
    assert.deepEqual(result.error.details, { serviceId: first.data.id });
    assert.equal(result.error.afterRetry, false);
    assert.equal(result.request.body, JSON.stringify(body));
  });

  test("throwErrorOnHttpErrorCode: the 409 is a ConflictError", async () => {
    const body = uniqueBody();
    await create(client(), body);
    const error = await rejection(create(client({ throwErrorOnHttpErrorCode: true }), body));
    assert.ok(error instanceof nf.ConflictError);
    assert.ok(error instanceof nf.NorthflankApiCallError);
    assert.ok(error instanceof Error);
    assert.equal(error.name, "ConflictError");
    assert.equal(error.status, 409);
    assert.match(error.message, /already/);
    assert.equal(error.id, error.response.headers.get("x-request-id"));
    assert.deepEqual(error.details, { serviceId: serviceId(body.name) });
    assert.equal(error.response.status, 409);
    assert.equal(error.afterRetry, false);
  });

  test("an invalid body: RequestValidationError naming each path, and nothing sent", async () => {
    const quiet = { token: QUIET_TOKEN };
    for (const options of [quiet, { ...quiet, throwErrorOnHttpErrorCode: true }, { ...quiet, maxRetries: 2 }]) {
      const error = await rejection(create(client(options), invalidBody()));
      assert.ok(error instanceof nf.RequestValidationError);
      assert.equal(error.name, "RequestValidationError");
      assert.deepEqual(pathsOf(error.errors), INVALID_PATHS);
      for (const field of error.errors) {
        assert.ok(field.message, `${field.path} has no message`);
        assert.ok(error.message.includes(`${field.path} ${field.rule}: ${field.message}`), error.message);
      }
      assert.match(error.message, /^The request body is invalid \(5 failing fields\): /);
    }
    // skipValidation on the client, refused again for one call
    const skipping = client({ ...quiet, skipValidation: true });
    const call = skipping.create.service.build(
      { parameters: { projectId: PROJECT }, data: invalidBody() },
      { skipValidation: false },
    );
    assert.ok((await rejection(call)) instanceof nf.RequestValidationError);
    // a body that is not an object at all
    assert.ok((await rejection(create(client(quiet), []))) instanceof nf.RequestValidationError);
    assert.equal(await requestsFrom(QUIET_TOKEN), 0);
  });

  test("skipValidation: the sandbox judges, and names the same paths in a 400", async () => {
    const { result, thrown } = await bothErrors({ skipValidation: true }, invalidBody());
    assert.equal(result.error.status, 400);
    assert.match(result.error.message, /invalid/);
    assert.deepEqual(pathsOf(result.error.details.fields), INVALID_PATHS);
    assert.ok(thrown instanceof nf.BadRequestError);
    assert.deepEqual(pathsOf(thrown.details.fields), INVALID_PATHS);
  });

  test("401: no token", async () => {
    const { result, thrown } = await bothErrors({ token: undefined }, uniqueBody());
    assert.equal("authorization" in result.request.headers, false);
    assert.equal(result.error.status, 401);
    assert.match(result.error.message, /Missing bearer token/);
    assert.equal(result.error.id, result.rawResponse.headers.get("x-request-id"));
    assert.ok(thrown instanceof nf.AuthenticationError);
    assert.equal(thrown.status, 401);
  });

  test("401: an unknown token", async () => {
    const { result, thrown } = await bothErrors({ token: "nfsb_no_such_token" }, uniqueBody());
    assert.equal(result.error.status, 401);
    assert.equal(result.error.message, "Unknown or revoked API token");
    assert.equal(result.request.headers.authorization, "Bearer <redacted>");
    assert.ok(thrown instanceof nf.AuthenticationError);
  });

  test("403: a token without the permission; nothing is created", async () => {
    const body = uniqueBody();
    const { result, thrown } = await bothErrors({ token: FORBIDDEN_TOKEN }, body);
    assert.equal(result.error.status, 403);
    assert.match(result.error.message, /lacks the permission 'Project > Services > General > Create'/);
    assert.ok(thrown instanceof nf.PermissionDeniedError);
    assert.equal(thrown.status, 403);
    const after = await create(client(), body); // the name is still free
    assert.equal(after.rawResponse.status, 200);
  });

  test("404: an unknown project", async () => {
    const { result, thrown } = await bothErrors({}, uniqueBody(), "no-such-project");
    assert.equal(result.request.url, `${BASE}/v1/projects/no-such-project/services/build`);
    assert.equal(result.error.status, 404);
    assert.equal(result.error.message, "Project 'no-such-project' does not exist");
    assert.ok(thrown instanceof nf.NotFoundError);
  });

  test("a project id is one escaped path segment", async () => {
    const result = await create(client(), uniqueBody(), "x y é");
    assert.equal(result.request.url, `${BASE}/v1/projects/x%20y%20%C3%A9/services/build`);
    assert.equal(result.error.message, "Project 'x y é' does not exist");
  });

  test("token and base URL from NORTHFLANK_API_TOKEN and NORTHFLANK_BASE_URL", async () => {
    process.env.NORTHFLANK_API_TOKEN = TOKEN;
    process.env.NORTHFLANK_BASE_URL = `${BASE}/`;
    try {
      const apiClient = new nf.ApiClient();
      assert.equal(apiClient.options.baseUrl, BASE);
      const body = uniqueBody();
      const result = await create(apiClient, body);
      assert.equal(result.data.name, body.name);
    } finally {
      delete process.env.NORTHFLANK_API_TOKEN;
      delete process.env.NORTHFLANK_BASE_URL;
    }
  });
});
