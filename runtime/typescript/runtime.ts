/**
 * The hand-written core under the generated TypeScript client: requests,
 * retries, errors.
 *
 * The generated files describe each endpoint (its path, its validators) and
 * call {@link ClientCore.call}; everything a call does happens here:
 *
 * 1. the path parameters are percent-encoded, each as exactly one segment;
 * 2. the parameters (path ones from `parameters`, query and header ones from
 *    `options`, by their wire names) are checked by the operation's parameters
 *    validator, and the body, serialised once, by the body's: what will be sent
 *    is checked, unless validation is skipped. An invalid request throws
 *    {@link RequestValidationError} and nothing is sent. An operation without a
 *    body sends none, and no `content-type`;
 * 3. network errors, timeouts, 408, 429 and 5xx are retried with exponential
 *    backoff and jitter, honouring `Retry-After`;
 * 4. a success is checked by the spec's response validator and its `data`
 *    returned (a 204 returns `data: undefined`). Responses are read forward
 *    compatibly: a property the spec does not know is kept, not an error,
 *    unless `strictResponseValidation`. A list's result has
 *    `pagination.getNextPage()`, and {@link ClientCore.all} walks every page.
 *    An error status is returned as `error` (or thrown as a
 *    {@link NorthflankApiCallError} subclass with `throwErrorOnHttpErrorCode`),
 *    in the shape of the official Northflank JavaScript client.
 *
 * It imports nothing and needs only the global `fetch` (Node 18+, browsers, Deno).
 */

/** Every default of the client, in one place. */
export const DEFAULTS = Object.freeze({
  baseUrl: "https://api.northflank.com",
  baseUrlEnv: "NORTHFLANK_BASE_URL",
  tokenEnv: "NORTHFLANK_API_TOKEN",
  /** Milliseconds one attempt may take, from sending to the end of the body. */
  timeoutMs: 60_000,
  maxRetries: 2,
  /** Milliseconds before the first retry; each further retry doubles it, with jitter. */
  initialRetryDelayMs: 500,
  maxRetryDelayMs: 8_000,
  /** The longest response body read; a longer one is refused, not buffered (32 MiB). */
  maxResponseBytes: 32 * 1024 * 1024,
  /** The longest `Retry-After` honoured; a longer one is cut to this. */
  maxRetryAfterMs: 60_000,
  /** 408, 429 and 500-599. */
  retryableStatuses: Object.freeze([408, 429, ...Array.from({ length: 100 }, (_, i) => 500 + i)]),
});

const MAX_TIMER_MS = 2_147_483_647; // setTimeout fires at once past this

/** One failing field of a body checked against the spec. */
export interface FieldError {
  /** Where, as a JSON path: `$.buildSettings.dockerfile.dockerFilePath`. */
  path: string;
  /** The JSON Schema keyword broken: `required`, `pattern`, `additionalProperties`, `type`... */
  rule: string;
  /** Why, in words. */
  message: string;
}

/** How a validator reads a value. */
export interface ValidatorOptions {
  /** Let through the properties that `additionalProperties: false` refuses. */
  allowUnknownProperties?: boolean | undefined;
}

/** A generated validator: the failing fields of a JSON value, none when it is valid. */
export type Validator = (value: unknown, options?: ValidatorOptions) => FieldError[];

/** An error status, as the official client reports it in {@link ApiCallResponse.error}. */
export interface ApiCallError {
  /** The HTTP status. */
  status: number;
  /** The API's message (`error.message` of its envelope), else the status text, else `HTTP <status>`. */
  message: string;
  /** The API's error id, when it gave one. */
  id?: string;
  /** The API's details object, when it gave one; a 400 lists each failing field in `details.fields`. */
  details?: any;
  /**
   * True when this answer came to a retry: an earlier attempt may have reached
   * the server and only its answer was lost (a 409 may be that attempt's doing).
   */
  afterRetry?: boolean;
}

/** What every call resolves to: the official client's result shape. */
export interface ApiCallResponse<R> {
  /** The result (the body's `data`); `undefined` when the status is an error, or for a 204. */
  data: R;
  /** The final HTTP response; its body has already been read. */
  rawResponse: Response;
  /**
   * The request as sent: headers with the token redacted, body as the JSON string
   * (`undefined` when there is none).
   */
  request: { url: string; method: string; headers: Record<string, string>; body: string | undefined };
  /** Set for an error status (unless `throwErrorOnHttpErrorCode`, which throws instead). */
  error?: ApiCallError;
  /** The response's `x-request-id` (`null` when absent): quote it when reporting a problem. */
  _request_id: string | null;
  /** Where a page of a list stands; set on each page of a paginated call. */
  pagination?: ApiCallPagination<R>;
}

