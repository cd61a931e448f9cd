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
    // Every operation as a whole, from selecting a server to the answer, fails after 2.5 s:
    // a frozen server (connection open, no answer) cannot hang a request.
    timeoutMS: 2500,
    // Check the server every second: notices sooner that it is back.
    heartbeatFrequencyMS: 1000,
  });
  // connect-mongo creates the TTL index once, when the store is made. A server that lost it
  // (restarted in memory) would keep every session for ever: create it again (a no-op when it
  // exists) each time the server answers again after an outage.
  let down = false;
  client.on("serverHeartbeatFailed", () => {
    down = true;
  });
  client.on("serverHeartbeatSucceeded", () => {
    if (!down) return;
    down = false;
    client
      .db()
      .collection(ttlCollection)
      .createIndex({ expires: 1 }, { expireAfterSeconds: 0 })
      .catch(() => {
        down = true; // try again at the next heartbeat
      });
  });
  return client;
}
