import { describe, expect, it } from 'vitest';
import { ErrorCode, TabgridError } from '../../src/errors';
import {
  MAX_CHALLENGE,
  MAX_MESSAGE_CHARS,
  MAX_ROWS_HEX,
  MAX_UNIT_MESSAGES,
  PROTOCOL_VERSION,
  encodeMessage,
  type HostMessage,
  type VolunteerMessage,
} from '../../src/protocol';
import { parseHostMessage, parseVolunteerMessage } from '../../src/validate';
import { seededRandom } from '../../src/work/seeded';

const D = 'ab'.repeat(32);
const KEY = '04' + 'cd'.repeat(64);
const SIG = 'ef'.repeat(64);
const MAC = '5a'.repeat(32);
const ID = '0123456789abcdef'.repeat(2);
const unit = { kernel: 'sha256-batch', jobId: 'job', unitId: 'job/0', seed: 123, count: 4096, messageLength: 64 } as const;

const volunteerMessages: VolunteerMessage[] = [
  { type: 'hello', id: 1, protocol: PROTOCOL_VERSION, client: 'test', publicKey: KEY },
  { type: 'hello', id: 2 ** 53 - 1, protocol: PROTOCOL_VERSION, client: 'test', publicKey: KEY, relay: true },
  { type: 'key-proof', signature: SIG, session: KEY },
  { type: 'request-unit', id: 0, holding: [] },
  { type: 'request-unit', id: 7, holding: ['job/1', 'job/2'] },
  { type: 'heartbeat', unitId: 'job/0', done: 100, total: 4096 },
  { type: 'result', unitId: 'job/0', root: D, backend: 'webgpu', mac: MAC },
  { type: 'result', unitId: 'pow/0', root: D, backend: 'cpu', mac: MAC, shares: [0, 17, 4_294_967_295] },
  { type: 'rows', unitId: 'm/0', first: 3, data: '00ff00ff'.repeat(64) },
  // The last digest of the largest hashing unit: a row is a leaf, not only a row of C.
  { type: 'rows', unitId: 'h/0', first: MAX_UNIT_MESSAGES - 1, data: 'ab'.repeat(32) },
  {
    type: 'openings',
    unitId: 'job/0',
    openings: [
      { index: 3, leaf: D, path: [D, D] },
      { index: 0, leaf: D, path: [] },
    ],
  },
];
const hostMessages: HostMessage[] = [
  { type: 'welcome', id: 1, protocol: PROTOCOL_VERSION, hostId: 'h', leaseMs: 60_000, heartbeatMs: 15_000, publicKey: KEY, nonce: D, session: KEY },
  { type: 'unit', id: 3, unit, leaseMs: 60_000 },
  { type: 'unit', id: 3, unit: { kernel: 'matmul-modp', jobId: 'm', unitId: 'm/0', seed: 1, m: 64, n: 32, k: 16, p: 65521 }, leaseMs: 60_000 },
  { type: 'unit', id: 3, unit: { kernel: 'matmul-f32', jobId: 'm', unitId: 'm/1', seed: 1, m: 1, n: 1024, k: 1024, p: 0 }, leaseMs: 60_000 },
  {
    type: 'unit',
    id: 4,
    unit: {
      kernel: 'sha256d-pow',
      jobId: 'p',
      unitId: 'p/0',
      header: '0f'.repeat(80),
      nonceStart: 4096,
      nonceCount: 4096,
      target: '00'.repeat(31) + '0f',
      shareTarget: 'ff'.repeat(31) + '03',
    },
    leaseMs: 60_000,
  },
  { type: 'lease', unitId: 'job/0', leaseMs: 60_000 },
  { type: 'lease-lost', unitId: 'job/0', reason: 'lapsed' },
  { type: 'no-work', id: 5, retryMs: 2000, jobDone: false },
  { type: 'redirect', id: 1, relays: ['relay-a', 'relay-b'], retryMs: 2000, publicKey: `04${'ab'.repeat(64)}` },
  { type: 'challenge', unitId: 'job/0', indices: [1, 5, 4095] },
  { type: 'send-rows', unitId: 'm/0' },
  { type: 'verdict', unitId: 'job/0', verdict: 'accepted', reason: 'verified', credit: 8192, totalCredit: 16384 },
  {
    type: 'verdict',
    unitId: 'job/0',
    verdict: 'accepted',
    reason: 'verified',
    credit: 8192,
    totalCredit: 16384,
    receipt: { receiptId: D, jobId: 'job', unitId: 'job/0', volunteer: ID, credit: 8192, root: D, issuedAt: 1_700_000_000_000, signature: SIG },
  },
  { type: 'error', code: 'bad-message', message: 'no' },
  { type: 'error', code: 'protocol-version', message: 'host speaks protocol 6, volunteer 5', id: 1 },
  { type: 'error', code: 'unknown-unit', message: 'not yours', unitId: 'job/3' },
];

