// Retries, timeouts and what goes on the wire, against a fault-injecting node:http server.

import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";

import { PROJECT, USER_AGENT, answer, nf, rejection, responseExample, scriptedServer, uniqueBody } from "./support.mjs";

const TOKEN = "nfsb_retry_secret";

// --- What the server does with one request -------------------------------------------

const ok = (req, res) => answer(res, 200, responseExample());
const status =
  (code, headers = {}, message = `status ${code}`) =>
  (req, res) =>
    answer(res, code, { error: { status: code, message, id: `err-${code}` } }, headers);
/** The connection dies before any answer: the client sees a reset. */
const reset = (req) => req.socket.destroy();
/** Headers and half the body, then the connection dies. */
const cutShort = (req, res) => {
  const text = JSON.stringify(responseExample());
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.write(text.slice(0, 40), () => setTimeout(() => req.socket.destroy(), 10));
};
/** No answer at all, until the client gives up. */
const hang = () => {};
/** Headers and a little of the body, then nothing more. */
const stall = (req, res) => {
  res.writeHead(200, { "content-type": "application/json", "content-length": "100000" });
  res.write('{"data":');
};

let server;
before(async () => {
  server = await scriptedServer();
});
after(() => server.close());

function client(options = {}) {
  return new nf.ApiClient({ token: TOKEN, baseUrl: server.url, ...options });
}

function create(apiClient, { projectId = PROJECT, data = uniqueBody(), settings } = {}) {
  return apiClient.create.service.build({ parameters: { projectId }, data }, settings);
}

/** Milliseconds `promise` took, and what it settled to. */
async function timed(promise) {
  const start = performance.now();
  const outcome = await promise.then(
    (value) => ({ value }),
    (error) => ({ error }),
  );
  return { ...outcome, ms: performance.now() - start };
}

