// Threadline from its script-tag build (loaded before this file): headers on the allowed origin,
// events to the endpoint.
window.bench = {
  ready: window.Threadline.init({ endpoint: window.BENCH.endpoint, propagateTo: [window.BENCH.api], sameOrigin: false, autoActions: false }).then((tl) => {
    window.bench.log = (message, attributes) => tl.log("info", message, attributes);
    window.bench.flush = () => tl.flush();
  }),
  log() {},
};
