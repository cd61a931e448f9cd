import { workshopDir } from "../../lib/services/workshop-dir.ts";
import { startServer } from "../shared/start-server.ts";
import { createApp } from "./app.ts";

await startServer(async () => {
  // SESSIONS_DIR, or .workshop/sessions in the repository (git-ignored).
  const sessionsDir = process.env.SESSIONS_DIR ?? workshopDir("sessions");
  console.log(`FileStore: session files in ${sessionsDir}`);
  // Nothing to close: every read and write opens and closes its own file.
  return { app: createApp(sessionsDir), close: async () => {} };
});