describe("retries", () => {
  test("503 then 200: one retry, after the backoff, with the same request", async () => {
    server.script(status(503), ok);
    const data = uniqueBody();
    const { value: result, ms } = await timed(create(client(), { data }));
    assert.equal(server.requests.length, 2);
    assert.deepEqual(result.data, responseExample().data);
    assert.equal("error" in result, false);
    assert.equal(result.rawResponse.status, 200);
    assert.ok(ms >= 370, `retried after ${ms} ms: the first backoff is 375-500 ms`);
    const [first, second] = server.requests;
    assert.equal(second.body, JSON.stringify(data));
    assert.deepEqual(second, first);
  });

  test("429 with Retry-After: 1 waits a second, then succeeds", async () => {
    server.script(status(429, { "retry-after": "1" }), ok);
    const { value: result, ms } = await timed(create(client()));
    assert.equal(server.requests.length, 2);
    assert.equal(result.rawResponse.status, 200);
    assert.ok(ms >= 950 && ms < 3000, `waited ${ms} ms`);
  });

  test("408 and 502 are retried too", async () => {
    for (const code of [408, 502]) {
      server.script(status(code, { "retry-after": "0" }), ok);
      const result = await create(client());
      assert.equal(server.requests.length, 2, String(code));
      assert.equal(result.rawResponse.status, 200);
    }
  });

  test("a connection reset, then a success", async () => {
    server.script(reset, ok);
    const result = await create(client());
    assert.equal(server.requests.length, 2);
    assert.deepEqual(result.data, responseExample().data);
  });

  test("a connection cut in the middle of the body, then a success", async () => {
    server.script(cutShort, ok);
    const result = await create(client());
    assert.equal(server.requests.length, 2);
    assert.deepEqual(result.data, responseExample().data);
  });

  test("a reset every time: APIConnectionError after maxRetries + 1 attempts", async () => {
    server.script(reset);
    const error = await rejection(create(client({ maxRetries: 1 })));
    assert.equal(server.requests.length, 2);
    assert.ok(error instanceof nf.APIConnectionError);
    assert.equal(error instanceof nf.APITimeoutError, false);
    assert.equal(error.name, "APIConnectionError");
    assert.match(error.message, /^Connection failed: .+ \(2 attempts\)$/);
    assert.ok(error.cause instanceof Error);
  });

  test("a timeout, then a success", async () => {
    server.script(hang, ok);
    const { value: result, ms } = await timed(create(client({ timeout: 200 })));
    assert.equal(server.requests.length, 2);
    assert.equal(result.rawResponse.status, 200);
    assert.ok(ms >= 190, `${ms} ms`);
  });

  test("every attempt times out: APITimeoutError", async () => {
    server.script(hang);
    const { error, ms } = await timed(create(client({ timeout: 100, maxRetries: 1 })));
    assert.equal(server.requests.length, 2);
    assert.ok(error instanceof nf.APITimeoutError);
    assert.ok(error instanceof nf.APIConnectionError);
    assert.equal(error.name, "APITimeoutError");
    assert.equal(error.message, "The request timed out after 100 ms (2 attempts)");
    assert.ok(ms < 3000, `${ms} ms`);
  });

  test("the timeout covers the body: a stalled body times out", async () => {
    server.script(stall);
    const error = await rejection(create(client({ timeout: 150, maxRetries: 0 })));
    assert.equal(server.requests.length, 1);
    assert.ok(error instanceof nf.APITimeoutError);
    assert.equal(error.message, "The request timed out after 150 ms (1 attempt)");
  });

  test("a call's timeout replaces the client's", async () => {
    server.script(hang);
    const { error, ms } = await timed(create(client({ maxRetries: 0 }), { settings: { timeout: 100 } }));
    assert.ok(error instanceof nf.APITimeoutError);
    assert.ok(ms < 2000, `${ms} ms`);
  });

  test("503 then 409: afterRetry is true, in `error` and thrown", async () => {
    server.script(status(503, { "retry-after": "0" }), status(409, {}, "already there"));
    const result = await create(client());
    assert.equal(server.requests.length, 2);
    assert.deepEqual(result.error, { status: 409, message: "already there", id: "err-409", afterRetry: true });

    server.script(reset, status(409, {}, "already there"));
    const error = await rejection(create(client({ throwErrorOnHttpErrorCode: true })));
    assert.equal(server.requests.length, 2);
    assert.ok(error instanceof nf.ConflictError);
    assert.equal(error.afterRetry, true);
  });

  test("a first answer of 409 has afterRetry false", async () => {
    server.script(status(409));
    const result = await create(client());
    assert.equal(result.error.afterRetry, false);
  });

  test("500 every time: the last answer after maxRetries + 1 attempts", async () => {
    server.script(status(500, { "retry-after": "0" }, "boom"));
    const result = await create(client({ maxRetries: 3 }));
    assert.equal(server.requests.length, 4);
    assert.deepEqual(result.error, { status: 500, message: "boom", id: "err-500", afterRetry: true });

    server.script(status(503, { "retry-after": "0" }));
    const error = await rejection(create(client({ throwErrorOnHttpErrorCode: true, maxRetries: 1 })));
    assert.equal(server.requests.length, 2);
    assert.ok(error instanceof nf.InternalServerError);
    assert.equal(error.status, 503);
  });

  test("429 with maxRetries 0: a RateLimitError at once", async () => {
    server.script(status(429, { "retry-after": "30" }));
    const { error, ms } = await timed(create(client({ maxRetries: 0, throwErrorOnHttpErrorCode: true })));
    assert.equal(server.requests.length, 1);
    assert.ok(error instanceof nf.RateLimitError);
    assert.ok(ms < 1000, `${ms} ms`);
  });

  test("400, 401, 403, 404, 409 and 422 are not retried", async () => {
    for (const code of [400, 401, 403, 404, 409, 422]) {
      server.script(status(code), ok);
      const result = await create(client());
      assert.equal(server.requests.length, 1, String(code));
      assert.equal(result.error.status, code);
    }
  });

  test("a 200 that breaks the spec: ResponseValidationError, not retried", async () => {
    server.script((req, res) => answer(res, 200, { data: { name: "x" } }), ok);
    const error = await rejection(create(client()));
    assert.equal(server.requests.length, 1);
    assert.ok(error instanceof nf.ResponseValidationError);
    assert.equal(error.response.status, 200);
    assert.ok(error.errors.some((e) => e.path === "$.data.id" && e.rule === "required"), JSON.stringify(error.errors));
  });

  test("connection refused: APIConnectionError naming ECONNREFUSED", async () => {
    const closed = http.createServer();
    await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = closed.address().port;
    await new Promise((resolve) => closed.close(resolve));
    const apiClient = new nf.ApiClient({ baseUrl: `http://127.0.0.1:${port}`, maxRetries: 0 });
    const error = await rejection(create(apiClient));
    assert.ok(error instanceof nf.APIConnectionError);
    assert.match(error.message, /ECONNREFUSED/);
  });

  test("the caller's abort during an attempt: its reason, no retry", async () => {
    server.script(hang);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await rejection(create(client(), { settings: { signal: controller.signal } }));
    assert.equal(error.name, "AbortError");
    assert.equal(error instanceof nf.APIConnectionError, false);
    assert.equal(server.requests.length, 1);
  });

  test("the caller's abort during the wait before a retry", async () => {
    server.script(status(503, { "retry-after": "30" }));
    const controller = new AbortController();
    const reason = new Error("stop");
    setTimeout(() => controller.abort(reason), 100);
    const { error, ms } = await timed(create(client(), { settings: { signal: controller.signal } }));
    assert.equal(error, reason);
    assert.equal(server.requests.length, 1);
    assert.ok(ms < 2000, `${ms} ms`);
  });
});

