// The TypeScript client generated from the fixture spec with every shape of operation
// (tests/fixtures/every_shape.yaml), against its recording server run as a subprocess
// (`python -m tests.every_shape_server`): every operation, what goes on the wire,
// parameters refused before sending, pagination, and forward-compatible responses.
// Run by tests/test_every_shape_typescript.py, which builds the package (NF_TS_PACKAGE).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";

import { nf, rejection, setting } from "../support.mjs";

const TEAM = "team-a";
let server;
let BASE;

before(async () => {
  server = spawn(setting("NF_PYTHON"), ["-m", "tests.every_shape_server"], {
    cwd: setting("NF_ROOT"),
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: server.stdout });
  const [first] = await once(lines, "line");
  const match = /^Listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(first);
  assert.ok(match, `the server said ${first}`);
  BASE = match[1];
});

after(async () => {
  server.stdin.end(); // it serves until stdin closes
  if (server.exitCode === null) await once(server, "exit");
});

/** A control route of the recording server. */
async function control(method, path) {
  const response = await fetch(BASE + path, { method });
  assert.equal(response.status, 200, path);
  return response.json();
}

/** Every request the server has recorded, as `{ method, path, query, headers, body }`. */
const recorded = () => control("GET", "/_test/requests");

/** The requests `action` makes, read from the server. */
async function sentBy(action) {
  const before = (await recorded()).length;
  const outcome = await action();
  return { outcome, sent: (await recorded()).slice(before) };
}

/** `count` widgets in a fresh team; their ids, in list order. */
let teams = 0;
async function seededTeam(count) {
  const team = `team-${++teams}`;
  const ids = await control("POST", `/_test/widgets?team=${team}&count=${count}`);
  return { team, ids: [...ids].sort() };
}

function client(options = {}) {
  return new nf.ApiClient({ token: "token", baseUrl: BASE, maxRetries: 0, ...options });
}

