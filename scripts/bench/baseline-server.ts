// The bench's baseline: the same Express and the same kind of JSON answer as the steps, but no
// session middleware and no store. Every store is measured against this.
import express from "express";
import { startServer } from "../../steps/shared/start-server.ts";

await startServer(async () => {
  const app = express();
  app.get("/", (_req, res) => {
    res.json({ visits: 1, sessionId: "", store: "none" });
  });
  return { app, close: async () => {} };
});
