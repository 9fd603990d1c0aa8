// Entry of the bundler fixtures: the app starts as its bundle loads.
import { start } from "./start.js";

start();
