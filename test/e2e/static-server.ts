import { readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
};

export interface ServedRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export interface StaticServer {
  readonly url: string;
  /** Every request, in order: tests check which files another origin fetched. */
  readonly requests: ServedRequest[];
  close(): Promise<void>;
}

/**
 * Serves files (from `dir`, or `pages` by path) on a loopback host, optionally with the CORS
 * header a CDN hosting tabgrid.js must send. Enough to stand in for another origin in tests.
 */
export async function serveStatic(options: {
  host: '127.0.0.1' | 'localhost';
  dir?: string;
  pages?: Record<string, string>;
  cors?: boolean;
}): Promise<StaticServer> {
  const requests: ServedRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ path, headers: req.headers });
    if (options.cors) res.setHeader('Access-Control-Allow-Origin', '*');
    const page = options.pages?.[path];
    try {
      const body = page ?? (options.dir ? await readFile(join(options.dir, normalize(path).replace(/^(\.\.[/\\])+/, ''))) : undefined);
      if (body === undefined) throw new Error('not found');
      res.writeHead(200, { 'Content-Type': page !== undefined ? TYPES['.html']! : (TYPES[extname(path)] ?? 'application/octet-stream') });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, options.host === 'localhost' ? '127.0.0.1' : options.host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    requests,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
