// Optic's own command line, `optic diff OLD NEW --check --json --standard optic.yml`, run
// for many pairs in one Node process: loading Optic takes longer than a diff.
//
// usage: node optic_batch.cjs OPTIC_PACKAGE_DIR FOLDER...
// Each FOLDER holds old.yaml, new.yaml and optic.yml. With CI=true Optic writes every
// rule's result to ci-run-details.json in the folder the process started in; after each
// pair this prints one line, {"folder": ..., "exitCode": ..., "details": ...}.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const [opticDir, ...folders] = process.argv.slice(2);
const { initCli } = require(path.join(opticDir, "build", "lib.js"));
const { Command } = require(require.resolve("commander", { paths: [opticDir] }));
const detailsFile = path.join(process.cwd(), "ci-run-details.json");
const print = console.log.bind(console);

async function checkPair(folder) {
  process.chdir(folder);
  process.exitCode = 0;
  fs.rmSync(detailsFile, { force: true });
  console.log = () => {}; // --json prints the changelog, which the details also hold
  try {
    const cli = await initCli(new Command(), { hideNotifier: true });
    const args = ["diff", "old.yaml", "new.yaml", "--check", "--json", "--standard", "optic.yml"];
    await cli.parseAsync(args, { from: "user" });
  } finally {
    console.log = print;
  }
  const details = fs.existsSync(detailsFile) ? JSON.parse(fs.readFileSync(detailsFile, "utf8")) : null;
  print(JSON.stringify({ folder, exitCode: process.exitCode ?? 0, details }));
}

(async () => {
  for (const folder of folders) {
    await checkPair(folder);
  }
  process.exitCode = 0;
})();