function badMessage(fn: () => unknown): TabgridError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TabgridError);
    expect((err as TabgridError).code).toBe(ErrorCode.BadMessage);
    return err as TabgridError;
  }
  throw new Error('expected a bad-message error');
}

describe('protocol: encode and parse', () => {
  it.each(volunteerMessages)('round-trips volunteer message $type', (m) => {
    expect(parseVolunteerMessage(encodeMessage(m))).toEqual(m);
  });
  it.each(hostMessages)('round-trips host message $type', (m) => {
    expect(parseHostMessage(encodeMessage(m))).toEqual(m);
  });

  it('refuses proof-of-work shares that are unsorted, repeated, fractional or too many, and bad pow units', () => {
    const result = (shares: unknown) => JSON.stringify({ type: 'result', unitId: 'p/0', root: D, backend: 'cpu', mac: MAC, shares });
    expect(badMessage(() => parseVolunteerMessage(result([2, 1]))).message).toMatch(/strictly ascending/);
    expect(badMessage(() => parseVolunteerMessage(result([1, 1]))).message).toMatch(/strictly ascending/);
    badMessage(() => parseVolunteerMessage(result([1.5])));
    badMessage(() => parseVolunteerMessage(result([2 ** 32])));
    badMessage(() => parseVolunteerMessage(result(Array.from({ length: 4097 }, (_, i) => i))));
    const pow = {
      kernel: 'sha256d-pow',
      jobId: 'p',
      unitId: 'p/0',
      header: '0f'.repeat(80),
      nonceStart: 0,
      nonceCount: 16,
      target: '00'.repeat(32),
      shareTarget: 'ff'.repeat(32),
    };
    const unitText = (over: object) => JSON.stringify({ type: 'unit', id: 3, unit: { ...pow, ...over }, leaseMs: 60_000 });
    expect(() => parseHostMessage(unitText({}))).not.toThrow();
    badMessage(() => parseHostMessage(unitText({ header: '0f'.repeat(79) })));
    badMessage(() => parseHostMessage(unitText({ target: 'FF'.repeat(32) })));
    expect(badMessage(() => parseHostMessage(unitText({ nonceStart: 2 ** 32 - 8 }))).message).toMatch(/nonceCount/);
    badMessage(() => parseHostMessage(unitText({ seed: 1 })));
  });

  it('keeps host and volunteer vocabularies apart', () => {
    for (const m of hostMessages) badMessage(() => parseVolunteerMessage(encodeMessage(m)));
    for (const m of volunteerMessages) badMessage(() => parseHostMessage(encodeMessage(m)));
  });
});