describe("every operation, as on the wire", () => {
  test("list: path, query and header parameters exactly; no body, no content-type", async () => {
    const { team, ids } = await seededTeam(3);
    const { outcome, sent } = await sentBy(() =>
      client().list.widgets({
        parameters: { teamId: team },
        options: { per_page: 2, size: 1, "X-Trace-Id": "0a1b2c3d", cursor: undefined },
      }),
    );
    assert.equal(sent.length, 1);
    const [request] = sent;
    assert.equal(request.method, "GET");
    assert.equal(request.path, `/v1/teams/${team}/widgets?per_page=2&size=1`);
    assert.equal(request.headers["x-trace-id"], "0a1b2c3d");
    assert.equal(request.headers["content-type"], undefined);
    assert.equal(request.headers["authorization"], "Bearer token");
    assert.equal(request.body, "");
    assert.equal(outcome.error, undefined);
    assert.deepEqual(outcome.data.widgets.map((w) => w.id), ids.slice(0, 2));
    assert.equal(outcome.pagination.hasNextPage, true);
    assert.equal(outcome.pagination.count, 2);
    assert.equal(outcome.pagination.cursor, ids[1]);
    assert.equal(outcome.request.body, undefined);
    assert.equal(outcome.request.method, "GET");
  });

  test("create: 201, the JSON body with its content-type", async () => {
    const { team } = await seededTeam(0);
    const data = { name: "first-widget", size: 2, tags: ["no"] };
    const { outcome, sent } = await sentBy(() => client().create.widget({ parameters: { teamId: team }, data }));
    assert.equal(sent.length, 1);
    assert.equal(sent[0].method, "POST");
    assert.equal(sent[0].path, `/v1/teams/${team}/widgets`);
    assert.equal(sent[0].headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(sent[0].body), data);
    assert.equal(outcome.rawResponse.status, 201);
    assert.deepEqual(outcome.data, { id: "first-widget", name: "first-widget", size: 2, tags: ["no"] });
  });

  test("get, put, patch (with and without a body), get widget-status, rebuild, delete", async () => {
    const { team, ids } = await seededTeam(1);
    const [widgetId] = ids;
    const parameters = { teamId: team, widgetId };
    const api = client();

    let { outcome, sent } = await sentBy(() => api.get.widget({ parameters }));
    assert.deepEqual([sent[0].method, sent[0].path, sent[0].body], ["GET", `/v1/teams/${team}/widgets/${widgetId}`, ""]);
    assert.equal(sent[0].headers["content-type"], undefined);
    assert.equal(outcome.data.id, widgetId);

    ({ outcome, sent } = await sentBy(() => api.put.widget({ parameters, data: { name: "renamed", size: 3 } })));
    assert.deepEqual([sent[0].method, JSON.parse(sent[0].body)], ["PUT", { name: "renamed", size: 3 }]);
    assert.equal(outcome.rawResponse.status, 200);
    assert.equal(outcome.data.name, "renamed");

    ({ outcome, sent } = await sentBy(() => api.patch.widget({ parameters, data: { tags: ["a_b"] } })));
    assert.deepEqual([sent[0].method, JSON.parse(sent[0].body)], ["PATCH", { tags: ["a_b"] }]);
    assert.deepEqual(outcome.data.tags, ["a_b"]);

    ({ outcome, sent } = await sentBy(() => api.patch.widget({ parameters })));
    assert.deepEqual([sent[0].method, sent[0].body, sent[0].headers["content-type"]], ["PATCH", "", undefined]);
    assert.equal(outcome.data.size, 3);

    ({ outcome, sent } = await sentBy(() => api.get.widgetStatus({ parameters })));
    assert.deepEqual([sent[0].method, sent[0].path], ["GET", `/v1/teams/${team}/widgets/${widgetId}/status`]);
    assert.deepEqual(outcome.data, { id: widgetId, state: "on" });

    ({ outcome, sent } = await sentBy(() => api.rebuild.widget({ parameters, options: { priority: 3 } })));
    assert.deepEqual([sent[0].method, sent[0].path, sent[0].body], ["POST", `/v1/teams/${team}/widgets/${widgetId}/rebuild?priority=3`, ""]);
    assert.equal(sent[0].headers["content-type"], undefined);
    assert.equal(outcome.rawResponse.status, 202);
    assert.deepEqual(outcome.data, { id: widgetId, state: "yes" });

    ({ outcome, sent } = await sentBy(() => api.delete.widget({ parameters, options: { delete_child_objects: true } })));
    assert.deepEqual([sent[0].method, sent[0].path, sent[0].body], ["DELETE", `/v1/teams/${team}/widgets/${widgetId}?delete_child_objects=true`, ""]);
    assert.equal(outcome.rawResponse.status, 204);
    assert.equal(outcome.error, undefined);
    assert.equal(outcome.data, undefined);
    assert.ok("data" in outcome);

    ({ outcome } = await sentBy(() => api.get.widget({ parameters })));
    assert.equal(outcome.error.status, 404);
  });

  test("per-call settings are the second argument, apart from the request's options", async () => {
    const { team } = await seededTeam(1);
    const { sent } = await sentBy(() =>
      client().list.widgets({ parameters: { teamId: team }, options: { page: 1 } }, { headers: { "x-call": "1" }, timeout: 5_000 }),
    );
    assert.equal(sent[0].path, `/v1/teams/${team}/widgets?page=1`);
    assert.equal(sent[0].headers["x-call"], "1");
  });
});

