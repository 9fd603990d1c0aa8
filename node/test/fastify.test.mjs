// Fastify 5 with its own pino logger given the mixin: the edge policy over real HTTP on
// loopback.
import { startFastifyApp } from "./apps.mjs";
import { edgePolicyScenarios } from "./support.mjs";

edgePolicyScenarios("Fastify + pino", startFastifyApp);
