export * from './ui/tabgrid-volunteer';
export * from './volunteer/session';
export * from './errors';
