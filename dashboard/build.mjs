// Builds the dashboard into dist/: one JavaScript bundle and one stylesheet with content
// hashes in their names (served as immutable), and index.html that names them (served
// no-cache). No inline script or style anywhere: faceauthd's Content-Security-Policy forbids it.
import { build } from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
await rm(dist, { recursive: true, force: true });
await mkdir(path.join(dist, 'assets'), { recursive: true });

const result = await build({
  entryPoints: { app: path.join(here, 'src/main.ts'), style: path.join(here, 'src/style.css') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  outdir: path.join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((file) => path.relative(dist, path.resolve(file)));
const script = outputs.find((file) => file.endsWith('.js'));
const style = outputs.find((file) => file.endsWith('.css'));
const template = await readFile(path.join(here, 'src/index.html'), 'utf8');
const html = template.replace('%SCRIPT%', script).replace('%STYLE%', style);
await writeFile(path.join(dist, 'index.html'), html);
console.log(`dashboard built: dist/index.html, dist/${script}, dist/${style}`);
