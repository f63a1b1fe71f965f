import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';

/**
 * Where free ports are looked for: below the kernel's ephemeral range, which every `listen(0)`
 * (the fakes, nginx's upstream connections, outgoing sockets) draws from. A port found free in that
 * range and released could be handed to the next `listen(0)` before the test binds it
 * (EADDRINUSE under load); below it, only another freePort could take it, and it checks.
 */
function searchRange(): [number, number] {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && low > 12_000) return [10_000, low];
  } catch {
    // Not Linux: fall back to what the system picks.
  }
  return [0, 0];
}

const [LOW, HIGH] = searchRange();
/**
 * Ports fetch refuses to connect to (the Fetch standard's "bad ports", 10080 among them in the
 * search range): a server there could not be reached by the tests' own fetch ("bad port").
 */
const FETCH_BAD_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110,
  111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532,
  540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061,
  6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);
/** Ports handed out by this process: never twice, even once released. */
const handedOut = new Set<number>();

function tryPort(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

/** A free TCP port on 127.0.0.1 (bound, read, released), for servers that cannot take port 0. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const candidate = HIGH > LOW ? LOW + Math.floor(Math.random() * (HIGH - LOW)) : 0;
    if (handedOut.has(candidate) || FETCH_BAD_PORTS.has(candidate)) continue;
    const port = await tryPort(candidate);
    if (port !== undefined && !handedOut.has(port) && !FETCH_BAD_PORTS.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port found');
}
