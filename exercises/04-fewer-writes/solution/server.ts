// Nothing to change here: runs your app.ts on http://localhost:3000 (`npm run exercise -- 4`),
// with the MongoDB of the steps (MONGO_URL, localhost:27017, or one the workshop starts).
import { MongoClient } from "mongodb";
import { mongoUrlForStep } from "../../../lib/services/mongo.ts";
import { startServer } from "../../../steps/shared/start-server.ts";
import { createApp } from "./app.ts";

await startServer(async () => {
  const mongo = new MongoClient(await mongoUrlForStep(), { serverSelectionTimeoutMS: 2000 });
  await mongo.connect();
  return { app: createApp(mongo), close: () => mongo.close() };
});
