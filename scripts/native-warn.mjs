#!/usr/bin/env node
// Runs when `node-gyp rebuild` fails during `npm ci` / `npm install`: r1ts still works on the TypeScript backend,
// so the install must not fail. One line on stderr says what happened and how to retry.
console.error(
  'r1ts: warning: the native CPU backend did not build (see the compiler output above); r1ts will use the slower ' +
    'TypeScript backend. Needs x86-64 Linux, g++ and Node headers; retry with `npm rebuild r1ts` or `npx node-gyp rebuild`.',
);
