// Nothing to change here: runs your app.ts on http://localhost:3000 (`npm run exercise -- 2`).
import { workshopDir } from "../../../lib/services/workshop-dir.ts";
import { startServer } from "../../../steps/shared/start-server.ts";
import { createApp } from "./app.ts";

await startServer(async () => {
  const sessionsDir = process.env.SESSIONS_DIR ?? workshopDir("exercise-02-sessions");
  console.log(`FileStore: session files in ${sessionsDir}`);
  return { app: createApp(sessionsDir), close: async () => {} };
});
