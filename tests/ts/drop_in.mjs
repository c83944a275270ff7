// Creating a build service the way a user of the official `@northflank/js-client`
// writes it. Only the import line and the constructor line are this package's; the
// official ones (with the context provider the official constructor takes) are in
// the comments right above them. Run by drop_in.test.mjs:
//
//     node drop_in.mjs "<service name>"    (NF_TOKEN, NF_HOST: the API token and URL)

// import { ApiClient, ApiClientInMemoryContextProvider } from "@northflank/js-client";
import { ApiClient } from "northflank-build";

const projectId = "default-project";
const data = {
  name: process.argv[2] ?? "Example Service",
  description: "A service description",
  billing: { deploymentPlan: "nf-compute-20", buildPlan: "nf-compute-200-8" },
  buildSource: "git",
  vcsData: {
    projectUrl: "https://github.com/northflank/gatsby-with-northflank",
    projectType: "github",
    accountLogin: "github-user",
  },
  buildSettings: {
    dockerfile: {
      buildEngine: "kaniko",
      dockerFilePath: "/Dockerfile",
      dockerWorkDir: "/",
      useCache: false,
    },
  },
  buildArguments: { NODE_ENV: "production" },
};

// const contextProvider = new ApiClientInMemoryContextProvider();
// await contextProvider.addContext({ name: "sandbox", token: process.env.NF_TOKEN, host: process.env.NF_HOST });
// const apiClient = new ApiClient(contextProvider);
const apiClient = new ApiClient({ token: process.env.NF_TOKEN, baseUrl: process.env.NF_HOST });

const result = await apiClient.create.service.build({ parameters: { projectId }, data });
if (result.error) {
  console.error(`create failed: ${result.error.status} ${result.error.message}`);
  process.exit(1);
}
console.log(`created ${result.data.id} (${result.data.serviceType}, build ${result.data.status.build.status})`);

const again = await apiClient.create.service.build({ parameters: { projectId }, data });
if (again.error) {
  console.log(`second create: ${again.error.status} ${again.error.message}`);
} else {
  console.log(`second create: created ${again.data.id} again`);
}