describe('protocol: the validator refuses', () => {
  const cases: [string, unknown][] = [
    ['a non-string frame', { type: 'request-unit' }],
    ['binary', new Uint8Array([1, 2])],
    ['invalid JSON', '{"type":'],
    ['a JSON array', '[1,2]'],
    ['JSON null', 'null'],
    ['no type', '{"protocol":1}'],
    ['an unknown type', '{"type":"give-me-credit"}'],
    ['an extra field', '{"type":"request-unit","holding":[],"admin":true}'],
    ['a request without its holding list', '{"type":"request-unit"}'],
    ['too long a holding list', encodeMessage({ type: 'request-unit', id: 1, holding: Array.from({ length: 17 }, (_, i) => `u${i}`) })],
    ['a hello without a public key', `{"type":"hello","protocol":${PROTOCOL_VERSION},"client":"x"}`],
    ['a hello with a short public key', `{"type":"hello","protocol":${PROTOCOL_VERSION},"client":"x","publicKey":"${KEY.slice(2)}"}`],
    ['a hello with a compressed public key', `{"type":"hello","protocol":${PROTOCOL_VERSION},"client":"x","publicKey":"02${KEY.slice(2)}"}`],
    [
      'a hello with a volunteer id (protocol 3)',
      `{"type":"hello","protocol":${PROTOCOL_VERSION},"client":"x","publicKey":"${KEY}","volunteerId":"volunteer-0001"}`,
    ],
    ['a key-proof with a short signature', `{"type":"key-proof","signature":"${SIG.slice(2)}","session":"${KEY}"}`],
    ['a key-proof without its session key', `{"type":"key-proof","signature":"${SIG}"}`],
    ['a key-proof whose session key is compressed', `{"type":"key-proof","signature":"${SIG}","session":"02${'cd'.repeat(32)}"}`],
    ['a result without its MAC', `{"type":"result","unitId":"u","root":"${D}","backend":"cpu"}`],
    ['a result with an upper-case MAC', `{"type":"result","unitId":"u","root":"${D}","backend":"cpu","mac":"${MAC.toUpperCase()}"}`],
    ['a result with a short MAC', `{"type":"result","unitId":"u","root":"${D}","backend":"cpu","mac":"${MAC.slice(2)}"}`],
    ['a result with a signature instead of a MAC (protocol 8)', `{"type":"result","unitId":"u","root":"${D}","backend":"cpu","signature":"${SIG}"}`],
    ['rows of a partial word', '{"type":"rows","unitId":"u","first":0,"data":"00ff00"}'],
    ['rows with no data', '{"type":"rows","unitId":"u","first":0,"data":""}'],
    ['rows past the largest unit', `{"type":"rows","unitId":"u","first":${MAX_UNIT_MESSAGES},"data":"00ff00ff"}`],
    ['rows of too much data', `{"type":"rows","unitId":"u","first":0,"data":"${'00'.repeat(MAX_ROWS_HEX / 2 + 4)}"}`],
    ['a heartbeat past its total', '{"type":"heartbeat","unitId":"u","done":11,"total":10}'],
    ['a heartbeat with no total', '{"type":"heartbeat","unitId":"u","done":0,"total":0}'],
    ['a wrong protocol type', `{"type":"hello","protocol":"2","client":"x","publicKey":"${KEY}"}`],
    ['an empty client', `{"type":"hello","protocol":${PROTOCOL_VERSION},"client":"","publicKey":"${KEY}"}`],
    ['a short root', `{"type":"result","unitId":"u","root":"${'ab'.repeat(31)}","backend":"webgpu","mac":"${MAC}"}`],
    ['an upper-case root', `{"type":"result","unitId":"u","root":"${'AB'.repeat(32)}","backend":"webgpu","mac":"${MAC}"}`],
    ['an unknown backend', `{"type":"result","unitId":"u","root":"${D}","backend":"quantum","mac":"${MAC}"}`],
    ['a huge unit id', `{"type":"result","unitId":"${'u'.repeat(200)}","root":"${D}","backend":"cpu","mac":"${MAC}"}`],
    [
      'too many openings',
      encodeMessage({ type: 'openings', unitId: 'u', openings: Array.from({ length: MAX_CHALLENGE + 1 }, (_, i) => ({ index: i, leaf: D, path: [] })) }),
    ],
    ['a negative opening index', `{"type":"openings","unitId":"u","openings":[{"index":-1,"leaf":"${D}","path":[]}]}`],
    ['a fractional opening index', `{"type":"openings","unitId":"u","openings":[{"index":1.5,"leaf":"${D}","path":[]}]}`],
    ['an opening with an extra field', `{"type":"openings","unitId":"u","openings":[{"index":1,"leaf":"${D}","path":[],"x":1}]}`],
    ['a path that is not a list', `{"type":"openings","unitId":"u","openings":[{"index":1,"leaf":"${D}","path":"${D}"}]}`],
    ['an oversized message', `{"type":"hello","protocol":${PROTOCOL_VERSION},"client":"${'x'.repeat(MAX_MESSAGE_CHARS)}"}`],
  ];
  it.each(cases)('%s', (_, raw) => {
    badMessage(() => parseVolunteerMessage(raw));
  });

  it("answers a hello of another protocol version with the versions, whatever that version's shape", () => {
    // A protocol-5 hello has no id: the volunteer must hear which version the host speaks, not which field it lacks.
    const old = `{"type":"hello","protocol":5,"client":"x","publicKey":"${KEY}"}`;
    expect(() => parseVolunteerMessage(old)).toThrow(
      expect.objectContaining({ code: 'protocol-version', message: `host speaks protocol ${PROTOCOL_VERSION}, volunteer 5` }),
    );
  });

  it('refuses host messages with bad units, indices or verdicts', () => {
    const bad = [
      { type: 'unit', id: 3, unit: { ...unit, kernel: 'rm -rf' } },
      { type: 'unit', id: 3, unit: { ...unit, count: 0 } },
      { type: 'unit', id: 3, unit: { ...unit, seed: -1 } },
      { type: 'unit', id: 3, unit: { ...unit, messageLength: 1e9 } },
      { type: 'unit', id: 3, unit: { ...unit, code: 'alert(1)' } },
      { type: 'challenge', unitId: 'u', indices: [1, 'x'] },
      { type: 'verdict', unitId: 'u', verdict: 'maybe', reason: '', credit: 0, totalCredit: 0 },
      { type: 'verdict', unitId: 'u', verdict: 'accepted', reason: '', credit: -1, totalCredit: 0 },
      { type: 'no-work', id: 1, retryMs: 10, jobDone: 'yes' },
      { type: 'unit', id: 3, unit },
      { type: 'unit', id: 3, unit: { kernel: 'matmul-modp', jobId: 'm', unitId: 'm/0', seed: 1, m: 64, n: 32, k: 16, p: 0 }, leaseMs: 60_000 },
      { type: 'unit', id: 3, unit: { kernel: 'matmul-f32', jobId: 'm', unitId: 'm/0', seed: 1, m: 64, n: 32, k: 16, p: 7 }, leaseMs: 60_000 },
      { type: 'unit', id: 3, unit: { kernel: 'matmul-f32', jobId: 'm', unitId: 'm/0', seed: 1, m: 64, n: 2048, k: 16, p: 0 }, leaseMs: 60_000 },
      { type: 'welcome', id: 1, protocol: 2, hostId: 'h', leaseMs: 10, heartbeatMs: 1000, publicKey: KEY, nonce: D, session: KEY },
      { type: 'welcome', id: 1, protocol: PROTOCOL_VERSION, hostId: 'h', leaseMs: 60_000, heartbeatMs: 1000, nonce: D, session: KEY },
      { type: 'welcome', id: 1, protocol: PROTOCOL_VERSION, hostId: 'h', leaseMs: 60_000, heartbeatMs: 1000, publicKey: KEY, nonce: 'ab', session: KEY },
      // Protocol 8's welcome: no half of a result key.
      { type: 'welcome', id: 1, protocol: PROTOCOL_VERSION, hostId: 'h', leaseMs: 60_000, heartbeatMs: 1000, publicKey: KEY, nonce: D },
      { type: 'verdict', unitId: 'u', verdict: 'accepted', reason: '', credit: 1, totalCredit: 1, receipt: { receiptId: 'x' } },
      {
        type: 'verdict',
        unitId: 'u',
        verdict: 'accepted',
        reason: '',
        credit: 1,
        totalCredit: 1,
        receipt: { receiptId: D, jobId: 'j', unitId: 'u', volunteer: ID, credit: 1, root: D, issuedAt: 1 },
      },
      { type: 'send-rows', unitId: 'u', first: 0 },
    ];
    for (const m of bad) badMessage(() => parseHostMessage(JSON.stringify(m)));
  });
});

