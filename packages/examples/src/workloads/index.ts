/**
 * Workloads: components, the catalog and the harness.
 *
 * @module
 */
export * from './workload';
export * from './components';
export * from './catalog';
export * from './harness';