/** A page of a list, as the official client describes it. */
export interface ApiCallPagination<R> {
  /** Is there another page of results? */
  hasNextPage: boolean;
  /** The cursor of the next page; absent on the last one. */
  cursor?: string;
  /** How many results this page holds. */
  count: number;
  /**
   * The next page: the same call with `options.cursor` set to this page's cursor.
   * Without a cursor (the last page, or an error), this page again with no items
   * and `count` 0, as the official client does.
   */
  getNextPage: () => Promise<PaginatedApiCallResponse<R>>;
}

/** What a paginated call resolves to: a result whose `pagination` is always set. */
export interface PaginatedApiCallResponse<R> extends ApiCallResponse<R> {
  pagination: ApiCallPagination<R>;
}

/** An error status, thrown when `throwErrorOnHttpErrorCode` is set; see {@link errorForStatus}. */
export class NorthflankApiCallError extends Error implements ApiCallError {
  override name = "NorthflankApiCallError";
  /** The HTTP status. */
  readonly status: number;
  /** The API's error id, when it gave one. */
  declare readonly id?: string;
  /** The API's details object, when it gave one. */
  declare readonly details?: any;
  /** The final HTTP response; its body has already been read. */
  readonly response: Response;
  /**
   * True when this answer came to a retry: an earlier attempt of this same
   * call may have reached the server and only its answer was lost. For a
   * 409, look the resource up before taking it for someone else's.
   */
  readonly afterRetry: boolean;

  constructor(error: ApiCallError, response: Response, afterRetry = false) {
    super(error.message);
    this.status = error.status;
    if (error.id !== undefined) this.id = error.id;
    if (error.details !== undefined) this.details = error.details;
    this.response = response;
    this.afterRetry = afterRetry;
  }
}

/** 400: `details.fields` lists each failing field. */
export class BadRequestError extends NorthflankApiCallError {
  override name = "BadRequestError";
}
/** 401: no token, or a token the API does not accept. */
export class AuthenticationError extends NorthflankApiCallError {
  override name = "AuthenticationError";
}
/** 403: the token may not do this. */
export class PermissionDeniedError extends NorthflankApiCallError {
  override name = "PermissionDeniedError";
}
/** 404: no such project (or other resource). */
export class NotFoundError extends NorthflankApiCallError {
  override name = "NotFoundError";
}
/**
 * 409: the resource already exists. Creating is not idempotent: when
 * `afterRetry` is true, an earlier attempt of this call may have created it.
 */
export class ConflictError extends NorthflankApiCallError {
  override name = "ConflictError";
}
/** 429, after every retry. */
export class RateLimitError extends NorthflankApiCallError {
  override name = "RateLimitError";
}
/** 5xx, after every retry. */
export class InternalServerError extends NorthflankApiCallError {
  override name = "InternalServerError";
}

const BY_STATUS: Readonly<Record<number, typeof NorthflankApiCallError>> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  429: RateLimitError,
};

/** The error to throw for an error status: its subclass, else the base class. */
export function errorForStatus(
  error: ApiCallError,
  response: Response,
  afterRetry = false,
): NorthflankApiCallError {
  const ErrorClass =
    BY_STATUS[error.status] ?? (error.status >= 500 ? InternalServerError : NorthflankApiCallError);
  return new ErrorClass(error, response, afterRetry);
}

