// The runtime of the built package with a fake `fetch`: options, defaults, paths,
// headers, validation, errors, Retry-After and aborts, with nothing on the network.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, test } from "node:test";

import { PACKAGE, PROJECT, USER_AGENT, json, nf, rejection, responseExample, uniqueBody } from "./support.mjs";

const BASE = "http://api.test";
const TOKEN = "nfsb_fake_3f9c";
const CONFLICT = { error: { status: 409, message: "Service already exists", id: "err-1", details: { serviceId: "x" } } };

delete process.env.NORTHFLANK_API_TOKEN;
delete process.env.NORTHFLANK_BASE_URL;

/** A fake fetch answering from `steps` in order (a Response, an Error to reject with, or a function). */
function fakeFetch(...steps) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    const step = steps[Math.min(calls.length - 1, steps.length - 1)];
    if (typeof step === "function") return step(url, init);
    if (step instanceof Error) throw step;
    return step.clone();
  };
  return { fetch, calls };
}

/** A fetch that never answers; it rejects when its signal aborts, as the real one does. */
function hangingFetch() {
  const calls = [];
  const fetch = (url, init) => {
    calls.push({ url, init });
    return new Promise((_, reject) => {
      init.signal.addEventListener("abort", () => reject(init.signal.reason));
    });
  };
  return { fetch, calls };
}

const created = () => json(200, responseExample());

function client(options = {}) {
  return new nf.ApiClient({ token: TOKEN, baseUrl: BASE, ...options });
}

/** One call; `projectId` and `data` may be given as `undefined`; `settings` is the per-call second argument. */
function create(apiClient, given = {}) {
  const projectId = "projectId" in given ? given.projectId : PROJECT;
  const data = "data" in given ? given.data : uniqueBody();
  return apiClient.create.service.build({ parameters: { projectId }, data }, given.settings);
}

