/**
 * Where the gateway's log lines go: standard output, written asynchronously by sonic-boom (pino's
 * own writer), one stream for the main log and the access log alike.
 *
 * pino's default writes every line with a synchronous `write(2)`, the request waiting on the pipe
 * to a log shipper. Written asynchronously, lines that arrive while a write is in flight go out
 * together in the next one (the token endpoint writes an audit line per answer).
 * Each write is at most 4 KiB (PIPE_BUF), so it stays atomic on a pipe another process shares,
 * and whatever is still buffered is written synchronously when the process exits (an uncaught
 * exception included); only a SIGKILL can lose the last lines.
 */
// A CommonJS module: its default import is `module.exports`, which carries the class as `SonicBoom`.
import sonicBoom from 'sonic-boom';

let stdout: InstanceType<typeof sonicBoom.SonicBoom> | undefined;

/** The process's one asynchronous writer on standard output. */
export function stdoutStream(): InstanceType<typeof sonicBoom.SonicBoom> {
  if (!stdout) {
    const stream = new sonicBoom.SonicBoom({ fd: 1, sync: false, minLength: 0, maxWrite: 4096 });
    process.once('exit', () => {
      try {
        stream.flushSync();
      } catch {
        // Standard output is gone (a closed pipe): nothing left to write to.
      }
    });
    stdout = stream;
  }
  return stdout;
}
