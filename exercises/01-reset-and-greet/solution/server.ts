// Nothing to change here: runs your app.ts on http://localhost:3000 (`npm run exercise -- 1`).
import { startServer } from "../../../steps/shared/start-server.ts";
import { createApp } from "./app.ts";

await startServer(async () => ({ app: createApp(), close: async () => {} }));
