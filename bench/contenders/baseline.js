// No instrumentation at all: the physical floor.
window.bench = { ready: Promise.resolve(), log() {} };