/** No response arrived, after every retry: refused, reset, DNS... The fetch error is `cause`. */
export class APIConnectionError extends Error {
  override name = "APIConnectionError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An attempt outlasted the timeout, and so did every retry. */
export class APITimeoutError extends APIConnectionError {
  override name = "APITimeoutError";
}

/**
 * The request breaks the spec, so nothing was sent. `errors` names each field: a JSON
 * path into the body (`$.name`), or for `part` `"parameters"`, the parameter's wire
 * name (`$.per_page`, `$["X-Trace-Id"]`).
 */
export class RequestValidationError extends Error {
  override name = "RequestValidationError";
  /** Each failing field. */
  readonly errors: FieldError[];
  /** What failed: the body, or the path, query and header parameters. */
  readonly part: "body" | "parameters";
  constructor(errors: FieldError[], part: "body" | "parameters" = "body") {
    super(`The request ${part === "body" ? "body is" : "parameters are"} invalid ${describeErrors(errors)}`);
    this.errors = errors;
    this.part = part;
  }
}

/** A success response whose body is not JSON or breaks the spec. */
export class ResponseValidationError extends Error {
  override name = "ResponseValidationError";
  /** Each failing field (`$` with rule `type` for a body that is not JSON). */
  readonly errors: FieldError[];
  /** The HTTP response; its body has already been read. */
  readonly response: Response;
  /** The body as received. */
  readonly body: string;
  constructor(operationId: string, errors: FieldError[], response: Response, body: string) {
    const what = `The ${response.status} response of ${operationId}`;
    super(`${what} does not match the spec ${describeErrors(errors)}`);
    this.errors = errors;
    this.response = response;
    this.body = body;
  }
}

/** `(2 failing fields): $.name pattern: ...; $.vcsData required: ...` */
function describeErrors(errors: readonly FieldError[]): string {
  const count = `${errors.length} failing field${errors.length === 1 ? "" : "s"}`;
  return `(${count}): ${errors.map((e) => `${e.path} ${e.rule}: ${e.message}`).join("; ")}`;
}

/** A client's settings; each is optional. */
export interface ClientOptions {
  /** The API token; default: `NORTHFLANK_API_TOKEN` where there is a `process.env`. */
  token?: string | undefined;
  /** Default: `NORTHFLANK_BASE_URL`, then `https://api.northflank.com`. Trailing `/` dropped. */
  baseUrl?: string | undefined;
  /** Milliseconds one attempt may take, its body included; default 60000. */
  timeout?: number | undefined;
  /** Retries after the first attempt; default 2. */
  maxRetries?: number | undefined;
  /** Milliseconds before the first retry, doubling (with jitter) up to `retryMaxDelay`; default 500. */
  retryInitialDelay?: number | undefined;
  /** The longest backoff between two retries, in milliseconds; default 8000. */
  retryMaxDelay?: number | undefined;
  /** The longest response body read, in bytes; a longer one is a {@link ResponseValidationError}. */
  maxResponseBytes?: number | undefined;
  /** Throw a {@link NorthflankApiCallError} for an error status, instead of setting `error`. */
  throwErrorOnHttpErrorCode?: boolean | undefined;
  /** Send request bodies and parameters without checking them against the spec. */
  skipValidation?: boolean | undefined;
  /**
   * Refuse a 2xx body with a property the spec does not know (a
   * {@link ResponseValidationError}); by default it is kept, so that a newer API
   * does not break this client.
   */
  strictResponseValidation?: boolean | undefined;
  /** The `fetch` to send with; default: the global one, looked up at each call. */
  fetch?: typeof fetch | undefined;
  /** Headers for every call; they replace the defaults of the same name (case-insensitively). */
  headers?: Record<string, string> | undefined;
  /** Added to the `user-agent` header, in parentheses. */
  customUserAgent?: string | undefined;
}

/** The settings in force: {@link ClientOptions} with every default filled in. */
export interface ResolvedOptions {
  token: string | undefined;
  baseUrl: string;
  timeout: number;
  maxRetries: number;
  retryInitialDelay: number;
  retryMaxDelay: number;
  maxResponseBytes: number;
  throwErrorOnHttpErrorCode: boolean;
  skipValidation: boolean;
  strictResponseValidation: boolean;
  fetch: typeof fetch;
  headers: Readonly<Record<string, string>>;
  customUserAgent: string | undefined;
}

/**
 * Settings for one call, over the client's: the second argument of a call,
 * `client.create.service.build(request, { timeout: 5_000 })` (the request's own
 * `options` are the operation's query and header parameters, as in the official client).
 */
export interface CallSettings {
  /** Send this request without checking its body and parameters against the spec. */
  skipValidation?: boolean | undefined;
  /** Milliseconds each attempt of this call may take. */
  timeout?: number | undefined;
  /** Aborts the call at once, retries included; the call rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Headers for this call; they replace the client's of the same name (case-insensitively). */
  headers?: Record<string, string> | undefined;
}

/** A parameter of an operation: its wire name and where it goes. */
export interface EndpointParameter {
  name: string;
  location: "path" | "query" | "header";
}

/** One operation of the spec, as the generated code describes it. */
export interface Endpoint<R = unknown> {
  operationId: string;
  method: string;
  /** The path template, such as `/v1/projects/{projectId}/services/build`. */
  path: string;
  /** Path parameters first, then query, then header. */
  parameters: readonly EndpointParameter[];
  /** Checks every parameter value, by wire name; `undefined` when the operation has none. */
  validateParameters: Validator | undefined;
  /** Checks the body; `undefined` when the operation takes none. */
  validateRequest: Validator | undefined;
  /** Whether a body must be given (else it may be left out). */
  bodyRequired: boolean;
  /** Checks a 2xx body; `undefined` when the success has none (204). */
  validateResponse: Validator | undefined;
  /** The key of the response body that holds the result (`data`), or `undefined` for the whole. */
  resultKey: string | undefined;
  /** For a list: the property of the result holding its items (`services`). */
  pagination: { itemsKey: string } | undefined;
  /** Never set: it only carries the result type, so that `call` can infer it. */
  readonly resultType?: R;
}

/**
 * `value` as exactly one path segment: percent-encoded, `/` included (as
 * Python's `quote(value, safe="")` does, `!'()*` too). `.` and `..` are
 * refused: the WHATWG URL parser inside `fetch` treats them as dot segments
 * even percent-encoded (`%2E%2E`), and the request would go to another path.
 */
export function pathSegment(value: string): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`a path parameter must be a non-empty string, not ${show(value)}`);
  }
  let segment: string;
  try {
    segment = encodeURIComponent(value);
  } catch {
    throw new TypeError(`a path parameter must be well-formed Unicode, not ${show(value)}`);
  }
  if (segment === "." || segment === "..") {
    throw new TypeError(`a path parameter cannot be ${show(value)}: URLs treat it as a dot segment`);
  }
  return segment.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** A delay setting in milliseconds: finite, 0 or more. */
