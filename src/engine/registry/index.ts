export * from './client.ts';
export * from './errors.ts';
export * from './location.ts';
export * from './progress.ts';
export * from './pull.ts';
export * from './push.ts';
export * from './hash.ts';
export * from './sandbox.ts';