/** Runs `body` with these environment variables, then puts the environment back. */
async function withEnv(vars, body) {
  const saved = { ...process.env };
  Object.assign(process.env, vars);
  try {
    return await body();
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

describe("options", () => {
  test("the defaults", () => {
    const { options } = new nf.ApiClient();
    assert.deepEqual({ ...options, fetch: typeof options.fetch }, {
      token: undefined,
      baseUrl: "https://api.northflank.com",
      timeout: 60_000,
      maxRetries: 2,
      retryInitialDelay: 500,
      retryMaxDelay: 8_000,
      maxResponseBytes: 32 * 1024 * 1024,
      throwErrorOnHttpErrorCode: false,
      skipValidation: false,
      strictResponseValidation: false,
      fetch: "function",
      headers: {},
      customUserAgent: undefined,
    });
    assert.ok(Object.isFrozen(options));
    assert.ok(Object.isFrozen(options.headers));
    assert.equal(nf.DEFAULTS.timeoutMs, 60_000);
    assert.equal(nf.DEFAULTS.maxRetries, 2);
    assert.deepEqual(
      [408, 429, 499, 500, 599, 600].map((s) => nf.DEFAULTS.retryableStatuses.includes(s)),
      [true, true, false, true, true, false],
    );
  });

  test("token and base URL from the environment; given ones win", async () => {
    await withEnv({ NORTHFLANK_API_TOKEN: "from-env", NORTHFLANK_BASE_URL: "http://env.test//" }, async () => {
      assert.equal(new nf.ApiClient().options.token, "from-env");
      assert.equal(new nf.ApiClient().options.baseUrl, "http://env.test");
      assert.equal(new nf.ApiClient({ token: "given" }).options.token, "given");
      assert.equal(new nf.ApiClient({ baseUrl: "http://given.test/" }).options.baseUrl, "http://given.test");
      assert.equal(new nf.ApiClient({ baseUrl: "" }).options.baseUrl, "http://env.test");
      const { fetch, calls } = fakeFetch(created());
      await create(new nf.ApiClient({ fetch }));
      assert.equal(calls[0].url, `http://env.test/v1/projects/${PROJECT}/services/build`);
      assert.equal(calls[0].init.headers.authorization, "Bearer from-env");
    });
  });

  test("bad settings throw at once", () => {
    const bad = [
      [{ maxRetries: -1 }, RangeError],
      [{ maxRetries: 1.5 }, RangeError],
      [{ maxRetries: Number.NaN }, RangeError],
      [{ timeout: 0 }, RangeError],
      [{ timeout: -5 }, RangeError],
      [{ timeout: Number.NaN }, RangeError],
      [{ timeout: Number.POSITIVE_INFINITY }, RangeError],
      [{ timeout: 2 ** 31 }, RangeError],
      [{ timeout: "100" }, RangeError],
      [{ baseUrl: "not a url" }, TypeError],
    ];
    for (const [options, type] of bad) {
      assert.throws(() => new nf.ApiClient(options), type, JSON.stringify(options));
    }
    assert.equal(new nf.ApiClient({ timeout: 2 ** 31 - 1, maxRetries: 0 }).options.maxRetries, 0);
  });

  test("a bad call timeout rejects, and sends nothing", async () => {
    const { fetch, calls } = fakeFetch(created());
    for (const timeout of [0, -1, Number.NaN]) {
      assert.ok((await rejection(create(client({ fetch }), { settings: { timeout } }))) instanceof RangeError);
    }
    assert.equal(calls.length, 0);
  });

  test("the global fetch is looked up at each call", async () => {
    const saved = globalThis.fetch;
    const apiClient = client();
    const { fetch, calls } = fakeFetch(created());
    globalThis.fetch = fetch;
    try {
      await create(apiClient);
    } finally {
      globalThis.fetch = saved;
    }
    assert.equal(calls.length, 1);
  });
});

describe("paths", () => {
  test("pathSegment: one escaped segment", () => {
    const cases = {
      "my-project": "my-project",
      "a/b c": "a%2Fb%20c",
      "a.b": "a.b",
      "...": "...",
      "!'()*~": "%21%27%28%29%2A~",
      "é?#&=+": "%C3%A9%3F%23%26%3D%2B",
      "%2F": "%252F",
    };
    for (const [value, segment] of Object.entries(cases)) assert.equal(nf.pathSegment(value), segment, value);
    // "." and "..": URLs drop them as dot segments, however escaped, so they are refused.
    for (const bad of ["", 5, undefined, null, "\uD800", ".", ".."]) {
      assert.throws(() => nf.pathSegment(bad), TypeError);
    }
  });

  test("the URL: the base URL's path kept, the project id escaped", async () => {
    const { fetch, calls } = fakeFetch(created());
    const apiClient = client({ fetch, baseUrl: "http://api.test/base//" });
    const result = await create(apiClient, { projectId: "a/b" });
    assert.equal(calls[0].url, "http://api.test/base/v1/projects/a%2Fb/services/build");
    assert.equal(result.request.url, calls[0].url);
  });

  test("a missing, empty or non-string project id: TypeError, nothing sent", async () => {
    const { fetch, calls } = fakeFetch(created());
    const apiClient = client({ fetch });
    for (const projectId of [undefined, "", 5]) {
      const error = await rejection(create(apiClient, { projectId }));
      assert.ok(error instanceof TypeError, String(error));
      assert.match(error.message, /projectId/);
    }
    const error = await rejection(apiClient.create.service.build({ parameters: {}, data: uniqueBody() }));
    assert.match(error.message, /the path parameter projectId is missing/);
    assert.equal(calls.length, 0);
  });
});

describe("headers", () => {
  test("the defaults, the token and the user agent", async () => {
    const { fetch, calls } = fakeFetch(created());
    const result = await create(client({ fetch, customUserAgent: "my-app/2" }));
    assert.deepEqual(calls[0].init.headers, {
      accept: "application/json",
      "content-type": "application/json",
      "user-agent": `${USER_AGENT} (my-app/2)`,
      authorization: `Bearer ${TOKEN}`,
    });
    assert.equal(calls[0].init.method, "POST");
    assert.equal(result.request.headers.authorization, "Bearer <redacted>");
    assert.equal(JSON.stringify(result).includes(TOKEN), false);
  });

  test("client headers replace defaults, call headers the client's, whatever the case", async () => {
    const { fetch, calls } = fakeFetch(created());
    const apiClient = new nf.ApiClient({
      token: "",
      baseUrl: BASE,
      fetch,
      headers: { Accept: "application/x+json", "X-A": "1", "X-B": "b" },
    });
    const result = await create(apiClient, { settings: { headers: { "x-a": "2", AUTHORIZATION: "Basic abc" } } });
    assert.deepEqual(calls[0].init.headers, {
      accept: "application/x+json",
      "content-type": "application/json",
      "user-agent": USER_AGENT,
      "x-a": "2",
      "x-b": "b",
      authorization: "Basic abc",
    });
    assert.equal(result.request.headers.authorization, "Basic <redacted>");
  });

  test("an empty token sends no authorization; one without a scheme is redacted whole", async () => {
    const { fetch, calls } = fakeFetch(created());
    const result = await create(client({ fetch, token: "" }));
    assert.equal("authorization" in calls[0].init.headers, false);
    assert.equal("authorization" in result.request.headers, false);
    const other = await create(client({ fetch }), { settings: { headers: { authorization: "opaque" } } });
    assert.equal(other.request.headers.authorization, "<redacted>");
  });
});

describe("validation", () => {
  test("an invalid body: RequestValidationError, nothing sent", async () => {
    const { fetch, calls } = fakeFetch(created());
    const data = { ...uniqueBody(), name: "x".repeat(300) };
    const error = await rejection(create(client({ fetch }), { data }));
    assert.ok(error instanceof nf.RequestValidationError);
    assert.deepEqual(error.errors.map((e) => [e.path, e.rule]), [["$.name", "maxLength"]]);
    assert.match(error.message, /^The request body is invalid \(1 failing field\): \$\.name maxLength: /);
    assert.equal(calls.length, 0);
  });

  test("what is validated is the JSON sent: toJSON applied, undefined keys dropped", async () => {
    const { fetch, calls } = fakeFetch(created());
    const body = uniqueBody();
    const data = { ...body, vcsData: { toJSON: () => body.vcsData }, description: undefined };
    await create(client({ fetch }), { data });
    const { description, ...sent } = body;
    assert.ok(description);
    assert.equal(calls[0].init.body, JSON.stringify(sent));
  });

  test("skipValidation, on the client or the call; the call's false wins", async () => {
    const { fetch, calls } = fakeFetch(created());
    const data = { name: 1 };
    await create(client({ fetch, skipValidation: true }), { data });
    await create(client({ fetch }), { data, settings: { skipValidation: true } });
    assert.deepEqual(
      calls.map((c) => c.init.body),
      ['{"name":1}', '{"name":1}'],
    );
    const refused = create(client({ fetch, skipValidation: true }), { data, settings: { skipValidation: false } });
    assert.ok((await rejection(refused)) instanceof nf.RequestValidationError);
    assert.equal(calls.length, 2);
  });

  test("a body JSON cannot encode: TypeError, nothing sent", async () => {
    const { fetch, calls } = fakeFetch(created());
    const cycle = uniqueBody();
    cycle.self = cycle;
    for (const data of [undefined, () => 1, 10n, cycle]) {
      const error = await rejection(create(client({ fetch, skipValidation: true }), { data }));
      assert.ok(error instanceof TypeError, `${typeof data}: ${error}`);
    }
    assert.equal(calls.length, 0);
  });

  test("a 200 that is not JSON, or breaks the spec: ResponseValidationError", async () => {
    const { fetch } = fakeFetch(new Response("<html>", { status: 200 }));
    const error = await rejection(create(client({ fetch })));
    assert.ok(error instanceof nf.ResponseValidationError);
    assert.equal(error.name, "ResponseValidationError");
    assert.deepEqual(error.errors.map((e) => [e.path, e.rule]), [["$", "type"]]);
    assert.equal(error.body, "<html>");
    assert.match(error.message, /^The 200 response of createBuildService does not match the spec \(1 failing field\): \$ type: /);

    const broken = responseExample();
    broken.data.serviceType = "deployment";
    const other = fakeFetch(json(200, broken));
    const error2 = await rejection(create(client({ fetch: other.fetch })));
    assert.ok(error2 instanceof nf.ResponseValidationError);
    assert.ok(error2.errors.some((e) => e.path === "$.data.serviceType"), JSON.stringify(error2.errors));
  });

  test("a 200 with a field the spec does not know: kept, unless strictResponseValidation", async () => {
    const newer = responseExample();
    newer.data.buildSettings.dockerfile.newSetting = { on: true };
    newer.requestId = "r-1";
    const lenient = fakeFetch(json(200, newer));
    const result = await create(client({ fetch: lenient.fetch }));
    assert.equal(result.error, undefined);
    assert.deepEqual(result.data.buildSettings.dockerfile.newSetting, { on: true });
    const strict = fakeFetch(json(200, newer));
    const error = await rejection(create(client({ fetch: strict.fetch, strictResponseValidation: true })));
    assert.ok(error instanceof nf.ResponseValidationError);
    assert.deepEqual(error.errors.map((e) => [e.path, e.rule]), [
      ["$.data.buildSettings.dockerfile.newSetting", "additionalProperties"],
      ["$.requestId", "additionalProperties"],
    ]);
    // still strict on every other keyword
    newer.data.serviceType = "deployment";
    const broken = fakeFetch(json(200, newer));
    const error2 = await rejection(create(client({ fetch: broken.fetch })));
    assert.deepEqual(error2.errors.map((e) => [e.path, e.rule]), [["$.data.serviceType", "enum"]]);
  });

  test("the exported validators", () => {
    assert.deepEqual(nf.validateCreateBuildServiceRequest(uniqueBody()), []);
    assert.deepEqual(nf.validateBuildService(responseExample().data), []);
    assert.deepEqual(nf.validateCreateBuildServiceResponse(responseExample()), []);
    assert.ok(nf.validateBuildService({}).some((e) => e.path === "$.id" && e.rule === "required"));
    assert.equal(nf.validators.BuildService, nf.validateBuildService);
    assert.equal(nf.CREATE_BUILD_SERVICE.validateRequest, nf.validateCreateBuildServiceRequest);
  });
});

describe("results and errors", () => {
  test("a success: data is the body's data; no error key", async () => {
    const { fetch } = fakeFetch(created());
    const result = await create(client({ fetch }));
    assert.deepEqual(Object.keys(result).sort(), ["data", "rawResponse", "request"]);
    assert.deepEqual(result.data, responseExample().data);
  });

  test("an error status: error set, data undefined; thrown as its class", async () => {
    const { fetch } = fakeFetch(json(409, CONFLICT));
    const result = await create(client({ fetch }));
    assert.equal(result.data, undefined);
    assert.deepEqual(result.error, {
      status: 409,
      message: "Service already exists",
      id: "err-1",
      details: { serviceId: "x" },
      afterRetry: false,
    });
    const error = await rejection(create(client({ fetch, throwErrorOnHttpErrorCode: true })));
    assert.ok(error instanceof nf.ConflictError);
    assert.equal(error.message, "Service already exists");
    assert.equal(error.response.status, 409);
  });

  test("without the envelope: the status text, else HTTP <status>", async () => {
    const { fetch } = fakeFetch(new Response("oops", { status: 502, statusText: "Bad Gateway" }));
    const result = await create(client({ fetch, maxRetries: 0 }));
    assert.deepEqual(result.error, { status: 502, message: "Bad Gateway", afterRetry: false });

    const odd = { error: { message: 7, id: 8, details: [1] } };
    const bare = fakeFetch(json(418, odd));
    const error = await rejection(create(client({ fetch: bare.fetch, throwErrorOnHttpErrorCode: true })));
    assert.equal(error.constructor, nf.NorthflankApiCallError);
    assert.equal(error.message, "HTTP 418");
    assert.equal("id" in error, false);
    assert.equal("details" in error, false);
  });

  test("errorForStatus: one class per status", () => {
    const response = new Response(null, { status: 500 });
    const classes = {
      400: nf.BadRequestError,
      401: nf.AuthenticationError,
      403: nf.PermissionDeniedError,
      404: nf.NotFoundError,
      409: nf.ConflictError,
      429: nf.RateLimitError,
      500: nf.InternalServerError,
      503: nf.InternalServerError,
      422: nf.NorthflankApiCallError,
    };
    for (const [status, type] of Object.entries(classes)) {
      const error = nf.errorForStatus({ status: Number(status), message: "m" }, response);
      assert.equal(error.constructor, type, status);
      assert.equal(error.name, type.name);
      assert.equal(error.afterRetry, false);
    }
  });
});

describe("Retry-After and aborts", () => {
  test("Retry-After in seconds replaces the backoff", async () => {
    const { fetch, calls } = fakeFetch(json(429, {}, { "retry-after": "0.05" }), created());
    const start = performance.now();
    await create(client({ fetch }));
    const ms = performance.now() - start;
    assert.equal(calls.length, 2);
    assert.ok(ms >= 45 && ms < 350, `waited ${ms} ms; the backoff is 375-500 ms`);
  });

  test("Retry-After as a date in the past: no wait", async () => {
    const past = new Date(Date.now() - 10_000).toUTCString();
    const { fetch, calls } = fakeFetch(json(503, {}, { "retry-after": past }), created());
    const start = performance.now();
    await create(client({ fetch }));
    assert.equal(calls.length, 2);
    assert.ok(performance.now() - start < 300);
  });

  test("a Retry-After that is neither: the backoff", async () => {
    const { fetch, calls } = fakeFetch(json(503, {}, { "retry-after": "soon" }), created());
    const start = performance.now();
    await create(client({ fetch }));
    const ms = performance.now() - start;
    assert.equal(calls.length, 2);
    assert.ok(ms >= 370, `${ms} ms`);
  });

  test("a fetch that throws at once is a connection failure, retried", async () => {
    const failure = new TypeError("fetch failed", { cause: new Error("getaddrinfo ENOTFOUND api.test") });
    const calls = [];
    const fetch = (url) => {
      calls.push(url);
      throw failure;
    };
    const error = await rejection(create(client({ fetch, maxRetries: 1 })));
    assert.ok(error instanceof nf.APIConnectionError);
    assert.equal(error.cause, failure);
    assert.equal(error.message, "Connection failed: fetch failed: getaddrinfo ENOTFOUND api.test (2 attempts)");
    assert.equal(calls.length, 2);
  });

  test("an aborted signal sends nothing", async () => {
    const { fetch, calls } = fakeFetch(created());
    const error = await rejection(create(client({ fetch }), { settings: { signal: AbortSignal.abort() } }));
    assert.equal(error.name, "AbortError");
    assert.equal(calls.length, 0);
  });

  test("an abort during an attempt: its reason, no retry", async () => {
    const { fetch, calls } = hangingFetch();
    const controller = new AbortController();
    const reason = new Error("user stop");
    setTimeout(() => controller.abort(reason), 20);
    const error = await rejection(create(client({ fetch }), { settings: { signal: controller.signal } }));
    assert.equal(error, reason);
    assert.equal(calls.length, 1);
  });

  test("a timeout of the fake fetch: APITimeoutError", async () => {
    const { fetch, calls } = hangingFetch();
    const error = await rejection(create(client({ fetch, timeout: 30, maxRetries: 0 })));
    assert.ok(error instanceof nf.APITimeoutError);
    assert.equal(calls.length, 1);
  });
});

describe("the package", () => {
  test("ES modules and CommonJS export the same names, and both work", async () => {
    const require = createRequire(import.meta.url);
    const cjs = require(join(PACKAGE, "dist", "cjs", "index.js"));
    assert.deepEqual(Object.keys(cjs).sort(), Object.keys(nf).sort());
    for (const name of ["ApiClient", "ClientCore", "ConflictError", "RequestValidationError", "validateBuildService"]) {
      assert.equal(typeof nf[name], "function", name);
    }
    const { fetch } = fakeFetch(created());
    const result = await new cjs.ApiClient({ baseUrl: BASE, fetch }).create.service.build({
      parameters: { projectId: PROJECT },
      data: uniqueBody(),
    });
    assert.equal(result.rawResponse.status, 200);
  });

  test("ApiClient over ClientCore: the same options", () => {
    const apiClient = client({ maxRetries: 5 });
    assert.equal(apiClient.options.maxRetries, 5);
    const core = new nf.ClientCore({ maxRetries: 5, token: TOKEN, baseUrl: BASE }, USER_AGENT);
    assert.deepEqual({ ...core.options, fetch: 0 }, { ...apiClient.options, fetch: 0 });
  });
});

describe("hardening", () => {
  test("a token with a control or non-ASCII character is refused when set, unshown", async () => {
    for (const bad of ["\r", "\n", " ", "\u00e9"]) {
      assert.throws(() => client({ token: `${TOKEN}${bad}` }), (error) => {
        assert.match(error.message, /^token has .* at position 15 of 15/);
        assert.ok(!error.message.includes(TOKEN));
        return true;
      });
    }
    await withEnv({ NORTHFLANK_API_TOKEN: `${TOKEN}\r` }, async () => {
      assert.throws(() => new nf.ApiClient(), /NORTHFLANK_API_TOKEN has .*U\+000D/);
    });
  });

  test("a header value a fetch would refuse is named, its value unshown", async () => {
    const error = await rejection(create(client({ headers: { authorization: `Bearer ${TOKEN}\rnext` } })));
    assert.match(error.message, /the request header authorization is invalid/);
    assert.ok(!error.message.includes(TOKEN));
  });

  test("retry delays can be set, and are validated", async () => {
    assert.throws(() => client({ retryInitialDelay: -1 }), /retryInitialDelay/);
    assert.throws(() => client({ retryMaxDelay: Infinity }), /retryMaxDelay/);
    assert.throws(() => client({ retryInitialDelay: 10, retryMaxDelay: 5 }), /retryInitialDelay \(10\)/);
    const busy = fakeFetch(json(503, { error: { status: 503, message: "busy" } }), created());
    const started = Date.now();
    const result = await create(client({ fetch: busy.fetch, retryInitialDelay: 1, retryMaxDelay: 1 }));
    assert.equal(busy.calls.length, 2);
    assert.ok(result.data);
    assert.ok(Date.now() - started < 5_000);
  });

  test("maxResponseBytes stops reading a longer body", async () => {
    assert.throws(() => client({ maxResponseBytes: 0 }), /maxResponseBytes/);
    const endless = new ReadableStream({
      pull(controller) {
        controller.enqueue(new Uint8Array(64 * 1024).fill(32));
      },
    });
    const fetch = async () => new Response(endless, { status: 200, headers: { "content-type": "application/json" } });
    const error = await rejection(create(client({ fetch, maxResponseBytes: 1_000_000 })));
    assert.equal(error.name, "ResponseTooLargeError");
    assert.match(error.message, /maxResponseBytes \(1000000 bytes\)/);
    assert.ok(error instanceof nf.ResponseValidationError, "a ResponseValidationError, as the docs say");
    assert.deepEqual(error.errors.map((e) => [e.path, e.rule]), [["$", "maxResponseBytes"]]);
    assert.equal(error.body, "");
    const declared = async () => new Response("{}", { status: 200, headers: { "content-length": "5000000" } });
    const refused = await rejection(create(client({ fetch: declared, maxResponseBytes: 1_000_000 })));
    assert.equal(refused.limit, 1_000_000);
  });

  test("the request id of a successful call is on the result", async () => {
    const withId = fakeFetch(() => json(200, responseExample(), { "x-request-id": "req-42" }));
    assert.equal((await create(client({ fetch: withId.fetch })))._request_id, "req-42");
    const without = fakeFetch(created());
    assert.equal((await create(client({ fetch: without.fetch })))._request_id, null);
  });

  test("a deeply nested error body is parsed without overflowing", async () => {
    const deep = `{"error": {"status": 400, "message": "deep", "details": {"n": ${"[".repeat(100_000)}${"]".repeat(100_000)}}}}`;
    const fetch = async () => new Response(deep, { status: 400, headers: { "content-type": "application/json" } });
    const result = await create(client({ fetch }));
    assert.equal(result.error.status, 400);
  });
});