function checkDelay(delay: number, what: string): number {
  if (typeof delay !== "number" || !Number.isFinite(delay) || delay < 0 || delay > MAX_TIMER_MS) {
    throw new RangeError(`${what} must be a number of milliseconds, 0 or more, not ${show(delay)}`);
  }
  return delay;
}

/**
 * A token is printable ASCII without spaces: a header can carry nothing else. A
 * trailing `\r` (`$(cat token.txt)` of a CRLF file) is the usual culprit. The
 * message names the setting and the position, never the token.
 */
function checkToken(token: string | undefined, what: string): void {
  if (token === undefined) return;
  if (typeof token !== "string") throw new TypeError(`${what} must be a string`);
  for (let index = 0; index < token.length; index++) {
    const code = token.charCodeAt(index);
    if (code < 0x21 || code > 0x7e) {
      const hex = code.toString(16).toUpperCase().padStart(4, "0");
      throw new TypeError(
        `${what} has a character that is not printable ASCII (U+${hex}) at position ${index + 1} of ${token.length}; a token is printable ASCII without spaces (the token is not shown)`,
      );
    }
  }
}

/**
 * A body longer than the client's `maxResponseBytes`: reading stopped at the limit, so
 * `body` is empty. A {@link ResponseValidationError}, as the Python client's is an
 * `APIResponseValidationError`, with one error at `$` (rule `maxResponseBytes`).
 */
export class ResponseTooLargeError extends ResponseValidationError {
  override name = "ResponseTooLargeError";
  /** The `maxResponseBytes` the body went past. */
  readonly limit: number;
  constructor(operationId: string, limit: number, response: Response) {
    const message = `the ${response.status} response is larger than maxResponseBytes (${limit} bytes), so it was not read; raise it with new Client({ maxResponseBytes })`;
    super(operationId, [{ path: "$", rule: "maxResponseBytes", message }], response, "");
    this.message = message;
    this.limit = limit;
  }
}

/** The body as text, read chunk by chunk and refused past `limit` bytes (memory stays bounded). */
async function boundedText(operationId: string, response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new ResponseTooLargeError(operationId, limit, response);
  }
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let read = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    read += value.byteLength;
    if (read > limit) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLargeError(operationId, limit, response);
    }
    text += decoder.decode(value, { stream: true });
  }
}