describe("parameters are checked before sending, as bodies are", () => {
  const bad = [
    ["per_page below its minimum", { options: { per_page: 0 } }, "$.per_page", "minimum"],
    ["per_page as a string: no lax coercion", { options: { per_page: "2" } }, "$.per_page", "type"],
    ["per_page not an integer", { options: { per_page: 2.5 } }, "$.per_page", "type"],
    ["size in the enum but over its maximum", { options: { size: 8 } }, "$.size", "maximum"],
    ["size not in the enum", { options: { size: 4 } }, "$.size", "enum"],
    ["a header against its ECMA-262 pattern", { options: { "X-Trace-Id": "XYZ" } }, '$["X-Trace-Id"]', "pattern"],
    ["a path parameter too short", { parameters: { teamId: "ab" } }, "$.teamId", "minLength"],
    ["a path parameter against its pattern", { parameters: { teamId: "Team_A" } }, "$.teamId", "pattern"],
    ["a parameter the operation does not have", { options: { bogus: 1 } }, "$.bogus", "additionalProperties"],
  ];
  for (const [what, given, path, rule] of bad) {
    test(`${what}: RequestValidationError naming ${path}, nothing sent`, async () => {
      const request = { parameters: { teamId: TEAM, ...given.parameters }, options: given.options };
      const { outcome, sent } = await sentBy(() => rejection(client().list.widgets(request)));
      assert.ok(outcome instanceof nf.RequestValidationError, String(outcome));
      assert.equal(outcome.part, "parameters");
      assert.deepEqual(outcome.errors.map((e) => [e.path, e.rule]), [[path, rule]]);
      assert.match(outcome.message, /^The request parameters are invalid \(1 failing field\): /);
      assert.ok(outcome.message.includes(path));
      assert.equal(sent.length, 0);
    });
  }

  test("a required query parameter missing, or a boolean where an integer goes", async () => {
    const parameters = { teamId: TEAM, widgetId: "some-widget" };
    for (const [options, expected] of [
      [undefined, [["$.priority", "required"]]],
      [{ priority: true }, [["$.priority", "enum"], ["$.priority", "type"]]],
      [{ priority: 8 }, [["$.priority", "maximum"]]],
      [{ priority: "3" }, [["$.priority", "enum"], ["$.priority", "type"]]],
    ]) {
      const { outcome, sent } = await sentBy(() => rejection(client().rebuild.widget({ parameters, options })));
      assert.ok(outcome instanceof nf.RequestValidationError, String(outcome));
      assert.deepEqual(outcome.errors.map((e) => [e.path, e.rule]), expected);
      assert.equal(sent.length, 0);
    }
  });

  test("a boolean query parameter takes only a boolean", async () => {
    const parameters = { teamId: TEAM, widgetId: "some-widget" };
    const { outcome, sent } = await sentBy(() =>
      rejection(client().delete.widget({ parameters, options: { delete_child_objects: "true" } })),
    );
    assert.deepEqual(outcome.errors.map((e) => [e.path, e.rule]), [["$.delete_child_objects", "type"]]);
    assert.equal(sent.length, 0);
  });

  test("an invalid body and a body where none goes are refused too; skipValidation sends anyway", async () => {
    const parameters = { teamId: TEAM, widgetId: "some-widget" };
    let { outcome, sent } = await sentBy(() => rejection(client().patch.widget({ parameters, data: { size: 8 } })));
    assert.equal(outcome.part, "body");
    assert.deepEqual(outcome.errors.map((e) => [e.path, e.rule]), [["$.size", "maximum"]]);
    assert.equal(sent.length, 0);
    ({ outcome, sent } = await sentBy(() => rejection(client().get.widget({ parameters, data: {} }))));
    assert.ok(outcome instanceof TypeError, String(outcome));
    assert.match(outcome.message, /getWidget takes no request body/);
    assert.equal(sent.length, 0);
    ({ outcome, sent } = await sentBy(() =>
      client().list.widgets({ parameters: { teamId: TEAM }, options: { per_page: 0 } }, { skipValidation: true }),
    ));
    assert.equal(sent.length, 1);
    assert.equal(sent[0].path, `/v1/teams/${TEAM}/widgets?per_page=0`);
  });
});

