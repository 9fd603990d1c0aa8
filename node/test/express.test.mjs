// Express 5 with a winston logger: the edge policy over real HTTP on loopback.
import { startExpressApp } from "./apps.mjs";
import { edgePolicyScenarios } from "./support.mjs";

edgePolicyScenarios("Express + winston", startExpressApp);
