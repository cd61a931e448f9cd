import type { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/**
 * pglite-socket serves every connection from one PGlite session, one protocol message at a
 * time, and keeps a connection's messages together only inside a transaction. A pg query
 * with parameters is several messages (Parse, Bind, Describe, Execute, Sync): two connections
 * querying at once interleave them, and one binds its values to the other's statement
 * ("bind message supplies 2 parameters, but prepared statement "" requires 1"), or gets
 * its rows. https://github.com/electric-sql/pglite/issues/1046 (open; 0.2.17 and 0.2.18).
 *
 * keepBatchesTogether(server) lets one connection at a time talk to PGlite, from its first
 * message to the end of its batch (a Sync, a simple Query, its startup), and for as long as
 * a transaction it opened stays open. The others wait their turn.
 */
export function keepBatchesTogether(server: PGLiteSocketServer, inTransaction: () => boolean) {
  const queue = (server as unknown as { queryQueue: QueryQueue }).queryQueue;
  const enqueue = queue.enqueue.bind(queue);
  const clear = queue.clearQueueForHandler.bind(queue);
  let owner: number | null = null;
  const waiting: (() => void)[] = [];
  const release = () => {
    owner = null;
    for (const wake of waiting.splice(0)) wake();
  };

  queue.enqueue = async (handlerId, message, onData) => {
    while (owner !== null && owner !== handlerId) {
      await new Promise<void>((wake) => waiting.push(wake));
    }
    owner = handlerId;
    try {
      return await enqueue(handlerId, message, onData);
    } finally {
      if (endsBatch(message) && !inTransaction()) release();
    }
  };
  // A connection that goes away in the middle of a batch must not keep the others waiting.
  queue.clearQueueForHandler = (handlerId) => {
    clear(handlerId);
    if (owner === handlerId) release();
  };
}

/** The part of pglite-socket's (internal) query queue this relies on. */
interface QueryQueue {
  enqueue(
    handlerId: number,
    message: Uint8Array,
    onData: (data: Uint8Array) => void,
  ): Promise<number>;
  clearQueueForHandler(handlerId: number): void;
}

const SYNC = "S".charCodeAt(0);
const QUERY = "Q".charCodeAt(0);
const TERMINATE = "X".charCodeAt(0);

/** Whether PostgreSQL answers MESSAGE with ReadyForQuery: the end of a batch. */
function endsBatch(message: Uint8Array): boolean {
  const type = message[0];
  // A startup message has no type byte: it begins with its length, whose first byte is 0.
  return type === SYNC || type === QUERY || type === TERMINATE || type === 0;
}