describe("on the wire", () => {
  test("method, escaped path, headers and the JSON body", async () => {
    server.script(ok);
    const data = uniqueBody();
    const apiClient = client({ headers: { "X-Trace": "client", Accept: "application/json" } });
    const result = await create(apiClient, {
      projectId: "a/b c?d#é",
      data,
      settings: { headers: { "x-trace": "call" } },
    });
    const [sent] = server.requests;
    assert.equal(sent.method, "POST");
    assert.equal(sent.url, "/v1/projects/a%2Fb%20c%3Fd%23%C3%A9/services/build");
    assert.equal(result.request.url, server.url + sent.url);
    assert.equal(sent.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(sent.headers["content-type"], "application/json");
    assert.equal(sent.headers.accept, "application/json");
    assert.equal(sent.headers["user-agent"], USER_AGENT);
    assert.equal(sent.headers["x-trace"], "call");
    assert.deepEqual(JSON.parse(sent.body), data);
    assert.equal(result.request.headers["x-trace"], "call");
    assert.equal(result.request.headers.authorization, "Bearer <redacted>");
  });

  // The WHATWG URL parser (fetch, Node and browsers) takes "%2E" and "%2E%2E" for dot
  // segments and removes them, so escaping cannot keep "." or ".." in the path: the call
  // must be refused before sending, never reach another path.
  for (const projectId of ["..", "."]) {
    test(`a project id of ${JSON.stringify(projectId)} cannot reach another path`, async () => {
      server.script(ok);
      const outcome = await create(client(), { projectId }).then(
        (result) => ({ result }),
        (error) => ({ error }),
      );
      if (outcome.error) {
        assert.ok(outcome.error instanceof TypeError, String(outcome.error));
        assert.equal(server.requests.length, 0);
      } else {
        const [sent] = server.requests;
        assert.equal(server.url + sent.url, outcome.result.request.url); // as shown, so as sent
        assert.match(sent.url, /^\/v1\/projects\/[^/]+\/services\/build$/);
      }
    });
  }

  // Following a 301/302/303 would turn the POST into a GET of the Location and return
  // its 200 as if the service had been created: a redirect is an answer, as in Python.
  test("a redirect is an error status, not followed", async () => {
    server.script((req, res) => {
      res.writeHead(302, { location: "/elsewhere" });
      res.end();
    }, ok);
    const result = await create(client());
    assert.deepEqual(
      server.requests.map((r) => [r.method, r.url]),
      [["POST", `/v1/projects/${PROJECT}/services/build`]],
    );
    assert.equal(result.error?.status, 302);
  });

  // A header value fetch refuses (a token with a line break, or a character over
  // U+00FF) can never be sent: a TypeError at once, like a bad path parameter, not a
  // connection failure after retries.
  test("an invalid header value is refused at once, not retried", async () => {
    server.script(ok);
    assert.throws(() => client({ token: "line\nbreak" }), /token has .* at position 5 of 10/);
    const headers = { "x-trace": "line\nbreak" };
    const { error, ms } = await timed(create(client({ headers, maxRetries: 1 })));
    assert.equal(server.requests.length, 0);
    assert.ok(error instanceof TypeError, String(error));
    assert.ok(ms < 300, `${ms} ms`);
  });
});
