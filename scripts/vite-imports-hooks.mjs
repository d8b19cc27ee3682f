// Node module hooks for the two Vite import forms the GPU code uses, so tsx can run it outside
// Vite (the Node volunteer on Dawn, the Node bench): `x.wgsl?raw` is the file's text, and
// `x.ts?worker&url` the script's file URL (Node has no Worker: the pools then run in-thread).
// Registered by vite-imports.ts; plain JavaScript, as hooks run on Node's loader thread.
import { readFile } from 'node:fs/promises';

const QUERY = /\?(raw|worker&url)$/;

export async function resolve(specifier, context, next) {
  const m = QUERY.exec(specifier);
  if (!m || !context.parentURL) return next(specifier, context);
  const url = new URL(specifier.slice(0, m.index), context.parentURL);
  return { url: `${url.href}?${m[1]}`, shortCircuit: true };
}

export async function load(url, context, next) {
  const m = QUERY.exec(url);
  if (!m) return next(url, context);
  const file = new URL(url.slice(0, m.index));
  const value = m[1] === 'raw' ? await readFile(file, 'utf8') : file.href;
  return { format: 'module', source: `export default ${JSON.stringify(value)};`, shortCircuit: true };
}
