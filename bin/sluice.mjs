#!/usr/bin/env node
// The sluice command; the code lives in dist/ (built by `npm install` through "prepare").
import { main } from '../dist/src/cli/cli.js';

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exitCode = code;
}, (e) => {
  process.stderr.write(`sluice: ${e && e.stack ? e.stack : e}\n`);
  process.exitCode = 1;
});
