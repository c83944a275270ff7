// V8 oracle for ECMA-262 regular expressions with the `u` flag.
//
// Reads one JSON object per line on stdin and writes one JSON object per line on
// stdout, in order:
//   {"pattern": P, "input": S}       -> {"result": true|false}
//   {"pattern": P, "inputs": [S...]} -> {"results": [true|false, ...]}
//   {"pattern": P}                   -> {"valid": true}
// `result` is `new RegExp(P, "u").test(S)`.  If P does not compile, the answer is
// {"error": MESSAGE} instead.  Compiled patterns are cached for the process's life.
//
// V8 quirk: with the `u` flag, V8 can report an empty match *inside* a surrogate
// pair (e.g. /\B/u.test("a\u{1F432}b") is true, the match at UTF-16 index 2), where
// ES2024 RegExpBuiltinExec only tries code-point boundaries and finds none.  When the
// match V8 returns splits a pair, a result is reported as {"raw": true, "spec": B}:
// B is the ECMA-262 verdict, obtained by running V8's own matcher sticky (`uy`) at
// every code-point boundary, exactly as the spec's loop does.
import { createInterface } from "node:readline";

const cache = new Map();
const stickyCache = new Map();

const isLead = (unit) => unit >= 0xd800 && unit <= 0xdbff;
const isTrail = (unit) => unit >= 0xdc00 && unit <= 0xdfff;

function splitsPair(text, index) {
  return (
    index > 0 &&
    index < text.length &&
    isLead(text.charCodeAt(index - 1)) &&
    isTrail(text.charCodeAt(index))
  );
}

function specTest(pattern, text) {
  let sticky = stickyCache.get(pattern);
  if (sticky === undefined) {
    sticky = new RegExp(pattern, "uy");
    stickyCache.set(pattern, sticky);
  }
  for (let index = 0; index <= text.length; ) {
    sticky.lastIndex = index;
    if (sticky.test(text)) return true;
    const pair = isLead(text.charCodeAt(index)) && isTrail(text.charCodeAt(index + 1));
    index += pair ? 2 : 1;
  }
  return false;
}

function test(regex, pattern, text) {
  const match = regex.exec(text);
  if (match === null) return false;
  if (!splitsPair(text, match.index)) return true;
  return { raw: true, spec: specTest(pattern, text) };
}

function compile(pattern) {
  let regex = cache.get(pattern);
  if (regex === undefined) {
    regex = new RegExp(pattern, "u"); // no `g`/`y` flag: test() ignores lastIndex
    cache.set(pattern, regex);
  }
  return regex;
}

function answer(request) {
  let regex;
  try {
    regex = compile(request.pattern);
  } catch (error) {
    return { error: String(error.message) };
  }
  if (Array.isArray(request.inputs)) {
    return { results: request.inputs.map((input) => test(regex, request.pattern, input)) };
  }
  if (typeof request.input === "string") {
    return { result: test(regex, request.pattern, request.input) };
  }
  return { valid: true };
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (line.trim() === "") continue;
  let reply;
  try {
    reply = answer(JSON.parse(line));
  } catch (error) {
    reply = { fatal: String(error && error.message) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
