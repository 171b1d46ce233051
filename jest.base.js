'use strict';
// Shared jest settings; each packages/<x>/jest.config.js spreads this.
// ts-jest uses tsconfig.test.json (isolatedModules: transpile-only); types are
// checked once by `tsc -p tsconfig.test.json --noEmit` in `npm test`.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/../../tsconfig.test.json' }],
  },
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  // Tests always run against sources: one copy of each class (DI tokens).
  moduleNameMapper: {
    '^@irqflow/(.*)$': '<rootDir>/../$1/src',
  },
  setupFiles: ['reflect-metadata'],
  // `tsc -b` once per run, so tests of the built dist (CLI, benchmarks, probes) never run stale code.
  globalSetup: '<rootDir>/../../jest.global-setup.js',
};
