/**
 * Message bodies: the JSON a frame carries on each key (JSON Schemas in the repository's
 * `schemas/wire/`), and the thing definition a description carries.
 *
 * @module
 */
/** Whether a state is final (no further change can follow). */
export function isFinal(state) {
    return !["requested", "accepted", "running"].includes(state.state);
}
