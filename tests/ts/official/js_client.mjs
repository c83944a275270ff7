// The official `@northflank/js-client`, exactly as its users write it, against the sandbox:
// create, list (one page, getNextPage, .all()), get, put, patch and delete services in one
// project. Run by tests/test_official_clients.py from a folder where
// node_modules/@northflank/js-client is the package pinned in bench/node. It prints one JSON
// line per call, {"call", "status", "error", ...what the call returned}, for the test to check
// against the sandbox's state.
//
//     NF_HOST, NF_TOKEN      the sandbox's URL and a token bound to NF_PROJECT
//     NF_ALL_TOKEN           another token of the project, used only by `.all()`, so the
//                            sandbox's per-token request count tells how many pages it fetched
//     NF_PROJECT, NF_OTHER_PROJECT, NF_SERVICES, NF_PER_PAGE, NF_REQUEST_EXAMPLE

import {
  ApiClient,
  ApiClientInMemoryContextProvider,
  NorthflankApiCallError,
} from "@northflank/js-client";

const env = (name) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const projectId = env("NF_PROJECT");
const otherProjectId = env("NF_OTHER_PROJECT");
const services = Number(env("NF_SERVICES"));
const perPage = Number(env("NF_PER_PAGE"));
const example = JSON.parse(env("NF_REQUEST_EXAMPLE"));

/** An ApiClient the way the official README makes one: a context with a token and a host. */
async function client(token, opts) {
  const contextProvider = new ApiClientInMemoryContextProvider();
  await contextProvider.addContext({ name: "sandbox", token, host: env("NF_HOST") });
  return new ApiClient(contextProvider, opts);
}

function report(call, result, extra = {}) {
  const line = {
    call,
    status: result.rawResponse?.status ?? null,
    error: result.error ?? null,
    url: result.request?.url ?? null,
    method: result.request?.method ?? null,
    ...extra,
  };
  console.log(JSON.stringify(line));
}

const summary = (service) => service && {
  id: service.id,
  name: service.name,
  description: service.description,
  createdAt: service.createdAt,
  updatedAt: service.updatedAt,
  buildArguments: service.buildArguments,
  serviceType: service.serviceType,
  build: service.status?.build?.status,
};

const api = await client(env("NF_TOKEN"));
const names = Array.from({ length: services }, (_, i) => `Official ${String(i).padStart(2, "0")}`);

for (const name of names) {
  const created = await api.create.service.build({ parameters: { projectId }, data: { ...example, name } });
  report("create.service.build", created, { data: summary(created.data) });
}

// One page, then the rest by the page's own getNextPage().
let page = await api.list.services({ parameters: { projectId }, options: { per_page: perPage } });
const pages = [];
for (;;) {
  pages.push({
    ids: (page.data?.services ?? []).map((s) => s.id),
    hasNextPage: page.pagination?.hasNextPage,
    count: page.pagination?.count,
    cursor: page.pagination?.cursor !== undefined,
  });
  report("list.services", page, { page: pages.at(-1) });
  if (page.error || !page.pagination?.hasNextPage || pages.length > services) break;
  page = await page.pagination.getNextPage();
}

const apiAll = await client(env("NF_ALL_TOKEN"));
const all = await apiAll.list.services.all({ parameters: { projectId }, options: { per_page: perPage } });
report("list.services.all", all, { ids: (all.data?.services ?? []).map((s) => s.id) });

const [firstId, patchedId, deletedId] = pages.flatMap((p) => p.ids);

const got = await api.get.service({ parameters: { projectId, serviceId: firstId } });
report("get.service", got, { data: summary(got.data) });

// put: the name of an existing service replaces it; a new name creates one.
const replaced = await api.put.service.build({
  parameters: { projectId },
  data: { ...example, name: names[0], description: "Replaced by put" },
});
report("put.service.build", replaced, { data: summary(replaced.data), replaces: firstId });
const putNew = await api.put.service.build({
  parameters: { projectId },
  data: { ...example, name: "Official put" },
});
report("put.service.build", putNew, { data: summary(putNew.data), replaces: null });

const patched = await api.patch.service.build({
  parameters: { projectId, serviceId: patchedId },
  data: { description: "Patched", buildArguments: { PATCHED: "yes" } },
});
report("patch.service.build", patched, { data: summary(patched.data) });

const deleted = await api.delete.service({
  parameters: { projectId, serviceId: deletedId },
  options: { delete_child_objects: true },
});
report("delete.service", deleted, { data: deleted.data, serviceId: deletedId });

const gone = await api.get.service({ parameters: { projectId, serviceId: deletedId } });
report("get.service (deleted)", gone, { data: gone.data ?? null });

// The same 404 from a client that throws, as the official CLI makes it.
const throwing = await client(env("NF_TOKEN"), { throwErrorOnHttpErrorCode: true });
try {
  await throwing.get.service({ parameters: { projectId, serviceId: deletedId } });
  report("get.service (deleted, throwing)", {}, { thrown: null });
} catch (error) {
  report("get.service (deleted, throwing)", {}, {
    thrown: {
      official: error instanceof NorthflankApiCallError,
      status: error.status,
      message: error.message,
    },
  });
}

// The token is bound to NF_PROJECT: another project's list is refused.
const foreign = await api.list.services({ parameters: { projectId: otherProjectId } });
report("list.services (other project)", foreign, { data: foreign.data ?? null });
