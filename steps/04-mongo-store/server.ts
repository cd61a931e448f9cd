import { MongoClient } from "mongodb";
import { mongoUrlForStep } from "../../lib/services/mongo.ts";
import { startServer } from "../shared/start-server.ts";
import { createApp } from "./app.ts";

await startServer(async () => {
  // MONGO_URL, or the MongoDB on localhost:27017, or one the workshop starts for you.
  const mongo = new MongoClient(await mongoUrlForStep(), {
    // Give up on an unreachable MongoDB after 2 s (the default is 30 s): a request during an
    // outage gets a quick 503 instead of hanging.
    serverSelectionTimeoutMS: 2000,
  });
  await mongo.connect();
  return { app: createApp(mongo), close: () => mongo.close() };
});
