/**
 * The validator at the edge: every text a peer sends passes through `parse*Message` before
 * anything acts on it. It checks types, ranges, lengths and that no unexpected field rides
 * along, and throws TabgridError('bad-message') saying what is wrong.
 */
import {
  Backend,
  MAX_CHALLENGE,
  MAX_HOLDING,
  MAX_LEAF_HEX,
  MAX_MESSAGE_CHARS,
  MAX_RELAYS,
  MAX_ROWS_HEX,
  MAX_SHARES,
  NONCE_HEX,
  PUBLIC_KEY_HEX,
  SIGNATURE_HEX,
  MAX_UNIT_MESSAGES,
  Verdict,
  type HostMessage,
  type Opening,
  type Receipt,
  type VolunteerMessage,
} from './protocol';

import { parseUnit } from './kernels/units';
import { decodeObject, digest, fail, int, list, object, oneOf, only, str, text } from './validate-fields';

const leafHex = /^(?:[0-9a-f]{2})+$/;
function leaf(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length > MAX_LEAF_HEX || !leafHex.test(value)) fail(`${where} must be 1..${MAX_LEAF_HEX / 2} bytes of lower-case hex`);
  return value;
}

function opening(raw: unknown, i: number): Opening {
  const where = `openings[${i}]`;
  const o = object(raw, where);
  only(o, where, 'index', 'leaf', 'path');
  return {
    index: int(o.index, `${where}.index`, 0, MAX_UNIT_MESSAGES - 1),
    leaf: leaf(o.leaf, `${where}.leaf`),
    path: list(o.path, `${where}.path`, 32).map((p, j) => digest(p, `${where}.path[${j}]`)),
  };
}

/** identityOf(publicKey): 32 lower-case hex digits. */
const identityPattern = /^[0-9a-f]{32}$/;
function identity(value: unknown, where: string): string {
  if (typeof value !== 'string' || !identityPattern.test(value)) fail(`${where} must be a volunteer identity (32 lower-case hex digits)`);
  return value;
}

/** Lower-case hex of exactly `chars` characters (keys, signatures, nonces). */
function fixedHex(value: unknown, where: string, chars: number): string {
  if (typeof value !== 'string' || value.length !== chars || !leafHex.test(value)) fail(`${where} must be ${chars} lower-case hex digits`);
  return value;
}

/** A raw uncompressed P-256 point: 65 bytes starting 04 (whether it lies on the curve is left to verification). */
function publicKey(value: unknown, where: string): string {
  const key = fixedHex(value, where, PUBLIC_KEY_HEX);
  if (!key.startsWith('04')) fail(`${where} must be an uncompressed point (starting 04)`);
  return key;
}

function receipt(raw: unknown): Receipt {
  const r = object(raw, 'receipt');
  only(r, 'receipt', 'receiptId', 'jobId', 'unitId', 'volunteer', 'credit', 'root', 'issuedAt', 'signature');
  return {
    receiptId: digest(r.receiptId, 'receipt.receiptId'),
    jobId: str(r.jobId, 'receipt.jobId'),
    unitId: str(r.unitId, 'receipt.unitId'),
    volunteer: identity(r.volunteer, 'receipt.volunteer'),
    credit: int(r.credit, 'receipt.credit', 0, Number.MAX_SAFE_INTEGER),
    root: digest(r.root, 'receipt.root'),
    issuedAt: int(r.issuedAt, 'receipt.issuedAt', 0, Number.MAX_SAFE_INTEGER),
    signature: fixedHex(r.signature, 'receipt.signature', SIGNATURE_HEX),
  };
}

/** Nonces: ascending, distinct u32s (so a share cannot be counted twice). */
function shares(value: unknown): number[] {
  const out = list(value, 'result.shares', MAX_SHARES).map((v, i) => int(v, `result.shares[${i}]`, 0, 2 ** 32 - 1));
  for (let i = 1; i < out.length; i++) if (out[i]! <= out[i - 1]!) fail('result.shares must be strictly ascending');
  return out;
}

