// Express 5 with a winston logger: the edge policy over real HTTP on loopback.
import express from "express";
import winston from "winston";
import { expressCorrelation, fetchWithIds, jobEnvelope, winstonFormat } from "../index.js";
import { edgePolicyScenarios, jsonLines, startWorker } from "./support.mjs";

edgePolicyScenarios("Express + winston", async () => {
  const lines = [];
  const sink = jsonLines(lines);
  const log = winston.createLogger({
    format: winston.format.combine(winstonFormat, winston.format.json()),
    transports: [new winston.transports.Stream({ stream: sink })],
  });
  const worker = startWorker((job) => log.info("job ran", { job: job.name }));

  const app = express();
  app.use(expressCorrelation());
  app.get("/ok", async (req, res) => {
    log.info("ok started");
    await new Promise((resolve) => setTimeout(resolve, 5));
    log.info("ok done");
    res.json({ correlationId: req.correlationId, sessionId: req.sessionId });
  });
  app.get("/status/:n", (req, res) => res.status(Number(req.params.n)).json({ error: "as asked" }));
  app.get("/throw", () => {
    throw new Error("boom");
  });
  app.get("/reject", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    throw new Error("async boom");
  });
  app.get("/forward", async (req, res) => {
    const answer = await fetchWithIds(String(req.query.to), { headers: { baggage: "user.tier=gold" } });
    res.status(answer.status).end();
  });
  app.get("/job", (req, res) => {
    worker.enqueue(JSON.stringify(jobEnvelope({ name: "send-receipt" })));
    res.status(202).end();
  });
  // Express's own error handler prints the stack; this one answers quietly.
  app.use((err, req, res, _next) => res.status(500).json({ error: { message: err.message, correlation_id: req.correlationId } }));

  const server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    lines: () => lines,
    close: async () => {
      worker.stop();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
});
