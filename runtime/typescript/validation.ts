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
 * Each branch is named by its distinguishing keys (`keys`): the required
 * properties that not every branch requires, like `dockerfile` and `buildpack`.
 * A branch missing one of them is not the branch the value meant. When no
 * branch passes and exactly one is meant (`{"dockerfile": {...bad...}}`), its
 * errors are the ones reported. Otherwise (none meant, several meant, or several
 * passing) the one error is `message` at the oneOf's own path, rule `oneOf`:
 * `exactly one of: dockerfile, buildpack`. The Python models report the same.
 */
export function exactlyOne(
  errors: FieldError[],
  path: string,
  branches: FieldError[][],
  keys: string[][],
  message: string,
): void {
  let passed = 0;
  for (const branch of branches) if (branch.length === 0) passed++;
  if (passed === 1) return;
  if (passed === 0) {
    const meant = branches.filter((branch, index) => !missesAnyKey(branch, path, keys[index] ?? []));
    const only = meant.length === 1 ? meant[0] : undefined;
    if (only !== undefined) {
      errors.push(...only);
      return;
    }
  }
  errors.push({ path, rule: "oneOf", message });
}

/** Whether `branch` says one of `keys`, directly under `path`, is required and missing. */
function missesAnyKey(branch: FieldError[], path: string, keys: string[]): boolean {
  const missing = new Set(keys.map((key) => path + pathStep(key)));
  return branch.some((error) => error.rule === "required" && missing.has(error.path));
}
