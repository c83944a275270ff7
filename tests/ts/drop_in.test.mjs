// The drop-in check: drop_in.mjs, written for the official @northflank/js-client but for
// its import and constructor lines, runs as a user's script against the live sandbox,
// importing "northflank-build" from its own node_modules.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { PACKAGE, serviceId, setting } from "./support.mjs";

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "drop_in.mjs");
const run = promisify(execFile);

let app;
before(async () => {
  app = await mkdtemp(join(tmpdir(), "nf-drop-in-"));
  await mkdir(join(app, "node_modules"));
  await symlink(PACKAGE, join(app, "node_modules", "northflank-build"), "junction");
  await copyFile(SCRIPT, join(app, "drop_in.mjs"));
});
after(() => rm(app, { recursive: true, force: true }));

test("the official client's script runs with only the import and constructor changed", async () => {
  const name = `Drop In ${randomBytes(4).toString("hex")}`;
  const env = { ...process.env, NF_TOKEN: setting("NF_SANDBOX_TOKEN"), NF_HOST: setting("NF_SANDBOX_URL") };
  delete env.NORTHFLANK_API_TOKEN;
  delete env.NORTHFLANK_BASE_URL;
  const { stdout, stderr } = await run(process.execPath, ["drop_in.mjs", name], { cwd: app, env, timeout: 15_000 });
  assert.equal(stderr, "");
  assert.equal(
    stdout,
    `created ${serviceId(name)} (build, build QUEUED)\n` +
      "second create: 409 There is already a service with the same derived identifier\n",
  );
});

test("the script differs from the official usage in two lines, each under its official form", async () => {
  const lines = (await readFile(SCRIPT, "utf8")).split("\n");
  const code = lines.filter((line) => line.trim() && !line.trimStart().startsWith("//"));
  const ours = code.filter((line) => /northflank-build|new ApiClient\(/.test(line));
  assert.deepEqual(ours, [
    'import { ApiClient } from "northflank-build";',
    "const apiClient = new ApiClient({ token: process.env.NF_TOKEN, baseUrl: process.env.NF_HOST });",
  ]);
  const importAt = lines.indexOf(ours[0]);
  assert.equal(lines[importAt - 1], '// import { ApiClient, ApiClientInMemoryContextProvider } from "@northflank/js-client";');
  const constructorAt = lines.indexOf(ours[1]);
  assert.equal(lines[constructorAt - 1], "// const apiClient = new ApiClient(contextProvider);");
  assert.match(lines[constructorAt - 3], /^\/\/ const contextProvider = new ApiClientInMemoryContextProvider\(\);$/);
  // the rest is the official call and result shape
  const calls = code.filter((line) => line.includes("apiClient.create.service.build("));
  assert.equal(calls.length, 2);
  for (const call of calls) assert.match(call, /\.build\(\{ parameters: \{ projectId \}, data \}\)/);
  assert.ok(code.some((line) => line.includes("result.data.id")));
  assert.ok(code.some((line) => line.includes("again.error.message")));
});
