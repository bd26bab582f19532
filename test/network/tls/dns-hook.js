/* global fetch */
// The DNS-01 hook of the renewal tests: `node dns-hook.js set|unset MANAGEMENT_URL` puts or removes
// the TXT record Drydock passes in DRYDOCK_ACME_RECORD / DRYDOCK_ACME_VALUE on pebble-challtestsrv.
import process from 'node:process';

const [verb, url] = process.argv.slice(2);
const host = `${process.env.DRYDOCK_ACME_RECORD}.`;
const body = verb === 'set' ? { host, value: process.env.DRYDOCK_ACME_VALUE } : { host };
const response = await fetch(`${url}/${verb === 'set' ? 'set-txt' : 'clear-txt'}`, {
  method: 'POST',
  body: JSON.stringify(body),
});
if (!response.ok) {
  process.stderr.write(`challtestsrv answered ${response.status}\n`);
  process.exit(1);
}
process.stdout.write(`${verb} ${host}\n`);