describe('protocol: fuzzing', () => {
  const valid = [...volunteerMessages, ...hostMessages].map(encodeMessage);

  it('throws only bad-message on truncated, mutated and random input', () => {
    const random = seededRandom(42);
    const inputs: string[] = [];
    for (const text of valid) {
      for (let cut = 0; cut < text.length; cut++) inputs.push(text.slice(0, cut));
      for (let k = 0; k < 200; k++) {
        const chars = [...text];
        const at = Math.floor(random() * chars.length);
        chars[at] = String.fromCharCode(Math.floor(random() * 128));
        inputs.push(chars.join(''));
      }
    }
    for (let k = 0; k < 500; k++) {
      inputs.push(String.fromCharCode(...Array.from({ length: Math.floor(random() * 80) }, () => Math.floor(random() * 0x3000))));
    }
    let accepted = 0;
    for (const input of inputs) {
      for (const parse of [parseVolunteerMessage, parseHostMessage]) {
        try {
          const m = parse(input);
          // Whatever passes must be a well-formed message that re-encodes to an equal one.
          expect(parse(encodeMessage(m))).toEqual(m);
          accepted++;
        } catch (err) {
          if (!(err instanceof TabgridError) || err.code !== ErrorCode.BadMessage) throw err;
        }
      }
    }
    // Some mutations are harmless (a changed letter inside a string); most are not.
    expect(accepted).toBeLessThan(inputs.length);
  });
});