/** A unit: each kernel declares its own (kernels/units.ts). */
export { parseUnit };

/** What a host accepts from a volunteer. Throws TabgridError('bad-message'). */
export function parseVolunteerMessage(raw: unknown): VolunteerMessage {
  const m = decodeObject(raw);
  const t = m.type;
  switch (t) {
    case 'hello': {
      only(m, t, 'type', 'protocol', 'client', 'publicKey', 'relay');
      const hello = {
        type: t,
        protocol: int(m.protocol, 'hello.protocol', 0, 2 ** 31),
        client: str(m.client, 'hello.client'),
        publicKey: publicKey(m.publicKey, 'hello.publicKey'),
      };
      if (m.relay === undefined) return hello;
      if (typeof m.relay !== 'boolean') fail('hello.relay must be a boolean');
      return { ...hello, relay: m.relay };
    }
    case 'key-proof':
      only(m, t, 'type', 'signature');
      return { type: t, signature: fixedHex(m.signature, 'key-proof.signature', SIGNATURE_HEX) };
    case 'relay':
      only(m, t, 'type', 'child', 'text');
      return { type: t, child: str(m.child, 'relay.child', 64), text: text(m.text, 'relay.text', MAX_MESSAGE_CHARS) };
    case 'child-left':
      only(m, t, 'type', 'child');
      return { type: t, child: str(m.child, 'child-left.child', 64) };
    case 'request-unit':
      only(m, t, 'type', 'holding');
      return { type: t, holding: list(m.holding, 'request-unit.holding', MAX_HOLDING).map((u, i) => str(u, `request-unit.holding[${i}]`)) };
    case 'heartbeat': {
      only(m, t, 'type', 'unitId', 'done', 'total');
      const total = int(m.total, 'heartbeat.total', 1, 2 ** 32);
      return { type: t, unitId: str(m.unitId, 'heartbeat.unitId'), done: int(m.done, 'heartbeat.done', 0, total), total };
    }
    case 'result': {
      only(m, t, 'type', 'unitId', 'root', 'backend', 'signature', 'shares');
      const result = {
        type: t,
        unitId: str(m.unitId, 'result.unitId'),
        root: digest(m.root, 'result.root'),
        backend: oneOf(m.backend, 'result.backend', Backend),
        signature: fixedHex(m.signature, 'result.signature', SIGNATURE_HEX),
      };
      return m.shares === undefined ? result : { ...result, shares: shares(m.shares) };
    }
    case 'openings':
      only(m, t, 'type', 'unitId', 'openings');
      return { type: t, unitId: str(m.unitId, 'openings.unitId'), openings: list(m.openings, 'openings.openings', MAX_CHALLENGE).map(opening) };
    case 'rows': {
      only(m, t, 'type', 'unitId', 'first', 'data');
      // Whole rows are checked against the unit by the host; here only that it is words of hex.
      if (typeof m.data !== 'string' || m.data.length === 0 || m.data.length > MAX_ROWS_HEX || m.data.length % 8 !== 0 || !leafHex.test(m.data)) {
        fail(`rows.data must be 1..${MAX_ROWS_HEX / 8} words of lower-case hex`);
      }
      // A row is a leaf: a row of C (at most MAX_UNIT_MATRIX_DIM a unit), or a digest of a hashing unit (at most MAX_UNIT_MESSAGES).
      return { type: t, unitId: str(m.unitId, 'rows.unitId'), first: int(m.first, 'rows.first', 0, MAX_UNIT_MESSAGES - 1), data: m.data };
    }
    default:
      return fail(`unknown message type '${t.slice(0, 40)}'`);
  }
}

