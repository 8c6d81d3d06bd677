// Bundles src/studio.js (CodeMirror 6, YAML, completion/lint/hover from the process JSON Schema) into
// ONE file the package serves: engine/web/static/studio.js. Run `npm ci && npm run build` here.
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

// codemirror-json-schema renders hover text with markdown-it plus Shiki, whose highlighter loads
// grammars and a WebAssembly engine at run time: not offline, and megabytes. Our hovers are the
// schema's descriptions: src/markdown.js escapes them and keeps their `code` spans.
const plainMarkdown = {
  name: "plain-markdown",
  setup(build) {
    build.onResolve({ filter: /utils\/markdown(\.js)?$/ }, (args) =>
      args.importer.includes("codemirror-json-schema") ? { path: here("src/markdown.js") } : undefined,
    );
  },
};

const result = await build({
  entryPoints: [here("src/studio.js")],
  bundle: true,
  minify: true,
  format: "iife",
  globalName: "procflowStudio",
  target: ["es2020"],
  legalComments: "eof",
  plugins: [plainMarkdown],
  metafile: true,
  write: false,
  outfile: process.env.STUDIO_OUT || here("../../engine/web/static/studio.js"), // STUDIO_OUT: the test's copy
});

// Name every package bundled, with its licence, at the top of the file (their notices travel with it).
const bundled = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const found = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (found && !bundled.has(found[1])) {
    const meta = JSON.parse(readFileSync(here(`node_modules/${found[1]}/package.json`), "utf8"));
    bundled.set(found[1], `${found[1]}@${meta.version} (${meta.license})`);
  }
}
const banner =
  "/* procflow Studio editor, built by tools/studio-editor (npm ci && npm run build); do not edit.\n" +
  ` * Bundles: ${[...bundled.values()].sort().join(", ")}. */\n`;
const [output] = result.outputFiles;
writeFileSync(output.path, banner + output.text);
console.log(`${output.path}: ${((banner.length + output.contents.length) / 1024).toFixed(0)} KiB`);
