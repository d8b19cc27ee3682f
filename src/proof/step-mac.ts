/**
 * What a MAC covers for a judged step after the result: the openings answering a challenge, and
 * each rows message answering send-rows. A result's MAC covers its commitment (result-key.ts);
 * these cover the step's own fields, so a relay passing a child's messages on cannot make up
 * openings or rows for it (protocol 10). Each field is hex or digits, so newlines and spaces
 * separate them unambiguously; the tag keeps a step's MAC from passing for another kind's.
 */
import type { VolunteerMessage } from '../protocol';

type Openings = Extract<VolunteerMessage, { type: 'openings' }>;
type Rows = Extract<VolunteerMessage, { type: 'rows' }>;

/** The bytes an openings or rows message's MAC covers (its `mac` field aside). */
export function stepBytes(m: Openings | Rows): Uint8Array {
  switch (m.type) {
    case 'openings':
      return new TextEncoder().encode(`tabgrid/openings/v1\n${m.unitId}\n${m.openings.map((o) => `${o.index} ${o.leaf} ${o.path.join(' ')}`).join('\n')}`);
    case 'rows':
      return new TextEncoder().encode(`tabgrid/rows/v1\n${m.unitId}\n${m.first}\n${m.data}`);
    default: {
      const never: never = m;
      throw new Error(`no step MAC for ${(never as { type: string }).type}`);
    }
  }
}
