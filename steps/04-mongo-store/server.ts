import { mongoUrlForStep } from "../../lib/services/mongo.ts";
import { createMongoClient } from "../shared/mongo-client.ts";
import { startServer } from "../shared/start-server.ts";
import { createApp } from "./app.ts";

await startServer(async () => {
  // MONGO_URL, or the MongoDB on localhost:27017, or one the workshop starts for you.
  // Quick timeouts (a request during an outage gets a 503 within 3 s, not a hang), and the
  // TTL index put back if the server comes back without it: see steps/shared/mongo-client.ts.
  const mongo = createMongoClient(await mongoUrlForStep());
  await mongo.connect();
  return { app: createApp(mongo), close: () => mongo.close() };
});
