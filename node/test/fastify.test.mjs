// Fastify 5 with its own pino logger given the mixin: the edge policy over real HTTP on
// loopback.
import Fastify from "fastify";
import { fastifyCorrelation, fetchWithIds, jobEnvelope, pinoMixin } from "../index.js";
import { edgePolicyScenarios, jsonLines, startWorker } from "./support.mjs";

edgePolicyScenarios("Fastify + pino", async () => {
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
});
