// Builds the served widget scripts: widgets/src/<name>.js -> widgets/dist/<name>.js.
//
// Each script is one bundle (an IIFE: no module loader, nothing global but
// `flipfunnel`), minified; CSS files are minified and imported as text, for the
// scripts to put into their shadow roots. The output is committed, so the app runs
// from a clone without Node; `make widgets` rebuilds it and CI checks that the
// committed files are what the sources build to. `--check` builds in memory and
// fails if widgets/dist differs.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCRIPTS = ['loader', 'survey', 'referral', 'wall'];
// ES2021, dialog, Shadow DOM: browsers since 2021 (esbuild lowers `?.` for Chrome 90,
// which had a bug in it). Older engines than these may fail to parse the scripts.
const TARGET = ['chrome91', 'edge91', 'firefox90', 'safari15'];

const minifiedCss = {
  name: 'minified-css',
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async (args) => {
      const css = await readFile(args.path, 'utf8');
      const { code } = await esbuild.transform(css, {
        loader: 'css',
        minify: true,
        target: TARGET,
      });
      return { contents: code.trim(), loader: 'text' };
    });
  },
};

async function bundle(name) {
  const result = await esbuild.build({
    entryPoints: [join(HERE, 'src', `${name}.js`)],
    bundle: true,
    format: 'iife',
    minify: true,
    target: TARGET,
    charset: 'utf8',
    legalComments: 'none',
    plugins: [minifiedCss],
    write: false,
  });
  return result.outputFiles[0].text;
}

async function main() {
  const check = process.argv.includes('--check');
  const stale = [];
  await mkdir(join(HERE, 'dist'), { recursive: true });
  for (const name of SCRIPTS) {
    const path = join(HERE, 'dist', `${name}.js`);
    const built = await bundle(name);
    const committed = await readFile(path, 'utf8').catch(() => null);
    if (committed === built) continue;
    if (check) stale.push(path);
    else await writeFile(path, built);
  }
  if (stale.length) {
    console.error(
      `Not what widgets/src builds to: ${stale.join(', ')}. Run \`make widgets\` and commit.`,
    );
    process.exit(1);
  }
}

await main();
