// DSSE envelopes checked with sigstore's own JavaScript (@sigstore/core's preAuthEncoding and
// crypto.verify, unpacked by scripts/sigstore-js.sh into the directory $SIGSTORE_CORE), apart
// from berth's code: the tests use it to verify berth's envelopes and to make one berth verifies.
//
// usage: node dsse-check.mjs verify PUBLIC_PEM ENVELOPE        exit 0 when a signature verifies
//        node dsse-check.mjs sign PRIVATE_PEM STATEMENT OUT    an envelope of the statement
import { createRequire } from 'node:module';
import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const { dsse, crypto } = require(`${process.env.SIGSTORE_CORE}/dist/index.js`);
const inToto = 'application/vnd.in-toto+json';
const [command, keyFile, input, output] = process.argv.slice(2);

if (command === 'verify' && input) {
  const envelope = JSON.parse(readFileSync(input, 'utf8'));
  const payload = Buffer.from(envelope.payload, 'base64');
  const pae = dsse.preAuthEncoding(envelope.payloadType, payload);
  const key = crypto.createPublicKey(readFileSync(keyFile, 'utf8'));
  const ok = envelope.signatures.some((s) =>
    crypto.verify(pae, key, Buffer.from(s.sig, 'base64'), 'sha256'));
  console.log(ok ? `verified: ${envelope.payloadType}` : 'no signature verifies');
  process.exit(ok ? 0 : 1);
} else if (command === 'sign' && output) {
  const payload = readFileSync(input);
  const pae = dsse.preAuthEncoding(inToto, payload);
  const key = createPrivateKey(readFileSync(keyFile, 'utf8'));
  const sig = sign('sha256', pae, key);  // ECDSA, ASN.1 DER
  writeFileSync(output, JSON.stringify({
    payloadType: inToto,
    payload: payload.toString('base64'),
    signatures: [{ keyid: '', sig: sig.toString('base64') }],
  }));
} else {
  console.error('usage: dsse-check.mjs verify PUB ENVELOPE | sign KEY STATEMENT OUT');
  process.exit(2);
}
