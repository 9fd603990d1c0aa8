// The same shop routes in Express (winston) and in Fastify (its own pino, given the mixin),
// served for real on loopback: `GET /ok` logs twice and answers both IDs, `/status/:n` answers
// n, `/throw` throws, `/reject` rejects, `/forward?to=URL` calls URL with fetchWithIds and its
// own `baggage: user.tier=gold`, `/job` enqueues a job the worker logs as "job ran". Used by
// this directory's tests and by the end-to-end tests in the browser.
import express from "express";
import Fastify from "fastify";
import winston from "winston";
import { expressCorrelation, fastifyCorrelation, fetchWithIds, jobEnvelope, pinoMixin, winstonFormat } from "../index.js";
import { jsonLines, startWorker } from "./support.mjs";

/** Express 5 + winston on a free loopback port: `{ base, lines, close }`. */
export async function startExpressApp() {
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
}

/** Fastify 5 + pino on a free loopback port: `{ base, lines, close }`. */
export async function startFastifyApp() {
  const lines = [];
  const stream = jsonLines(lines);
  const app = Fastify({ logger: { mixin: pinoMixin, stream } });
  const worker = startWorker((job) => app.log.info({ job: job.name }, "job ran"));
  await app.register(fastifyCorrelation);
  app.get("/ok", async (request) => {
    request.log.info("ok started");
    await new Promise((resolve) => setTimeout(resolve, 5));
    app.log.info("ok done");
    return { correlationId: request.correlationId, sessionId: request.sessionId };
  });
  app.get("/status/:n", async (request, reply) => reply.code(Number(request.params.n)).send({ error: "as asked" }));
  app.get("/throw", () => {
    throw new Error("boom");
  });
  app.get("/reject", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    throw new Error("async boom");
  });
  app.get("/forward", async (request, reply) => {
    const answer = await fetchWithIds(request.query.to, { headers: { baggage: "user.tier=gold" } });
    return reply.code(answer.status).send();
  });
  app.get("/job", async (request, reply) => {
    worker.enqueue(JSON.stringify(jobEnvelope({ name: "send-receipt" })));
    return reply.code(202).send();
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  return {
    base: `http://127.0.0.1:${app.server.address().port}`,
    lines: () => lines,
    close: async () => {
      worker.stop();
      await app.close();
    },
  };
}
