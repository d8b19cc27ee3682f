import { Verdict, type HostMessage, type Receipt } from '../protocol';

type VerdictMessage = Extract<HostMessage, { type: 'verdict' }>;

/**
 * What a volunteer has earned from one host: units accepted, rejected and waiting for another
 * replica, credit, and the receipts that prove it. Receipts count once however often they
 * arrive (a duplicate verdict after a reconnect, or the store's copy after a reload).
 */
export class Tally {
  unitsDone = 0;
  unitsRejected = 0;
  credit = 0;
  readonly receipts: Receipt[] = [];
  /** Replicated units whose result is on file with the host, waiting for another key's replica. */
  readonly pendingReplicas = new Set<string>();

  /** Receipts kept from an earlier page. */
  restore(receipts: readonly Receipt[]): void {
    for (const receipt of receipts) {
      if (!this.add(receipt)) continue;
      this.unitsDone++;
      this.credit += receipt.credit;
    }
  }

  /** Counts a verdict; true when it newly counts a result of ours as accepted. */
  count(v: VerdictMessage): boolean {
    // A replica's verdict can arrive after later ones (it rides on the next reply), and credit only grows.
    this.credit = Math.max(this.credit, v.totalCredit);
    // A pending replica needs nothing more from us: the final verdict comes unprompted.
    if (v.verdict === Verdict.Pending) this.pendingReplicas.add(v.unitId);
    else this.pendingReplicas.delete(v.unitId);
    if (v.verdict === Verdict.Rejected) this.unitsRejected++;
    const counted = v.receipt !== undefined && this.add(v.receipt) && (v.verdict === Verdict.Accepted || v.verdict === Verdict.Duplicate);
    if (counted) this.unitsDone++;
    return counted;
  }

  private add(receipt: Receipt): boolean {
    if (this.receipts.some((r) => r.receiptId === receipt.receiptId)) return false;
    this.receipts.push(receipt);
    return true;
  }
}
