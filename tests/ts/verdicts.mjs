// The TypeScript validator's verdict on every body of a corpus, for
// tests/test_cross_surface_parity.py.
//
//   NF_TS_PACKAGE=<built package folder> node tests/ts/verdicts.mjs CORPUS.json [VALIDATOR]
//
// CORPUS.json is a JSON array of cases, each {"body": <request body>, ...}; VALIDATOR is the
// package's export to run, `validateCreateBuildServiceRequest` unless given.
// Writes one JSON line per case, in order: {"valid": bool, "paths": [json path, ...]},
// `paths` being the failing fields the validator names.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const folder = process.env.NF_TS_PACKAGE;
if (!folder) {
  process.stderr.write("NF_TS_PACKAGE is not set: the built package's folder\n");
  process.exit(2);
}
const corpusPath = process.argv[2];
if (!corpusPath) {
  process.stderr.write("usage: node verdicts.mjs CORPUS.json [VALIDATOR]\n");
  process.exit(2);
}

const entry = pathToFileURL(join(resolve(folder), "dist", "esm", "index.js")).href;
const name = process.argv[3] ?? "validateCreateBuildServiceRequest";
const validate = (await import(entry))[name];
if (typeof validate !== "function") {
  process.stderr.write(`${entry} does not export ${name}\n`);
  process.exit(2);
}

const cases = JSON.parse(readFileSync(corpusPath, "utf8"));
const lines = [];
for (const item of cases) {
  const errors = validate(item.body);
  if (!Array.isArray(errors)) throw new Error("the validator did not return a list");
  lines.push(JSON.stringify({ valid: errors.length === 0, paths: errors.map((e) => e.path) }));
}
process.stdout.write(lines.join("\n") + (lines.length ? "\n" : ""));
