#!/usr/bin/env node
'use strict';
// The `attache` admin CLI (accounts, keys, catalog, database). Run `attache --help`.
require('./run.js').run('cli');