describe("pagination, as the official client", () => {
  test("getNextPage walks three pages, then gives the last one again, empty, sending nothing", async () => {
    const { team, ids } = await seededTeam(5);
    const { outcome: pages, sent } = await sentBy(async () => {
      const first = await client().list.widgets({ parameters: { teamId: team }, options: { "X-Trace-Id": "0a1b2c3d" } });
      const second = await first.pagination.getNextPage();
      const third = await second.pagination.getNextPage();
      return [first, second, third];
    });
    assert.deepEqual(pages.map((p) => p.data.widgets.map((w) => w.id)), [ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
    assert.deepEqual(pages.map((p) => [p.pagination.hasNextPage, p.pagination.count]), [[true, 2], [true, 2], [false, 1]]);
    assert.equal(pages[2].pagination.cursor, undefined);
    assert.deepEqual(sent.map((r) => r.path), [
      `/v1/teams/${team}/widgets`,
      `/v1/teams/${team}/widgets?cursor=${ids[1]}`,
      `/v1/teams/${team}/widgets?cursor=${ids[3]}`,
    ]);
    assert.ok(sent.every((r) => r.headers["x-trace-id"] === "0a1b2c3d"));
    const { outcome: end, sent: none } = await sentBy(() => pages[2].pagination.getNextPage());
    assert.equal(none.length, 0);
    assert.deepEqual(end.data, { widgets: [] });
    assert.equal(end.pagination.count, 0);
    assert.equal(end.pagination.hasNextPage, false);
    assert.equal(await end.pagination.getNextPage(), end);
  });

  test(".all() fetches every page and returns one result with all the items", async () => {
    const { team, ids } = await seededTeam(7);
    const { outcome, sent } = await sentBy(() =>
      client().list.widgets.all({ parameters: { teamId: team }, options: { per_page: 2 } }),
    );
    assert.equal(sent.length, 4);
    assert.ok(sent.every((r) => r.query.some(([k, v]) => k === "per_page" && v === "2")));
    assert.equal(outcome.error, undefined);
    assert.deepEqual(outcome.data.widgets.map((w) => w.id), ids);
    assert.equal(outcome.request.url, `${BASE}/v1/teams/${team}/widgets?per_page=2`);
    assert.equal(outcome.rawResponse.status, 200);
  });

  test(".all() of an empty list: one request, no items; of an invalid request: nothing sent", async () => {
    const { team } = await seededTeam(0);
    const { outcome, sent } = await sentBy(() => client().list.widgets.all({ parameters: { teamId: team } }));
    assert.equal(sent.length, 1);
    assert.deepEqual(outcome.data, { widgets: [] });
    const refused = await sentBy(() => rejection(client().list.widgets.all({ parameters: { teamId: team }, options: { per_page: 101 } })));
    assert.ok(refused.outcome instanceof nf.RequestValidationError);
    assert.equal(refused.sent.length, 0);
  });
});

describe("responses: forward compatible, strict on request", () => {
  test("an unknown field in a 2xx body is kept; strictResponseValidation makes it an error", async () => {
    const { team, ids } = await seededTeam(3);
    await control("POST", "/_test/extra?on=1");
    try {
      const got = await client().get.widget({ parameters: { teamId: team, widgetId: ids[0] } });
      assert.equal(got.error, undefined);
      assert.equal(got.data.id, ids[0]);
      assert.equal(got.data.surprise, true);

      const listed = await client().list.widgets.all({ parameters: { teamId: team } });
      assert.equal(listed.data.widgets.length, 3);
      assert.ok(listed.data.widgets.every((w) => w.surprise === true));

      const strict = client({ strictResponseValidation: true });
      assert.equal(strict.options.strictResponseValidation, true);
      const error = await rejection(strict.get.widget({ parameters: { teamId: team, widgetId: ids[0] } }));
      assert.ok(error instanceof nf.ResponseValidationError, String(error));
      assert.deepEqual(error.errors.map((e) => [e.path, e.rule]), [["$.data.surprise", "additionalProperties"]]);
      assert.equal(error.response.status, 200);
    } finally {
      await control("POST", "/_test/extra?on=0");
    }
  });

  test("lenient reading lets through unknown properties only: a wrong type still fails", () => {
    const widget = { data: { id: "abc", name: "abc", size: 1, surprise: 1 } };
    assert.deepEqual(nf.validateWidgetResponse(widget, { allowUnknownProperties: true }), []);
    assert.deepEqual(nf.validateWidgetResponse(widget).map((e) => e.rule), ["additionalProperties"]);
    const wrong = { data: { id: "abc", name: "abc", size: "1", surprise: 1 } };
    assert.deepEqual(nf.validateWidgetResponse(wrong, { allowUnknownProperties: true }).map((e) => [e.path, e.rule]), [["$.data.size", "enum"], ["$.data.size", "type"]]);
  });

  test("requests stay strict: an unknown body field is refused whatever strictResponseValidation says", async () => {
    for (const strictResponseValidation of [false, true]) {
      const data = { name: "new-widget", surprise: true };
      const { outcome, sent } = await sentBy(() =>
        rejection(client({ strictResponseValidation }).create.widget({ parameters: { teamId: TEAM }, data })),
      );
      assert.deepEqual(outcome.errors.map((e) => [e.path, e.rule]), [["$.surprise", "additionalProperties"]]);
      assert.equal(sent.length, 0);
    }
  });
});
