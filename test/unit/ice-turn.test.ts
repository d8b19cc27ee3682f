import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { iceFromFlags, withMintedTurn } from '../../scripts/ice-flags';
import { HostCore } from '../../src/host/host-core';
import { hostIce } from '../../src/host/node-host';
import type { JobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { mintTurnGrant, turnCredential } from '../../src/host/turn-credentials';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { ConnectFailure, describeConnectFailure } from '../../src/net/connect-failure';
import { IceRoute, icePathOf } from '../../src/net/ice-route';
import { encodeMessage, PROTOCOL_VERSION } from '../../src/protocol';
import { parseIceConfig, withGrant, type IceGrant } from '../../src/protocol/ice';
import { parseHostMessage, parseVolunteerMessage } from '../../src/validate';
import { VolunteerSession } from '../../src/volunteer/session';
import { ComputeEngine } from '../../src/worker/engine';
import { memoryConnector } from '../helpers/memory-host';
import { newIdentity } from '../helpers/signing';
import { until } from '../helpers/until';

const turnUrl = 'turn:turn.example.org:3478?transport=udp';

describe('ICE configuration (protocol/ice.ts)', () => {
  it('takes a configuration, or a bare list of servers, from JSON', () => {
    const ice = parseIceConfig(
      JSON.stringify({
        iceServers: [{ urls: 'stun:stun.example.org:3478' }, { urls: [turnUrl], username: 'u', credential: 'c' }],
        iceTransportPolicy: 'relay',
      }),
      'x',
    );
    expect(ice.iceTransportPolicy).toBe('relay');
    expect(ice.iceServers).toHaveLength(2);
    expect(parseIceConfig([{ urls: 'stun:a.example:3478' }], 'x')).toEqual({ iceServers: [{ urls: 'stun:a.example:3478' }] });
  });

  it('refuses with the source, the field and the problem named', () => {
    expect(() => parseIceConfig('{', '--ice bad.json')).toThrow(/^--ice bad\.json: not JSON/);
    expect(() => parseIceConfig({ iceServers: [{ urls: 'http://x' }] }, 'the ice attribute')).toThrow(
      /^the ice attribute: iceServers\[0\]\.urls must be a stun:, turn: or turns: URL/,
    );
    expect(() => parseIceConfig({ iceServers: [{ urls: turnUrl }] }, 's')).toThrow(/a TURN server needs a username and a credential/);
    expect(() => parseIceConfig({ iceServers: [], iceTransportPolicy: 'none' }, 's')).toThrow(/iceTransportPolicy must be one of all, relay/);
    expect(() => parseIceConfig({ iceServers: [], extra: 1 }, 's')).toThrow(/unexpected field 'extra'/);
  });

  it("a host's grant replaces the page's entry for the same TURN URLs and keeps the rest", () => {
    const page = parseIceConfig(
      { iceServers: [{ urls: 'stun:s.example:3478' }, { urls: turnUrl, username: 'old', credential: 'old' }], iceTransportPolicy: 'relay' },
      'p',
    );
    const grant: IceGrant = { iceServers: [{ urls: [turnUrl], username: 'new', credential: 'new' }], expiresAt: 1 };
    expect(withGrant(page, grant)).toEqual({
      iceServers: [{ urls: 'stun:s.example:3478' }, { urls: [turnUrl], username: 'new', credential: 'new' }],
      iceTransportPolicy: 'relay',
    });
    expect(withGrant(page, undefined)).toBe(page);
  });

  it('the welcome may carry a grant; get-ice and ice travel as schema-checked messages', () => {
    const grant = mintTurnGrant({ secret: 's', urls: [turnUrl] }, 'v');
    const welcome = {
      type: 'welcome',
      id: 1,
      protocol: PROTOCOL_VERSION,
      hostId: 'h',
      leaseMs: 60000,
      heartbeatMs: 15000,
      publicKey: '04' + 'a'.repeat(128),
      nonce: 'b'.repeat(64),
      session: '04' + 'c'.repeat(128),
      ice: grant,
    };
    expect(parseHostMessage(JSON.stringify(welcome))).toMatchObject({ ice: grant });
    expect(() => parseHostMessage(JSON.stringify({ ...welcome, ice: { iceServers: [{ urls: 'ftp://x' }], expiresAt: 1 } }))).toThrow(
      /welcome\.ice\.iceServers\[0\]\.urls/,
    );
    expect(parseVolunteerMessage(JSON.stringify({ type: 'get-ice', id: 3 }))).toEqual({ type: 'get-ice', id: 3 });
    expect(parseHostMessage(JSON.stringify({ type: 'ice', id: 3, ...grant }))).toMatchObject({ type: 'ice', expiresAt: grant.expiresAt });
  });
});

describe('TURN REST credentials (host/turn-credentials.ts)', () => {
  it("match coturn's use-auth-secret scheme: base64(HMAC-SHA1(secret, '<expiry>:<id>'))", () => {
    // printf '%s' '1700000000:volunteer' | openssl dgst -sha1 -hmac north-wind -binary | base64
    expect(turnCredential('north-wind', '1700000000:volunteer')).toBe('YorvkI5AyawUUXr2vKDKeHL6L7I=');
    const grant = mintTurnGrant({ secret: 'north-wind', urls: [turnUrl], ttlS: 600 }, 'a/b c', 1_700_000_000_000);
    expect(grant.expiresAt).toBe(1_700_000_600_000);
    expect(grant.iceServers).toEqual([{ urls: [turnUrl], username: '1700000600:a_b_c', credential: turnCredential('north-wind', '1700000600:a_b_c') }]);
  });

  it("the host's own configuration mints afresh at three quarters of the credentials' life", () => {
    const ice = hostIce('h', { iceServers: [], iceTransportPolicy: 'relay' }, { secret: 's', urls: [turnUrl], ttlS: 10 });
    if (typeof ice !== 'function') throw new Error('expected a minting configuration');
    const first = ice();
    expect(first.iceTransportPolicy).toBe('relay');
    expect(first.iceServers[0]?.username).toMatch(/^\d+:h$/);
    expect(ice()).toEqual(first); // cached until renewal is due
  });
});

describe('ICE flags (scripts/ice-flags.ts)', () => {
  it('builds one configuration from --ice, --stun, --turn with credentials, --relay-only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabgrid-ice-'));
    try {
      const file = join(dir, 'ice.json');
      writeFileSync(file, JSON.stringify([{ urls: 'stun:from-file.example:3478' }]));
      const setup = iceFromFlags(
        { ice: file, stun: ['stun:s.example:3478'], turn: [turnUrl], 'turn-user': 'u', 'turn-credential': 'c', 'relay-only': true },
        {},
      );
      expect(setup.ice).toEqual({
        iceServers: [{ urls: 'stun:from-file.example:3478' }, { urls: 'stun:s.example:3478' }, { urls: [turnUrl], username: 'u', credential: 'c' }],
        iceTransportPolicy: 'relay',
      });
      writeFileSync(file, '{"iceServers": [{"urls": "stun:x"}], "bogus": true}');
      expect(() => iceFromFlags({ ice: file }, {})).toThrow(`--ice ${file}: unexpected field 'bogus'`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a secret (flag or TABGRID_TURN_SECRET) mints; mistakes are named', () => {
    const setup = iceFromFlags({ turn: [turnUrl], 'relay-only': true }, { TABGRID_TURN_SECRET: 'sh' });
    expect(setup.turn).toEqual({ secret: 'sh', urls: [turnUrl] });
    expect(withMintedTurn(setup, 'v1').iceServers[0]).toMatchObject({ urls: [turnUrl], username: expect.stringMatching(/^\d+:v1$/) as string });
    expect(() => iceFromFlags({ turn: [turnUrl] }, {})).toThrow(/--turn needs credentials/);
    expect(() => iceFromFlags({ 'turn-user': 'u' }, {})).toThrow('--turn-user and --turn-credential go together');
    expect(() => iceFromFlags({ 'relay-only': true }, {})).toThrow(/--relay-only needs a TURN server/);
    expect(() => iceFromFlags({ stun: ['http://x'] }, {})).toThrow(/the --stun\/--turn flags: iceServers\[0\]\.urls/);
    expect(() => iceFromFlags({ turn: [turnUrl], 'turn-secret': 's', 'turn-ttl': '1' }, {})).toThrow(/--turn-ttl 1 must be/);
  });
});

