/**
 * The seam between the wire and the kernels: the schema of the `unit` message's work unit is the
 * kernels' own (kernels/<kernel>/unit.ts, registered in kernels/units.ts), so the `unit` message
 * (messages.ts) knows units only through `workUnitSchema`, and a kernel added there is on the wire.
 */
export { workUnitSchema } from '../kernels/units';
