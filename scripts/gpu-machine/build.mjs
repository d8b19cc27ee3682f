// Bundles scripts/gpu-machine/main.ts (the Node bench and the volunteer self-check) into one ESM
// file for a GPU machine with no node_modules: .gpu/tabgrid-gpu.mjs, beside the GPU kit's node.xz
// and dawn.node.xz (docs/GPU-MACHINE.md). WGSL `?raw` imports become text as in Vite; `?worker&url`
// ones a file URL (Node has no Worker: the CPU pools run in-thread); `webgpu` stays outside, loaded
// at run time from ./webgpu/index.js beside the bundle, where run.sh lays Dawn out.
//   node scripts/gpu-machine/build.mjs [OUT_DIR]     (default .gpu; checksums only where the kit's binaries are)
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const out = resolve(process.argv[2] ?? join(repo, '.gpu'));
mkdirSync(out, { recursive: true });

const viteQueries = {
  name: 'vite-queries',
  setup(build) {
    build.onResolve({ filter: /^webgpu$/ }, () => ({ path: './webgpu/index.js', external: true }));
    build.onResolve({ filter: /\?(raw|worker&url)$/ }, (args) => {
      const [file, query] = args.path.split('?');
      return { path: resolve(args.resolveDir, file), namespace: query === 'raw' ? 'raw' : 'worker-url' };
    });
    build.onLoad({ filter: /.*/, namespace: 'raw' }, (args) => ({ contents: readFileSync(args.path, 'utf8'), loader: 'text' }));
    build.onLoad({ filter: /.*/, namespace: 'worker-url' }, (args) => ({
      contents: `export default ${JSON.stringify(pathToFileURL(args.path).href)};`,
      loader: 'js',
    }));
  },
};

const result = await esbuild.build({
  entryPoints: [join(repo, 'scripts/gpu-machine/main.ts')],
  outfile: join(out, 'tabgrid-gpu.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  mainFields: ['module', 'main'],
  plugins: [viteQueries],
  // CommonJS inside the bundle (tfjs-core's Node platform) calls require().
  banner: { js: "import { createRequire as __tabgridRequire } from 'node:module'; const require = __tabgridRequire(import.meta.url);" },
  define: { 'process.env.NODE_ENV': '"production"' },
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
});
if (result.errors.length > 0) process.exit(1);
copyFileSync(join(repo, 'scripts/bench/dawn-torch.py'), join(out, 'dawn-torch.py'));
console.log(`${join(out, 'tabgrid-gpu.mjs')}: ${statSync(join(out, 'tabgrid-gpu.mjs')).size} bytes`);
if (!existsSync(join(out, 'node.xz')) || !existsSync(join(out, 'dawn.node.xz'))) {
  console.log(`no node.xz/dawn.node.xz in ${out} (the GPU kit's make-binaries.sh makes them): no checksums written`);
  process.exit(0);
}

// Checksums of what tabgrid-run.sh lays out in its work folder (it runs `sha256sum -c` there).
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
const unxz = (file) => execFileSync('xz', ['-dc', join(out, file)], { maxBuffer: 1 << 30 });
const sums = [
  [sha(unxz('node.xz')), 'node'],
  [sha(unxz('dawn.node.xz')), 'webgpu/dist/linux-x64/dawn.node'],
  [sha(readFileSync(join(out, 'webgpu-index.js'))), 'webgpu/index.js'],
  [sha(readFileSync(join(out, 'tabgrid-gpu.mjs'))), 'tabgrid-gpu.mjs'],
  [sha(readFileSync(join(out, 'dawn-torch.py'))), 'dawn-torch.py'],
];
writeFileSync(join(out, 'TABGRID-SHA256SUMS'), sums.map(([h, f]) => `${h}  ${f}\n`).join(''));
console.log(`${join(out, 'TABGRID-SHA256SUMS')} written`);
