import '../node-webrtc';
import { createKeyPair, identityFromKeyPair } from '../../src/proof/identity';
import { VolunteerSession } from '../../src/volunteer/session';
import { CpuComputer } from './cpu-computer';
import type { UnitComputer } from '../../src/worker/client';
import { DEFAULT_UPLOAD_MBPS, MB, UploadShare } from '../../src/volunteer/upload-share';
import type { IceConfig } from '../../src/protocol/ice';

/**
 * Honest volunteers in Node: the real session over PeerJS with the CPU reference as computer.
 * Far lighter than pages, so a scaling run can reach counts where the host is the bottleneck.
 */
export class NodeVolunteers {
  readonly sessions: VolunteerSession[] = [];
  private readonly computers: CpuComputer[] = [];

  /**
   * One more volunteer, not started yet; with other host ids, it moves on to the next when its host cannot be reached.
   * `computer`: what computes its units instead of the CPU reference (`npm run volunteer -- --gpu dawn`: the engine on Dawn).
   */
  async add(signalUrl: string, hostId: string, ice?: IceConfig, otherHostIds: readonly string[] = [], computer?: UnitComputer): Promise<VolunteerSession> {
    const identity = await identityFromKeyPair(await createKeyPair());
    if (!computer) {
      const reference = new CpuComputer();
      this.computers.push(reference);
      computer = reference;
    }
    const session = new VolunteerSession({
      signalUrl,
      hostId,
      ...(otherHostIds.length > 0 ? { otherHostIds } : {}),
      computer,
      identity,
      client: 'tabgrid-farm-node',
      backoff: { baseMs: 200, maxMs: 3000 },
      // In the swarm as a page is, with a page's default share: Node volunteers serve pages and fetch from them.
      swarm: { share: new UploadShare(DEFAULT_UPLOAD_MBPS * MB) },
      ...(ice ? { ice } : {}),
    });
    this.sessions.push(session);
    return session;
  }

  startAll(): void {
    for (const s of this.sessions) s.start();
  }

  get unitsDone(): number {
    return this.sessions.reduce((n, s) => n + s.unitsDone, 0);
  }

  /** Input bytes the Node volunteers fetched from peers. */
  get peerInputBytes(): number {
    return this.sessions.reduce((n, s) => n + s.inputBytes.peer, 0);
  }

  get computeSeconds(): number {
    return this.computers.reduce((n, c) => n + c.computeMs, 0) / 1000;
  }

  close(): void {
    for (const s of this.sessions) s.close();
  }
}
