'use strict';
const base = require('../../jest.base.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  displayName: 'rvic',
};
