/**
 * What the generated validators (validate.ts) share: the JSON Schema notions
 * that TypeScript does not have built in. Each generated check function pushes
 * one FieldError per violated keyword, named by its JSON path.
 */

import type { FieldError } from "./runtime.js";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A JSON object: not null, not an array. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether `object` has `key` as its own property (`__proto__` included, as JSON.parse makes it). */
export function hasOwn(object: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/** A string's length as JSON Schema counts it: in Unicode code points, not UTF-16 units. */
export function codePoints(text: string): number {
  let count = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit >= 0xd800 && unit <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) index++;
    }
    count++;
  }
  return count;
}

/** One step of a JSON path: `.name` for an identifier, else `["/dir/file"]`. */
export function pathStep(key: string): string {
  if (IDENTIFIER.test(key)) return `.${key}`;
  return `["${key.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"]`;
}

/**
 * `oneOf`: valid when exactly one branch has no errors.
 *
 * When none is valid, the errors reported are those of the branches the value
 * seems meant for: a branch missing one of its own required properties (as the
 * Buildpack branch is when `buildSettings` has `dockerfile`) is passed over,
 * unless every branch is. When several are valid, that is the one error.
 */
export function exactlyOne(errors: FieldError[], path: string, branches: FieldError[][]): void {
  let passed = 0;
  for (const branch of branches) if (branch.length === 0) passed++;
  if (passed === 1) return;
  if (passed > 1) {
    errors.push({
      path,
      rule: "oneOf",
      message: `matches ${passed} of the ${branches.length} schemas, not exactly one`,
    });
    return;
  }
  const meant = branches.filter((branch) => !branch.some((error) => missesOwnKey(error, path)));
  for (const branch of meant.length > 0 ? meant : branches) errors.push(...branch);
}

/** Whether `error` says a property directly under `path` is required and missing. */
function missesOwnKey(error: FieldError, path: string): boolean {
  if (error.rule !== "required" || !error.path.startsWith(path)) return false;
  return ONE_STEP.test(error.path.slice(path.length));
}

const ONE_STEP = /^(?:\.[A-Za-z_][A-Za-z0-9_]*|\["(?:[^"\\]|\\.)*"\])$/;
