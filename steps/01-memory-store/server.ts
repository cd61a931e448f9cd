import { startServer } from "../shared/start-server.ts";
import { createApp } from "./app.ts";

// Nothing to connect to, nothing to close: the sessions live in this process.
await startServer(async () => ({ app: createApp(), close: async () => {} }));
