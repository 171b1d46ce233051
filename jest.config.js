'use strict';
/** @type {import('jest').Config} */
module.exports = {
  projects: ['<rootDir>/packages/*'],
  passWithNoTests: true,
};
