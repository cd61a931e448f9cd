import { MongoClient } from "mongodb";

/**
 * A MongoClient set up so that a MongoDB outage costs a quick, clear error (a 503) instead of
 * a hung request, and that puts back the TTL index of COLLECTION when the server comes back
 * without it (an in-memory server restarted empty). Call `await client.connect()` before use.
 */
export function createMongoClient(url: string, ttlCollection = "sessions"): MongoClient {
  const client = new MongoClient(url, {
    // Give up on an unreachable MongoDB after 2 s (the default is 30 s).
    serverSelectionTimeoutMS: 2000,
    // A connection that cannot be opened, or an answer that does not come, fails after 2 s:
    // a frozen server (connection open, nothing answers) cannot hang a request.
    connectTimeoutMS: 2000,
    socketTimeoutMS: 2000,
    // No automatic retry after such a failure: it would wait as long again (and more, while
    // the driver looks for a server) before the visitor gets the 503. The visitor can retry.
    retryReads: false,
    retryWrites: false,
    // Check the server every second: notices sooner that it is back.
    heartbeatFrequencyMS: 1000,
  });
  // connect-mongo creates the TTL index once, when the store is made. A server that lost it
  // (restarted in memory) would keep every session for ever. So after any sign that the
  // server went away (a connection closed by an error, a failed heartbeat), the next new
  // connection creates the index again (a no-op when it exists).
  let suspect = false;
  client.on("connectionClosed", ({ reason }) => {
    if (reason === "error" || reason === "stale") suspect = true;
  });
  client.on("serverHeartbeatFailed", () => {
    suspect = true;
  });
  client.on("connectionReady", () => {
    if (!suspect) return;
    suspect = false;
    client
      .db()
      .collection(ttlCollection)
      .createIndex({ expires: 1 }, { expireAfterSeconds: 0 })
      .catch(() => {
        suspect = true; // try again with the next connection
      });
  });
  return client;
}