/** What a volunteer accepts from a host. Throws TabgridError('bad-message'). */
export function parseHostMessage(raw: unknown): HostMessage {
  const m = decodeObject(raw);
  const t = m.type;
  switch (t) {
    case 'welcome':
      only(m, t, 'type', 'protocol', 'hostId', 'leaseMs', 'heartbeatMs', 'publicKey', 'nonce');
      return {
        type: t,
        protocol: int(m.protocol, 'welcome.protocol', 0, 2 ** 31),
        hostId: str(m.hostId, 'welcome.hostId'),
        leaseMs: int(m.leaseMs, 'welcome.leaseMs', 1000, 86_400_000),
        heartbeatMs: int(m.heartbeatMs, 'welcome.heartbeatMs', 100, 86_400_000),
        publicKey: publicKey(m.publicKey, 'welcome.publicKey'),
        nonce: fixedHex(m.nonce, 'welcome.nonce', NONCE_HEX),
      };
    case 'unit':
      only(m, t, 'type', 'unit', 'leaseMs');
      return { type: t, unit: parseUnit(m.unit), leaseMs: int(m.leaseMs, 'unit.leaseMs', 1000, 86_400_000) };
    case 'lease':
      only(m, t, 'type', 'unitId', 'leaseMs');
      return { type: t, unitId: str(m.unitId, 'lease.unitId'), leaseMs: int(m.leaseMs, 'lease.leaseMs', 1000, 86_400_000) };
    case 'redirect':
      only(m, t, 'type', 'relays', 'retryMs');
      return {
        type: t,
        relays: list(m.relays, 'redirect.relays', MAX_RELAYS).map((r, i) => str(r, `redirect.relays[${i}]`)),
        retryMs: int(m.retryMs, 'redirect.retryMs', 0, 3_600_000),
      };
    case 'relayed':
      only(m, t, 'type', 'child', 'text');
      return { type: t, child: str(m.child, 'relayed.child', 64), text: text(m.text, 'relayed.text', MAX_MESSAGE_CHARS) };
    case 'lease-lost':
      only(m, t, 'type', 'unitId', 'reason');
      return { type: t, unitId: str(m.unitId, 'lease-lost.unitId'), reason: text(m.reason, 'lease-lost.reason', 512) };
    case 'no-work':
      only(m, t, 'type', 'retryMs', 'jobDone');
      if (typeof m.jobDone !== 'boolean') fail('no-work.jobDone must be a boolean');
      return { type: t, retryMs: int(m.retryMs, 'no-work.retryMs', 0, 3_600_000), jobDone: m.jobDone };
    case 'challenge':
      only(m, t, 'type', 'unitId', 'indices');
      return {
        type: t,
        unitId: str(m.unitId, 'challenge.unitId'),
        indices: list(m.indices, 'challenge.indices', MAX_CHALLENGE).map((v, i) => int(v, `challenge.indices[${i}]`, 0, MAX_UNIT_MESSAGES - 1)),
      };
    case 'send-rows':
      only(m, t, 'type', 'unitId');
      return { type: t, unitId: str(m.unitId, 'send-rows.unitId') };
    case 'verdict': {
      only(m, t, 'type', 'unitId', 'verdict', 'reason', 'credit', 'totalCredit', 'receipt');
      const v = {
        type: t,
        unitId: str(m.unitId, 'verdict.unitId'),
        verdict: oneOf(m.verdict, 'verdict.verdict', Verdict),
        reason: text(m.reason, 'verdict.reason', 512),
        credit: int(m.credit, 'verdict.credit', 0, Number.MAX_SAFE_INTEGER),
        totalCredit: int(m.totalCredit, 'verdict.totalCredit', 0, Number.MAX_SAFE_INTEGER),
      };
      return m.receipt === undefined ? v : { ...v, receipt: receipt(m.receipt) };
    }
    case 'error': {
      only(m, t, 'type', 'code', 'message', 'unitId');
      const e = { type: t, code: str(m.code, 'error.code', 64), message: text(m.message, 'error.message', 1024) };
      return m.unitId === undefined ? e : { ...e, unitId: str(m.unitId, 'error.unitId') };
    }
    default:
      return fail(`unknown message type '${t.slice(0, 40)}'`);
  }
}
