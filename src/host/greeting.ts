import { ErrorCode, TabgridError } from '../errors';
import { identityOf, type Identity } from '../proof/identity';
import { newNonce, verifyKeyProof } from '../proof/key-proof';
import type { SessionKeyPair } from '../proof/result-key';
import { PROTOCOL_VERSION, type HostMessage, type VolunteerMessage } from '../protocol';
import { Connections, type Connection } from './connections';
import type { Speaker } from './judge';
import type { HostTrust } from './trust-store';
import type { IceGrant } from '../protocol/ice';

type Hello = Extract<VolunteerMessage, { type: 'hello' }>;
type Redirect = Extract<HostMessage, { type: 'redirect' }>;
type KeyProof = Extract<VolunteerMessage, { type: 'key-proof' }>;

export interface GreetingOptions {
  readonly hostId: string;
  readonly identity: Identity;
  /** The host's half of every connection's result key (proof/result-key.ts). */
  readonly sessionKey: SessionKeyPair;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly trust: HostTrust;
  /** The redirect to send instead of a welcome when the host is at its connection cap (the greeting numbers it). */
  readonly redirect: (name: string) => Omit<Redirect, 'id'> | undefined;
  /** TURN credentials for the welcome (HostCoreOptions.iceGrant). */
  readonly iceGrant?: (volunteer: string) => IceGrant;
  readonly clock: () => number;
}

/**
 * Hellos one connection may say a minute. Each opens a key-proof, whose check costs the host an
 * ECDSA verification and an ECDH agreement (0.15 ms of node:crypto); an honest volunteer says
 * hello once a connection, and again only after a redirect or a protocol error.
 */
export const HELLOS_PER_MINUTE = 12;

/**
 * How a connection becomes a volunteer: `hello` names a public key and gets a `welcome` with
 * the host's key, a fresh nonce and the host's half of the result key; `key-proof` signs that
 * nonce and both halves (proof/key-proof.ts), and only then does the connection speak for the
 * key's identity, its results authenticated with the key both ends derived
 * (proof/result-key.ts). Once a key is proved, the connection speaks for that key for its life:
 * a hello naming another key is refused (one connection switching keys could otherwise hold
 * maxLeases units under each). A key banned from every job is turned away at hello.
 */
export class Greeting {
  constructor(private readonly options: GreetingOptions) {}

  /** The answer to hello (welcome or redirect), carrying the hello's id. */
  hello(name: string, session: Connection, message: Hello): HostMessage {
    const now = this.options.clock();
    if (!session.hellos || now - session.hellos.since >= 60_000) session.hellos = { since: now, count: 0 };
    if (++session.hellos.count > HELLOS_PER_MINUTE) {
      throw new TabgridError(ErrorCode.Busy, `too many hellos on this connection: at most ${HELLOS_PER_MINUTE} a minute`);
    }
    if (message.protocol !== PROTOCOL_VERSION) {
      throw new TabgridError(ErrorCode.ProtocolVersion, `host speaks protocol ${PROTOCOL_VERSION}, volunteer ${message.protocol}`);
    }
    if (this.options.trust.bannedEverywhere(identityOf(message.publicKey))) throw banned();
    if (session.key !== undefined && session.key !== message.publicKey) {
      throw new TabgridError(
        ErrorCode.BadMessage,
        'this connection already speaks for another key: one key a connection (open another connection for another key)',
      );
    }
    const redirect = this.options.redirect(name);
    if (redirect) return { ...redirect, id: message.id };
    const { hostId, identity, leaseMs, heartbeatMs } = this.options;
    const nonce = newNonce();
    // A second hello on a connection starts over: it speaks for nobody until its new proof.
    session.volunteerId = undefined;
    session.publicKey = undefined;
    session.resultKey = undefined;
    session.claimed = { publicKey: message.publicKey, nonce };
    session.relay = message.relay === true && !Connections.isRelayed(name);
    session.greeted = true;
    const ice = this.options.iceGrant?.(identityOf(message.publicKey));
    return {
      type: 'welcome',
      id: message.id,
      protocol: PROTOCOL_VERSION,
      hostId,
      leaseMs,
      heartbeatMs,
      publicKey: identity.publicKey,
      nonce,
      session: this.options.sessionKey.publicKey,
      ...(ice ? { ice } : {}),
    };
  }

  async prove(session: Connection, message: KeyProof): Promise<void> {
    const claimed = session.claimed;
    if (!claimed) throw new TabgridError(ErrorCode.BadMessage, `'key-proof' before 'hello'`);
    // One proof per nonce: a failed one needs a new hello.
    session.claimed = undefined;
    const { hostId, identity, sessionKey } = this.options;
    const fields = { hostId, hostPublicKey: identity.publicKey, nonce: claimed.nonce, hostSession: sessionKey.publicKey, session: message.session };
    if (!(await verifyKeyProof(claimed.publicKey, fields, message.signature))) {
      throw new TabgridError(ErrorCode.BadSignature, 'the key-proof does not verify for the key hello named');
    }
    // Signed, so the volunteer's half is its own; a half that is no point is refused here (BadSignature).
    session.resultKey = await sessionKey.agree(message.session, claimed.nonce);
    session.publicKey = claimed.publicKey;
    session.volunteerId = identityOf(claimed.publicKey);
    session.key = claimed.publicKey;
  }

  /** Who a greeted connection speaks for; throws for one that has not proved its key. */
  speaker(session: Connection, type: string): Speaker {
    if (!session.volunteerId || !session.publicKey || !session.resultKey)
      throw new TabgridError(ErrorCode.BadMessage, `'${type}' before 'hello' and 'key-proof'`);
    return { id: session.volunteerId, publicKey: session.publicKey, resultKey: session.resultKey };
  }
}

export function banned(): TabgridError {
  return new TabgridError(ErrorCode.Banned, 'this key is banned from every job on this host (too many invalid results)');
}
