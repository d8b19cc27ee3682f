export * from './ui/tabgrid-volunteer';
export * from './volunteer/session';
export * from './errors';
// The researcher's SDK in a page: a job host in this tab, and jobs with the researcher's own files.
export { startPageHost, type PageHost, type PageHostOptions } from './host/page-host';
export * from './sdk/page-grid';
