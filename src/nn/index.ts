/** Neural-network building blocks. */
export { Module, ModuleList } from './module.js';
export { Linear, Embedding, RMSNorm, normalInit, type InitOptions } from './layers.js';
