// The package as a TypeScript user types against it: tests/test_typescript.py compiles
// this file with `tsc --strict --noEmit` against the built package's declarations (as
// an ES module, as CommonJS and for a bundler). It is never run. Each
// `@ts-expect-error` is a mistake the types must catch.

import {
  ApiClient,
  ConflictError,
  NorthflankApiCallError,
  RequestValidationError,
  validateBuildService,
  type ApiCallResponse,
  type BuildService,
  type CreateBuildServiceRequest,
  type FieldError,
} from "northflank-build";

const apiClient = new ApiClient({
  token: "token",
  baseUrl: "https://api.example.test",
  timeout: 10_000,
  maxRetries: 1,
  throwErrorOnHttpErrorCode: false,
  headers: { "x-trace": "1" },
  customUserAgent: "my-app/1",
});

/** The official client's result shape: `data` or `error`. */
export async function createOne(projectId: string, data: CreateBuildServiceRequest): Promise<string> {
  const result: ApiCallResponse<BuildService> = await apiClient.create.service.build(
    { parameters: { projectId }, data },
    { timeout: 5_000, skipValidation: false, signal: AbortSignal.timeout(1_000) },
  );
  if (result.error) {
    const status: number = result.error.status;
    const message: string = result.error.message;
    const id: string | undefined = result.error.id;
    const afterRetry: boolean | undefined = result.error.afterRetry;
    return `${status} ${message} ${id} ${afterRetry}`;
  }
  const service: BuildService = result.data;
  const raw: Response = result.rawResponse;
  const url: string = result.request.url;
  const errors: FieldError[] = validateBuildService(service);
  return `${service.id} ${service.name} ${service.appId} ${raw.status} ${url} ${errors.length}`;
}

/** A body written inline, as in the official examples: its literals keep their types. */
export function createInline(): Promise<ApiCallResponse<BuildService>> {
  return apiClient.create.service.build({
    parameters: { projectId: "default-project" },
    data: {
      name: "Example Service",
      billing: { buildPlan: "nf-compute-200-8" },
      buildSource: "git",
      vcsData: { projectUrl: "https://github.com/northflank/gatsby-with-northflank", projectType: "github" },
      buildSettings: { dockerfile: { buildEngine: "kaniko", dockerFilePath: "/Dockerfile", dockerWorkDir: "/" } },
    },
  });
}

/** The thrown errors, with `throwErrorOnHttpErrorCode`. */
export async function createThrowing(data: CreateBuildServiceRequest): Promise<string> {
  const throwing = new ApiClient({ throwErrorOnHttpErrorCode: true });
  try {
    const { data: service } = await throwing.create.service.build({ parameters: { projectId: "p" }, data });
    return service.id;
  } catch (error) {
    if (error instanceof ConflictError) return `exists ${error.status} ${error.afterRetry} ${error.response.status}`;
    if (error instanceof NorthflankApiCallError) return `${error.status} ${error.message} ${error.id ?? ""}`;
    if (error instanceof RequestValidationError) return error.errors.map((e) => `${e.path} ${e.rule}`).join(", ");
    throw error;
  }
}

export async function mistakes(data: CreateBuildServiceRequest): Promise<void> {
  // @ts-expect-error: the project id is required
  await apiClient.create.service.build({ parameters: {}, data });
  // @ts-expect-error: a name is a string
  await apiClient.create.service.build({ parameters: { projectId: "p" }, data: { ...data, name: 5 } });
  const dockerfile = { dockerFilePath: "/Dockerfile", dockerWorkDir: "/" };
  // @ts-expect-error: not a build engine
  await apiClient.create.service.build({ parameters: { projectId: "p" }, data: { ...data, buildSettings: { dockerfile: { ...dockerfile, buildEngine: "docker" } } } });
  // @ts-expect-error: not a VCS
  await apiClient.create.service.build({ parameters: { projectId: "p" }, data: { ...data, vcsData: { projectUrl: "u", projectType: "svn" } } });
  // @ts-expect-error: the body is required
  await apiClient.create.service.build({ parameters: { projectId: "p" } });
  // @ts-expect-error: per-call settings are the second argument, not the request's options
  await apiClient.create.service.build({ parameters: { projectId: "p" }, data, options: { timeout: 5 } });
  // @ts-expect-error: no such option
  new ApiClient({ tokn: "x" });
  // @ts-expect-error: a number of retries
  new ApiClient({ maxRetries: "2" });
  const result = await apiClient.create.service.build({ parameters: { projectId: "p" }, data });
  // @ts-expect-error: no such field
  result.data.nope;
  // @ts-expect-error: the status is a number
  const status: string = result.error!.status;
  void status;
}