describe('connection paths and failures', () => {
  it("reads the selected pair's candidate types from getStats", async () => {
    const stats = (entries: object[]) => ({
      getStats: () => Promise.resolve(new Map(entries.map((e) => [(e as { id: string }).id, e])) as unknown as RTCStatsReport),
    });
    const relayed = stats([
      { id: 't', type: 'transport', selectedCandidatePairId: 'p' },
      { id: 'p', type: 'candidate-pair', localCandidateId: 'l', remoteCandidateId: 'r' },
      { id: 'q', type: 'candidate-pair', localCandidateId: 'l2', remoteCandidateId: 'r' },
      { id: 'l', type: 'local-candidate', candidateType: 'relay' },
      { id: 'l2', type: 'local-candidate', candidateType: 'host' },
      { id: 'r', type: 'remote-candidate', candidateType: 'prflx' },
    ]);
    expect(await icePathOf(relayed)).toEqual({ route: IceRoute.Turn, local: 'relay', remote: 'prflx' });
    const direct = stats([
      { id: 'p', type: 'candidate-pair', localCandidateId: 'l', remoteCandidateId: 'r', nominated: true, state: 'succeeded' },
      { id: 'l', type: 'local-candidate', candidateType: 'host' },
      { id: 'r', type: 'remote-candidate', candidateType: 'srflx' },
    ]);
    expect(await icePathOf(direct)).toEqual({ route: IceRoute.Direct, local: 'host', remote: 'srflx' });
    expect(await icePathOf(stats([]))).toBeUndefined();
  });

  it('says each failure in plain words', () => {
    const where = { signalUrl: 'wss://signal.example.org/', hostId: 'lab-host' };
    expect(describeConnectFailure(ConnectFailure.NoSignaling, where)).toMatch(/Cannot reach the signaling server \(wss:\/\/signal\.example\.org\/\)/);
    expect(describeConnectFailure(ConnectFailure.HostUnreachable, where)).toMatch(/"lab-host" is not online/);
    expect(describeConnectFailure(ConnectFailure.IceFailed, where)).toMatch(/could not open a connection/);
    expect(describeConnectFailure(ConnectFailure.TurnRefused, where)).toMatch(/TURN relay refused this page’s credentials \(expired or wrong\)/);
  });
});

