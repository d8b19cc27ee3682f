/**
 * `npm run signal -- [--host ADDR] [--port N] [--path /peerjs/] [--tls-cert FILE --tls-key FILE]
 * [--max-per-ip N] [--max-peers N] [--trust-proxy]`: the PeerJS signaling server on its own, for
 * a deployment (docs/DEPLOY.md). Defaults: 127.0.0.1:9000, path '/', plain ws://; --host 0.0.0.0
 * takes connections from the network. With --tls-cert/--tls-key it serves wss:// itself; behind
 * a TLS reverse proxy, leave them out and pass --trust-proxy so the per-IP cap counts clients,
 * not the proxy. `GET /health` answers JSON (peers, sockets, IPs, refusals). With ICE flags
 * (`--stun`, `--turn … --turn-secret`, `--ice`), `GET /ice` answers a page's ICE servers with TURN
 * credentials minted per request (ice-endpoint.ts; `--ice-origin`, `--ice-per-minute`).
 * SIGINT/SIGTERM drop every peer and exit 0.
 */
import { readFileSync } from 'node:fs';
import { parseCommand, portFrom } from './args';
import { SIGNAL_COMMAND } from './commands';
import { iceFromFlags } from './ice-flags';
import { DEFAULT_MAX_PER_IP, startSignalServer } from './signal-server';

const cli = parseCommand(SIGNAL_COMMAND);
const { values } = cli;

function whole(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) cli.fail(`--${name} ${raw} must be a whole number ≥ 1`);
  return n;
}

function pem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    return cli.fail(`--${flag} ${path}: cannot read it (${(err as Error).message})`);
  }
}

if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) cli.fail('--tls-cert and --tls-key go together');
// ICE flags: GET /ice hands pages these servers, TURN credentials minted per request.
// TABGRID_TURN_SECRET, exported for every service of a deployment, is only read here with --turn.
const iceSetup = cli.check(() => iceFromFlags(values, values.turn ? process.env : {}));
// GET /ice answers anyone: a fixed TURN password there would be everyone's for good.
if (iceSetup.ice.iceServers.some((server) => server.username !== undefined || server.credential !== undefined))
  cli.fail(
    'GET /ice would hand a fixed TURN password to anyone who asks: give --turn-secret (credentials minted per request), not --turn-user/--turn-credential or credentials in --ice',
  );
const servesIce = iceSetup.ice.iceServers.length > 0 || iceSetup.turn !== undefined;
if (!servesIce && (values['ice-origin'] !== undefined || values['ice-per-minute'] !== undefined))
  cli.fail('--ice-origin and --ice-per-minute set up GET /ice, which needs ICE servers (--stun, --turn, --ice)');
for (const origin of values['ice-origin'] ?? [])
  if (!/^https?:\/\/[^/\s]+$/.test(origin)) cli.fail(`--ice-origin ${origin} must be an origin: scheme://host[:port], no path`);
const time = () => new Date().toISOString().slice(11, 19);
const signaling = await startSignalServer({
  port: cli.check(() => portFrom(values.port, '--port', 'TABGRID_SIGNAL_PORT', 9000)),
  host: values.host ?? process.env.TABGRID_SIGNAL_HOST ?? '127.0.0.1',
  path: values.path,
  ...(values['tls-cert'] ? { tls: { cert: pem('tls-cert', values['tls-cert']), key: pem('tls-key', values['tls-key']!) } } : {}),
  maxPerIp: whole('max-per-ip', values['max-per-ip']) ?? DEFAULT_MAX_PER_IP,
  ...(values['max-peers'] ? { maxPeers: whole('max-peers', values['max-peers']) } : {}),
  trustProxy: values['trust-proxy'],
  ...(servesIce
    ? {
        ice: {
          base: iceSetup.ice,
          ...(iceSetup.turn ? { turn: iceSetup.turn } : {}),
          ...(values['ice-origin'] ? { origins: values['ice-origin'] } : {}),
          ...(values['ice-per-minute'] !== undefined ? { perMinute: whole('ice-per-minute', values['ice-per-minute']) } : {}),
        },
      }
    : {}),
  log: (line) => console.log(`${time()} signal: ${line}`),
});
const health = signaling.url.replace(/^ws/, 'http').replace(/^(https?:\/\/[^/]+).*$/, '$1/health');
console.log(`signaling server on ${signaling.url} (bound to ${values.host ?? '127.0.0.1'}; health: ${health})`);
if (servesIce)
  console.log(
    `ICE servers for pages: ${health.replace(/\/health$/, '/ice')} (${iceSetup.turn ? `TURN credentials minted per request, ${iceSetup.turn.ttlS ?? 86_400} s` : 'no TURN credentials minted'}; origins: ${values['ice-origin']?.join(', ') ?? 'any'})`,
  );

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${time()} signal: stopping (${signaling.health().peers} peer(s) dropped)`);
  await signaling.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
