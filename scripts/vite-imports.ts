/**
 * Lets tsx load modules written for Vite (`?raw` WGSL, `?worker&url` workers): import this first,
 * then the GPU code dynamically (static imports are resolved before this runs).
 */
import { register } from 'node:module';

register('./vite-imports-hooks.mjs', import.meta.url);
