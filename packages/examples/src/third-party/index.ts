/**
 * The third-party "pic" controller: a complete small interrupt controller written against the public core
 * API only. See docs/guides/writing-a-controller.md.
 *
 * @module
 */
export * from './pic-abi';
export * from './pic-cpu';
export * from './pic-chip';
export * from './pic-regs';
export * from './pic-device';
export * from './pic-driver';
export * from './pic-plugin';
