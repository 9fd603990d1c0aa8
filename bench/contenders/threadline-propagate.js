// Threadline's propagation-only script-tag build (loaded before this file): headers on the
// allowed origin, no events.
window.bench = {
  ready: window.Threadline.init({ propagateTo: [window.BENCH.api], sameOrigin: false, autoActions: false }),
  log() {},
};
