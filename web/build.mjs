// Builds the dashboard into dist/ (or --outdir DIR): app.js (one IIFE bundle,
// minified), app.css and index.html. The output depends only on src/ and the
// locked packages — no timestamps, no hashes of paths — so a rebuild gives the
// same bytes (tests/web/bundle_is_fresh_test.sh checks it against the
// committed dist/).
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const at = process.argv.indexOf('--outdir');
const outdir = at > 0 ? process.argv[at + 1] : join(here, 'dist');
mkdirSync(outdir, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: here,
  charset: 'utf8',
};
await esbuild.build({
  ...common,
  entryPoints: ['src/main.js'],
  outfile: join(outdir, 'app.js'),
  format: 'iife',
  target: ['es2020'],
  banner: { js: '/* steadfast dashboard. Bundles Preact 10 (MIT, (c) 2015-present Jason Miller) and htm 3 (Apache-2.0, (c) 2018 Google Inc.). */' },
});
await esbuild.build({
  ...common,
  entryPoints: ['src/style.css'],
  outfile: join(outdir, 'app.css'),
});
copyFileSync(join(here, 'src/index.html'), join(outdir, 'index.html'));
