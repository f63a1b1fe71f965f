/**
 * The Redis Cluster hash slot of a key, as the cluster computes it (Redis Cluster specification,
 * "Key distribution model"): CRC16 (XMODEM) of the key modulo 16384, or of its hash tag, the part
 * between the first `{` and the next `}` when that part is not empty. The store groups the keys
 * of one multi-key read by slot with it (a command's keys must share a slot, or the cluster
 * answers CROSSSLOT), and runs a two-key script only when both keys share one.
 */

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte += 1) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ byte) & 0xff] ?? 0);
  return crc;
}

/** The slot (0–16383) of `key`, hashed over its UTF-8 bytes as Redis hashes them. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key, 'utf8')) % 16_384;
}
