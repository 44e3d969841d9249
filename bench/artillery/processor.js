// Used by flow.artillery.yml: every virtual user loops until BENCH_DURATION_S seconds
// (default 5) after the first one started, like barrage's -d.
'use strict';

const durationMs = 1000 * parseFloat(process.env.BENCH_DURATION_S || '5');
let deadline = 0;

function startClock(context, events, done) {
  if (!deadline) deadline = Date.now() + durationMs;
  return done();
}

function beforeDeadline(context, next) {
  return next(Date.now() < deadline);
}

module.exports = { startClock, beforeDeadline };
