import type { CreditStatement } from '../proof/credit';
import type { VolunteerSession } from '../volunteer/session';

/** The file a host's credit statement downloads as (one host: no host id in the name). */
export function creditFileName(hostId: string, several: boolean): string {
  return several ? `tabgrid-credit-${hostId.replace(/[^\w.-]/g, '_')}.json` : 'tabgrid-credit.json';
}

export function creditJson(statement: CreditStatement): string {
  return `${JSON.stringify(statement, null, 2)}\n`;
}

/**
 * Offers the visitor one signed credit statement per host with receipts (proof/credit.ts):
 * anyone holding that host's key checks it with `npm run verify-credit`. Rejects (naming the
 * host) when a host's statement cannot be made yet, e.g. before its first welcome.
 */
export async function downloadCredit(sessions: readonly VolunteerSession[]): Promise<void> {
  const earning = sessions.filter((s) => s.receipts.length > 0);
  for (const session of earning) {
    const statement = await session.creditStatement();
    save(creditFileName(session.options.hostId, earning.length > 1), creditJson(statement));
  }
}

function save(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  // The download holds its own reference once started.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