/**
 * The result with the response's `x-request-id` as `_request_id`, as the Stainless
 * clients put it: not enumerable, so the result keeps the official client's shape.
 */
function withRequestId<T extends object>(result: T, response: Response): T & { _request_id: string | null } {
  const value = response.headers.get("x-request-id");
  return Object.defineProperty(result, "_request_id", { value, enumerable: false }) as T & {
    _request_id: string | null;
  };
}

function environment(name: string): string | undefined {
  try {
    type Env = Record<string, string | undefined>;
    return (globalThis as { process?: { env?: Env } }).process?.env?.[name];
  } catch {
    return undefined; // Deno without --allow-env
  }
}

function checkTimeout(timeout: number, what: string): number {
  if (typeof timeout !== "number" || !(timeout > 0 && timeout <= MAX_TIMER_MS)) {
    const range = `over 0 and up to ${MAX_TIMER_MS}`;
    throw new RangeError(`${what} must be a number of milliseconds ${range}, not ${show(timeout)}`);
  }
  return timeout;
}

const globalFetch: typeof fetch = (input, init) => {
  if (typeof globalThis.fetch !== "function") {
    throw new TypeError("there is no global fetch: pass one as the client's `fetch` option");
  }
  return globalThis.fetch(input, init);
};

/** A retryable attempt's outcome: an answer, or the error of one that got none. */
type Attempt = { response: Response; text: string } | { failure: unknown; timedOut: boolean };

/** The core the generated client is built on: options, and {@link ClientCore.call}. */
export class ClientCore {
  /** The settings in force. */
  readonly options: Readonly<ResolvedOptions>;
  private readonly userAgent: string;

