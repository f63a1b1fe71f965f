/**
 * Preloaded (`node --import ./tests/helpers/stall-key-generation.ts`) into a gateway or CLI
 * process that a test kills in the middle of a key rotation: key generation (WebCrypto's
 * `generateKey`, which jose calls) says so on stderr and never finishes, so the process sits
 * inside the rotation, holding its lock, until the test kills it. Never import it: importing
 * patches the importing process.
 */
const STALLED = 'key generation stalled';

Object.defineProperty(globalThis.crypto.subtle, 'generateKey', {
  configurable: true,
  value: () => {
    process.stderr.write(`${STALLED}\n`);
    // Something must keep the process alive while nothing else is pending.
    setInterval(() => {}, 60_000);
    return new Promise(() => {});
  },
});
