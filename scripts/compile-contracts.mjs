// Usage: node scripts/compile-contracts.mjs   (after scripts/tools.sh; rewrites pkg/devchain/artifacts/*.json)
//
// Compiles the Solidity test doubles in testdata/contracts with the pinned solc-js and
// writes one artifact per deployable contract. The artifacts are committed, so tests
// need no compiler; re-running on unchanged sources gives byte-identical files.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const nodeModules = path.join(root, "tools", "node_modules");
const srcDir = path.join(root, "testdata", "contracts");
const outDir = path.join(root, "pkg", "devchain", "artifacts");

// Cancun: supported by anvil 1.7.1's default hardfork and by Base, so the same bytecode
// could run on either.
const evmVersion = "cancun";

function fail(msg) {
  process.stderr.write(`compile-contracts: ${msg}\n`);
  process.exit(1);
}

let solc;
try {
  solc = createRequire(path.join(nodeModules, "noop.js"))("solc");
} catch (err) {
  fail(`solc-js not found in ${nodeModules} (run scripts/tools.sh): ${err.message}`);
}

const files = fs.readdirSync(srcDir).filter((f) => f.endsWith(".sol")).sort();
if (files.length === 0) fail(`no .sol files in ${srcDir}`);
const sources = {};
for (const f of files) sources[f] = { content: fs.readFileSync(path.join(srcDir, f), "utf8") };

const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion,
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};

// Only OpenZeppelin comes from outside testdata/contracts; anything else is a mistake in
// an import path and should fail the build rather than be found somewhere by accident.
function findImports(importPath) {
  if (!importPath.startsWith("@openzeppelin/")) return { error: `import not allowed: ${importPath}` };
  const full = path.join(nodeModules, importPath);
  if (!full.startsWith(nodeModules + path.sep)) return { error: `import escapes node_modules: ${importPath}` };
  try {
    return { contents: fs.readFileSync(full, "utf8") };
  } catch (err) {
    return { error: `cannot read ${full}: ${err.message}` };
  }
}

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const diagnostics = output.errors ?? [];
for (const d of diagnostics) process.stderr.write(`${d.formattedMessage ?? d.message}\n`);
if (diagnostics.some((d) => d.severity === "error")) fail("compilation failed");

const solcVersion = solc.version();
fs.mkdirSync(outDir, { recursive: true });
const written = [];
for (const file of files) {
  for (const [name, c] of Object.entries(output.contracts?.[file] ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    // Interfaces and abstract contracts have no bytecode: nothing to deploy.
    if (!c.evm?.bytecode?.object) continue;
    const artifact = {
      contractName: name,
      sourceName: `testdata/contracts/${file}`,
      solcVersion,
      evmVersion,
      abi: c.abi,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    };
    fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(artifact, null, 2) + "\n");
    written.push(name);
  }
}
process.stderr.write(`compile-contracts: solc ${solcVersion}, wrote ${written.join(", ")} to ${path.relative(root, outDir)}\n`);
