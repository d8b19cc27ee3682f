/**
 * `npm run verify-credit -- STATEMENT.json (--host-key HEX | --host-db FILE.sqlite)`: checks a
 * volunteer's credit statement (the widget's "Download proof of credit") against the host's
 * public key, which `npm run host` prints at start and keeps in its --db file. Prints the
 * verified total and every receipt that does not verify; exits 1 if any does not, or if the
 * statement as a whole is not the volunteer's or not from that host.
 */
import { readFileSync } from 'node:fs';
import { openHostStore } from '../src/host/store/open-host-store';
import { verifyCreditStatement, type CreditStatement } from '../src/proof/credit';
import { parseCommand } from './args';
import { VERIFY_CREDIT_COMMAND } from './commands';

const cli = parseCommand(VERIFY_CREDIT_COMMAND);
const { values, positionals } = cli;
if (!values['host-key'] && !values['host-db']) cli.fail('give the host key: --host-key HEX (printed by npm run host) or --host-db FILE.sqlite');

const statementFile = positionals[0]!;
let statement: CreditStatement;
try {
  statement = JSON.parse(readFileSync(statementFile, 'utf8')) as CreditStatement;
} catch (err) {
  cli.fail(`${statementFile}: cannot read it as JSON (${(err as Error).message})`);
}

async function hostKey(): Promise<string> {
  if (values['host-key']) return values['host-key'];
  if (!values['host-db']) throw new Error('give the host key: --host-key HEX (printed by npm run host) or --host-db FILE.sqlite');
  // A new store would make a new key; refuse one instead.
  const store = await openHostStore(values['host-db'], { existing: true });
  try {
    return (await store.hostIdentity()).publicKey;
  } finally {
    await store.close();
  }
}

async function main(): Promise<number> {
  const check = await verifyCreditStatement(statement, await hostKey());
  console.log(`${check.units} unit(s), credit ${check.total} verified against the host key`);
  for (const p of check.problems) console.log(`not counted: ${p}`);
  return check.problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`npm run verify-credit: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
