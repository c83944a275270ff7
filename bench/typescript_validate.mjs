// Validator throughput in Node, for bench/typescript_client.py: the generated
// TypeScript package's validateCreateBuildServiceRequest next to Ajv compiling
// the same schema, in this one process.
//
// Usage: node typescript_validate.mjs INPUT.json, where INPUT holds
//   ours        the built package's ES module entry (dist/esm/index.js)
//   ajvFrom     a file whose folder resolves `ajv` (bench/node/package.json)
//   schema      a standalone JSON Schema 2020-12 document
//   cases       [{label, expected, body}]: the bodies, with their expected verdict
//   minTime     seconds a timed pass lasts at least
//   rounds      timed rounds per contestant and body set
// and prints one JSON object on stdout: versions, each body's verdicts, and
// bodies per second for each contestant on the valid and the invalid bodies.
//
// Contestants: ours (always collects every error), Ajv with allErrors: true, and
// Ajv with allErrors: false (stops at the first error). Ajv options: strict: false
// (the spec's descriptions, titles and `deprecated` are annotations to it),
// unicodeRegExp: true (patterns with the `u` flag, as JSON Schema asks).
//
// Timing: a warm-up of every contestant on every set, then a calibration (how
// many passes over a set last minTime), then `rounds` rounds in which the
// contestants take turns (ours, Ajv all, Ajv first, ours, ...), so drift on the
// machine hits all alike. Each verdict goes into a checksum that is printed, so
// that no call can be optimised away.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const require = createRequire(input.ajvFrom);
const Ajv2020 = require("ajv/dist/2020.js").default;
const ajvVersion = require("ajv/package.json").version;
const ours = await import(pathToFileURL(input.ours).href);

const compile = (allErrors) =>
  new Ajv2020({ strict: false, allErrors, unicodeRegExp: true }).compile(input.schema);
const ajvAll = compile(true);
const ajvFirst = compile(false);
const validateOurs = ours.validateCreateBuildServiceRequest;
if (typeof validateOurs !== "function") {
  throw new Error("the package exports no validateCreateBuildServiceRequest");
}

const contestants = [
  { key: "ours", check: (body) => validateOurs(body).length === 0 },
  { key: "ajvAll", check: (body) => ajvAll(body) },
  { key: "ajvFirst", check: (body) => ajvFirst(body) },
];

// Each body's verdicts, with the number of errors where a contestant reports them all.
const verdicts = input.cases.map(({ label, expected, body }) => {
  const errors = validateOurs(body);
  const all = ajvAll(body);
  const allCount = all ? 0 : ajvAll.errors.length;
  return {
    label,
    expected,
    ours: errors.length === 0,
    oursErrors: errors.length,
    ajvAll: all,
    ajvAllErrors: allCount,
    ajvFirst: ajvFirst(body),
  };
});

const sets = {
  valid: input.cases.filter((c) => c.expected).map((c) => c.body),
  invalid: input.cases.filter((c) => !c.expected).map((c) => c.body),
};

let checksum = 0;

function pass(check, bodies, loops) {
  const start = process.hrtime.bigint();
  for (let loop = 0; loop < loops; loop++) {
    for (let index = 0; index < bodies.length; index++) {
      if (check(bodies[index])) checksum++;
    }
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function calibrate(check, bodies, minTime) {
  let loops = 1;
  for (;;) {
    const elapsed = pass(check, bodies, loops);
    if (elapsed >= minTime) return loops;
    loops = Math.max(loops * 2, Math.ceil((loops * minTime * 1.2) / Math.max(elapsed, 1e-9)));
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const throughput = {};
for (const [name, bodies] of Object.entries(sets)) {
  throughput[name] = {};
  if (bodies.length === 0) continue;
  const warmup = Math.max(0.2, input.minTime / 2);
  for (const { check } of contestants) calibrate(check, bodies, warmup);
  const loops = contestants.map(({ check }) => calibrate(check, bodies, input.minTime));
  const rates = contestants.map(() => []);
  for (let round = 0; round < input.rounds; round++) {
    contestants.forEach(({ check }, index) => {
      const elapsed = pass(check, bodies, loops[index]);
      rates[index].push((loops[index] * bodies.length) / elapsed);
    });
  }
  contestants.forEach(({ key }, index) => {
    throughput[name][key] = { median: median(rates[index]), best: Math.max(...rates[index]) };
  });
}

process.stdout.write(
  JSON.stringify({
    node: process.version,
    ajv: ajvVersion,
    verdicts,
    throughput,
    checksum,
  }),
);
