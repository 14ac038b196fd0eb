// Build a sluice plugin written in JavaScript into a component with
// componentize-js: node componentize.mjs SOURCE.js WIT_DIR WORLD OUT.wasm
// HTTP and fetch are disabled so the component imports no wasi:http.
import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';

const [source, wit, world, out] = process.argv.slice(2);
if (!out) {
  console.error('usage: node componentize.mjs SOURCE.js WIT_DIR WORLD OUT.wasm');
  process.exit(2);
}
const { component } = await componentize({
  sourcePath: resolve(source),
  witPath: resolve(wit),
  worldName: world,
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile(out, component);
