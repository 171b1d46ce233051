/**
 * @irqflow/examples — the `irqflow` CLI, the workloads it runs, a third-party controller ("pic") built on the
 * public core API only, and an example of two VMs with different controllers in one hypervisor.
 *
 * @packageDocumentation
 */
import 'reflect-metadata';

export * from './hypervisor-factory';
export * from './plugin-loader';
export * from './third-party/index';
export * from './workloads/index';
export * from './examples/two-vms';
