// Starts the recomputing thread (recompute-thread.ts): its entry is TypeScript, so the thread
// registers tsx's loader first, as the host process itself runs under tsx.
import { register } from 'tsx/esm/api';

register();
await import('./recompute-thread-entry.ts');