describe('TURN credentials between host and volunteer (no network)', () => {
  const job: JobSpec = { id: 'ice', kernel: 'sha256-batch', units: 2, messagesPerUnit: 64, messageLength: 64, seed: 3, samples: 8 };

  it('the welcome hands a grant, the volunteer asks for a fresh one before it expires, and a host minting none answers get-ice with an error', async () => {
    let minted = 0;
    const core = await HostCore.open(new MemoryHostStore(), [job], {
      hostId: 'h',
      hash: await createCpuSha256(),
      identity: await newIdentity(),
      // Short-lived, so the refresh (at three quarters of the life) comes within the test.
      iceGrant: (volunteer) => ({ iceServers: [{ urls: [turnUrl], username: `${++minted}:${volunteer}`, credential: 'c' }], expiresAt: Date.now() + 400 }),
    });
    const net = memoryConnector(core);
    const identity = await newIdentity();
    const session = new VolunteerSession({
      signalUrl: 'ws://unused/',
      hostId: 'h',
      computer: new ComputeEngine(),
      connect: net.connect,
      identity,
      ice: { iceServers: [{ urls: 'stun:s.example:3478' }], iceTransportPolicy: 'relay' },
    });
    session.start();
    await until(() => session.connected);
    const host = (session as unknown as { host: { ice: { iceServers: { username?: string }[] } } }).host;
    await until(() => host.ice.iceServers.some((s) => s.username === `1:${identity.id}`));
    expect(host.ice.iceServers[0]).toEqual({ urls: 'stun:s.example:3478' });
    await until(() => host.ice.iceServers.some((s) => s.username === `2:${identity.id}`), 3000);
    session.close();

    const plain = await HostCore.open(new MemoryHostStore(), [job], { hostId: 'p', hash: await createCpuSha256(), identity: await newIdentity() });
    const replies = await plain.handle('x', encodeMessage({ type: 'get-ice', id: 1 }));
    expect(replies[0]).toMatchObject({ type: 'error' });
  });
});