  /** `userAgent` is the package's own (`northflank-build-typescript/<version>`). */
  constructor(options: ClientOptions | undefined, userAgent: string) {
    const given = options ?? {};
    const maxRetries = given.maxRetries ?? DEFAULTS.maxRetries;
    if (!Number.isSafeInteger(maxRetries) || maxRetries < 0) {
      throw new RangeError(`maxRetries must be a whole number, 0 or more, not ${show(maxRetries)}`);
    }
    const chosen = given.baseUrl || environment(DEFAULTS.baseUrlEnv) || DEFAULTS.baseUrl;
    const baseUrl = chosen.replace(/\/+$/, "");
    try {
      new URL(baseUrl);
    } catch {
      throw new TypeError(`baseUrl must be an absolute URL, not ${show(baseUrl)}`);
    }
    const headers: Record<string, string> = {};
    mergeHeaders(headers, given.headers);
    const retryInitialDelay = checkDelay(given.retryInitialDelay ?? DEFAULTS.initialRetryDelayMs, "retryInitialDelay");
    const retryMaxDelay = checkDelay(given.retryMaxDelay ?? DEFAULTS.maxRetryDelayMs, "retryMaxDelay");
    if (retryInitialDelay > retryMaxDelay) {
      throw new RangeError(`retryInitialDelay (${retryInitialDelay}) must not be more than retryMaxDelay (${retryMaxDelay})`);
    }
    const maxResponseBytes = given.maxResponseBytes ?? DEFAULTS.maxResponseBytes;
    if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes < 1) {
      throw new RangeError(`maxResponseBytes must be a whole number of bytes, 1 or more, not ${show(maxResponseBytes)}`);
    }
    const token = given.token ?? environment(DEFAULTS.tokenEnv);
    checkToken(token, given.token === undefined ? DEFAULTS.tokenEnv : "token");
    this.options = Object.freeze({
      token,
      baseUrl,
      timeout: checkTimeout(given.timeout ?? DEFAULTS.timeoutMs, "timeout"),
      maxRetries,
      retryInitialDelay,
      retryMaxDelay,
      maxResponseBytes,
      throwErrorOnHttpErrorCode: given.throwErrorOnHttpErrorCode ?? false,
      skipValidation: given.skipValidation ?? false,
      strictResponseValidation: given.strictResponseValidation ?? false,
      fetch: given.fetch ?? globalFetch,
      headers: Object.freeze(headers),
      customUserAgent: given.customUserAgent,
    });
    this.userAgent = given.customUserAgent ? `${userAgent} (${given.customUserAgent})` : userAgent;
  }

  /** Sends one request to `endpoint`, retrying as needed; see the top of this file. */
  async call<R>(endpoint: Endpoint<R>, request: CallRequest, settings?: CallSettings): Promise<ApiCallResponse<R>> {
    return (await this.send(endpoint, request, settings)).result;
  }

  /** One page of a list: {@link ClientCore.call} with `pagination.getNextPage()`. */
  async page<R>(
    endpoint: Endpoint<R>,
    request: CallRequest,
    settings?: CallSettings,
  ): Promise<PaginatedApiCallResponse<R>> {
    const { result, page } = await this.send(endpoint, request, settings);
    const cursor = page?.cursor;
    const paged: PaginatedApiCallResponse<R> = withRequestId({
      ...result,
      pagination: {
        hasNextPage: page?.hasNextPage ?? false,
        ...(cursor === undefined ? {} : { cursor }),
        count: page?.count ?? 0,
        getNextPage: () => {
          if (cursor === undefined) return Promise.resolve(lastPageAgain(endpoint, paged));
          const options = { ...(isObject(request.options) ? request.options : {}), cursor };
          return this.page(endpoint, { ...request, options }, settings);
        },
      },
    }, result.rawResponse);
    return paged;
  }

  /**
   * Every page of a list, from the request's own (its `cursor`, else the first), as one
   * result whose items are all the pages' in order, with the first page's `request` and
   * `rawResponse`; the first page with an error status is returned as it is.
   */
  async all<R>(endpoint: Endpoint<R>, request: CallRequest, settings?: CallSettings): Promise<ApiCallResponse<R>> {
    const itemsKey = endpoint.pagination?.itemsKey;
    if (itemsKey === undefined) throw new TypeError(`${endpoint.operationId} is not a paginated list`);
    const first = await this.page(endpoint, request, settings);
    if (first.error) return first;
    const items: unknown[] = [];
    const seen = new Set<string>();
    for (let page = first; ; ) {
      const held = isObject(page.data) ? page.data[itemsKey] : undefined;
      if (Array.isArray(held)) items.push(...held);
      const cursor = page.pagination.cursor;
      if (cursor === undefined) break;
      if (seen.has(cursor)) throw new Error(`${endpoint.operationId} gave the cursor ${show(cursor)} twice`);
      seen.add(cursor);
      page = await page.pagination.getNextPage();
      if (page.error) return page;
    }
    const data = { ...(isObject(first.data) ? first.data : {}), [itemsKey]: items };
    return withRequestId({ data: data as R, rawResponse: first.rawResponse, request: first.request }, first.rawResponse);
  }

  /** Validates, sends and reads one call: its result, and its page for a list. */
  private async send<R>(
    endpoint: Endpoint<R>,
    request: CallRequest,
    settings: CallSettings | undefined,
  ): Promise<{ result: ApiCallResponse<R>; page: PageInfo | undefined }> {
    const options = this.options;
    if (!isObject(request)) throw new TypeError(`the request must be an object, not ${show(request)}`);
    const pathValues = isObject(request.parameters) ? request.parameters : {};
    const path = endpoint.path.replace(/\{([^}]*)\}/g, (_, name: string) => {
      const value = Object.hasOwn(pathValues, name) ? pathValues[name] : undefined;
      if (value === undefined) throw new TypeError(`the path parameter ${name} is missing`);
      try {
        return pathSegment(value as string);
      } catch (error) {
        throw new TypeError(`the path parameter ${name}: ${reason(error)}`);
      }
    });
    // Every parameter by its wire name, as sent: `undefined` means not given.
    const values: Record<string, unknown> = JSON.parse(
      JSON.stringify({ ...(isObject(request.options) ? request.options : {}), ...pathValues }),
    );
    const skip = settings?.skipValidation ?? options.skipValidation;
    if (!skip) {
      const errors = endpoint.validateParameters
        ? endpoint.validateParameters(values)
        : Object.keys(values).map((name) => unknownParameter(endpoint, name));
      if (errors.length > 0) throw new RequestValidationError(errors, "parameters");
    }
    const query = endpoint.parameters
      .filter((p) => p.location === "query" && values[p.name] !== undefined)
      .map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(wireText(values[p.name]))}`);
    const url = options.baseUrl + path + (query.length > 0 ? `?${query.join("&")}` : "");

    let body: string | undefined;
    if (endpoint.validateRequest === undefined) {
      if (request.data !== undefined) throw new TypeError(`${endpoint.operationId} takes no request body`);
    } else if (request.data !== undefined || endpoint.bodyRequired) {
      body = JSON.stringify(request.data); // throws TypeError for BigInt or a cycle
      if (typeof body !== "string") {
        throw new TypeError(`the request body must be JSON, not ${typeof request.data}`);
      }
      if (!skip) {
        const errors = endpoint.validateRequest(JSON.parse(body)); // the wire form, as sent
        if (errors.length > 0) throw new RequestValidationError(errors);
      }
    }

    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    headers["user-agent"] = this.userAgent;
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    mergeHeaders(headers, options.headers);
    for (const parameter of endpoint.parameters) {
      const value = values[parameter.name];
      if (parameter.location === "header" && value !== undefined) {
        headers[parameter.name.toLowerCase()] = wireText(value);
      }
    }
    mergeHeaders(headers, settings?.headers);
    try {
      new Headers(headers); // a value fetch would refuse (a newline, non-Latin-1) fails here, unsent
    } catch {
      const name = Object.keys(headers).find((key) => !/^[\t\x20-\x7e]*$/.test(headers[key] ?? ""));
      throw new TypeError(`the request header ${name ?? "(unknown)"} is invalid: a header value is printable ASCII (the value is not shown)`);
    }
    const sent = { url, method: endpoint.method, headers: redacted(headers), body };

    const timeout =
      settings?.timeout === undefined ? options.timeout : checkTimeout(settings.timeout, "timeout");
    const signal = settings?.signal;
    // Redirects are answers, not instructions: following a 302 would turn the POST into a GET.
    const init: RequestInit = { method: endpoint.method, headers, redirect: "manual" };
    if (body !== undefined) init.body = body;
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      const outcome = await this.attempt(endpoint.operationId, url, init, timeout, signal);
      const last = attempt >= options.maxRetries;
      if ("failure" in outcome) {
        if (!last) {
          await sleep(backoff(attempt, options), signal);
          continue;
        }
        const tries = `${attempt + 1} attempt${attempt === 0 ? "" : "s"}`;
        const cause = { cause: outcome.failure };
        if (outcome.timedOut) {
          throw new APITimeoutError(`The request timed out after ${timeout} ms (${tries})`, cause);
        }
        throw new APIConnectionError(`Connection failed: ${reason(outcome.failure)} (${tries})`, cause);
      }
      const { response, text } = outcome;
      if (!last && DEFAULTS.retryableStatuses.includes(response.status)) {
        await sleep(retryAfter(response.headers.get("retry-after")) ?? backoff(attempt, options), signal);
        continue;
      }
      return this.finish(endpoint, response, text, sent, attempt > 0);
    }
  }

  /** One attempt: the response and its whole body, within `timeout`, or why there is none. */
  private async attempt(
    operationId: string,
    url: string,
    init: RequestInit,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<Attempt> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeout);
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const send = this.options.fetch;
      const response = await send(url, { ...init, signal: controller.signal });
      return { response, text: await boundedText(operationId, response, this.options.maxResponseBytes) };
    } catch (failure) {
      signal?.throwIfAborted(); // the caller's abort: no retry, no wrapping
      if (failure instanceof ResponseTooLargeError) throw failure;
      return { failure, timedOut };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  private finish<R>(
    endpoint: Endpoint<R>,
    response: Response,
    text: string,
    request: ApiCallResponse<R>["request"],
    afterRetry: boolean,
  ): { result: ApiCallResponse<R>; page: PageInfo | undefined } {
    if (response.status >= 200 && response.status < 300) {
      if (endpoint.validateResponse === undefined) {
        return { result: withRequestId({ data: undefined as R, rawResponse: response, request }, response), page: undefined };
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        const errors = [{ path: "$", rule: "type", message: `the body is not JSON: ${reason(error)}` }];
        throw new ResponseValidationError(endpoint.operationId, errors, response, text);
      }
      const allowUnknownProperties = !this.options.strictResponseValidation;
      const errors = endpoint.validateResponse(parsed, { allowUnknownProperties });
      if (errors.length > 0) {
        throw new ResponseValidationError(endpoint.operationId, errors, response, text);
      }
      const key = endpoint.resultKey;
      const result = key === undefined ? parsed : isObject(parsed) ? parsed[key] : undefined;
      const page = endpoint.pagination && isObject(parsed) ? pageInfo(parsed.pagination) : undefined;
      return { result: withRequestId({ data: result as R, rawResponse: response, request }, response), page };
    }
    const envelope = errorEnvelope(text);
    const message = envelope.message;
    const error: ApiCallError = {
      status: response.status,
      message: typeof message === "string" ? message : response.statusText || `HTTP ${response.status}`,
      afterRetry,
    };
    if (typeof envelope.id === "string") error.id = envelope.id;
    if (isObject(envelope.details)) error.details = envelope.details;
    if (this.options.throwErrorOnHttpErrorCode) throw errorForStatus(error, response, afterRetry);
    return { result: withRequestId({ data: undefined as R, rawResponse: response, request, error }, response), page: undefined };
  }
}

/** The argument of every call: path parameters, query and header parameters, body. */
export interface CallRequest {
  /** The path parameters, by name. */
  parameters?: object | undefined;
  /** The query and header parameters, by wire name (`per_page`, `X-Trace-Id`). */
  options?: object | undefined;
  /** The body, for an operation that takes one. */
  data?: unknown;
}

/** The `pagination` object of a list's body. */
interface PageInfo {
  hasNextPage: boolean;
  cursor: string | undefined;
  count: number;
}

function pageInfo(value: unknown): PageInfo | undefined {
  if (!isObject(value)) return undefined;
  return {
    hasNextPage: value.hasNextPage === true,
    cursor: typeof value.cursor === "string" ? value.cursor : undefined,
    count: typeof value.count === "number" ? value.count : 0,
  };
}

/** What `getNextPage()` of the last page gives: that page again, with no items (as the official client). */
function lastPageAgain<R>(endpoint: Endpoint<R>, page: PaginatedApiCallResponse<R>): PaginatedApiCallResponse<R> {
  const key = endpoint.pagination?.itemsKey;
  const data = key !== undefined && isObject(page.data) ? { ...page.data, [key]: [] } : page.data;
  const again: PaginatedApiCallResponse<R> = withRequestId({
    ...page,
    data: data as R,
    pagination: { ...page.pagination, count: 0, getNextPage: () => Promise.resolve(again) },
  }, page.rawResponse);
  return again;
}

/** A parameter value as the URL or a header carries it: `true`, `5`, `abc`. */
function wireText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function unknownParameter(endpoint: Endpoint<unknown>, name: string): FieldError {
  const step = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
  const message = `is not allowed: ${endpoint.operationId} has no such parameter`;
  return { path: `$${step}`, rule: "additionalProperties", message };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The `error` object of the API's envelope (`{"error": {...}}`), or `{}` for any other body. */
function errorEnvelope(text: string): Record<string, unknown> {
  try {
    const body: unknown = JSON.parse(text);
    return isObject(body) && isObject(body.error) ? body.error : {};
  } catch {
    return {};
  }
}

/** Header names merged by their lower-case form: later wins. */
function mergeHeaders(
  into: Record<string, string>,
  given: Readonly<Record<string, string>> | undefined,
): void {
  for (const [name, value] of Object.entries(given ?? {})) {
    if (value !== undefined) into[name.toLowerCase()] = value;
  }
}

function redacted(headers: Record<string, string>): Record<string, string> {
  const shown = { ...headers };
  if (shown.authorization !== undefined) {
    const scheme = /^(\S+)\s/.exec(shown.authorization)?.[1];
    shown.authorization = scheme ? `${scheme} <redacted>` : "<redacted>";
  }
  return shown;
}

function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Node's fetch says only "fetch failed"; its cause says why (ECONNREFUSED...).
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
}

/** Exponential backoff with jitter: 0.5 s, 1 s, 2 s... up to 8 s (by default), each less up to a quarter. */
function backoff(attempt: number, options: ResolvedOptions): number {
  const delay = Math.min(options.retryInitialDelay * 2 ** attempt, options.retryMaxDelay);
  return delay * (1 - 0.25 * Math.random());
}

/** `Retry-After` in milliseconds (seconds, or an HTTP date), capped; `undefined` if unusable. */
function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  let ms: number;
  if (/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(value)) {
    ms = Number(value) * 1000;
  } else {
    ms = Date.parse(value) - Date.now();
  }
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), DEFAULTS.maxRetryAfterMs);
}

/** Waits `ms`; rejects with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
