import { wrap, type Remote } from 'comlink';

/**
 * Starts a module worker from a script URL that may live on another origin. A page that
 * embeds tabgrid.js from a CDN runs it with the CDN's import.meta.url, but browsers construct
 * workers only from same-origin URLs. So a cross-origin worker starts from a same-origin blob
 * whose one line imports the real script: the import is an ordinary cross-origin module fetch,
 * which needs the serving origin to send Access-Control-Allow-Origin. Relative imports inside
 * the worker then resolve against the real script's URL, so its own workers come from there too.
 */
export function spawnModuleWorker(url: string | URL, name: string): Worker {
  const absolute = new URL(url, import.meta.url);
  if (sameOrigin(absolute)) return new Worker(absolute, { type: 'module', name });
  const source = `import ${JSON.stringify(absolute.href)};\n`;
  const blobUrl = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  try {
    return new Worker(blobUrl, { type: 'module', name });
  } finally {
    // The worker has its own reference to the script once constructed; revoke to free the blob.
    setTimeout(() => URL.revokeObjectURL(blobUrl), 30_000);
  }
}

/** True when `url` shares this context's origin (a blob worker's origin is its creator's). */
function sameOrigin(url: URL): boolean {
  return url.origin === globalThis.location.origin;
}

/**
 * A pool worker spoken to over Comlink: started as above, and `onCrash` called if it dies or
 * never loads (a worker that fails to load never answers Comlink, so its call must be failed
 * from outside).
 */
export function spawnRemote<Api>(url: string | URL, name: string, what: string, onCrash: (err: Error) => void): { worker: Worker; remote: Remote<Api> } {
  const worker = spawnModuleWorker(url, name);
  worker.addEventListener('error', (e) => onCrash(new Error(`${what} failed: ${(e as ErrorEvent).message || 'could not start'}`)));
  return { worker, remote: wrap<Api>(worker) };
}
