/**
 * Publish/subscribe inside one process, for the stores that serve one instance (memory, the
 * embedded SQLite file): every gateway built on the same store object hears every message.
 * Redis stores use Redis PUBLISH/SUBSCRIBE instead (redis-store.ts), reaching every instance.
 */
import { EventEmitter } from 'node:events';
import type { Store } from './store.ts';

export function createLocalChannels(): Pick<Store, 'publish' | 'subscribe'> {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    async publish(channel, message) {
      emitter.emit(channel, message);
    },
    async subscribe(channel, onMessage) {
      emitter.on(channel, onMessage);
      return async () => {
        emitter.off(channel, onMessage);
      };
    },
  };
}
