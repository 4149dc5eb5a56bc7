/**
 * Errors: one class per thing a caller can act on, with the same kinds as the Rust runtime's
 * `Error`. Every class extends {@link SafethingError} and carries a `kind`, so
 * `switch (e.kind)` narrows a {@link AnySafethingError} like a discriminated union and
 * `e instanceof AccessDeniedError` works too.
 *
 * Application errors of action handlers ({@link ActionFailedError}) stay distinct from refusals
 * by the device ({@link RejectedError}, {@link AccessDeniedError}, ...) and from network
 * trouble ({@link TransportError}, {@link OfflineError}).
 *
 * @module
 */
import type { ActionError, Lifecycle, Problem } from "./wire.js";
/** Which kind of affordance. */
export type AffordanceKind = "attribute" | "event" | "action";
/** Every error the runtime throws. */
export declare abstract class SafethingError extends Error {
    /** The discriminant. */
    abstract readonly kind: string;
}
/** The definition does not pass validation. */
export declare class InvalidDefinitionError extends SafethingError {
    readonly kind = "invalid_definition";
    constructor(message: string);
}
/** No thing with this id answered. */
export declare class UnknownThingError extends SafethingError {
    readonly thing: string;
    readonly kind = "unknown_thing";
    constructor(thing: string);
}
/** The thing has no such attribute, event or action. */
export declare class UnknownAffordanceError extends SafethingError {
    readonly thing: string;
    readonly affordance: AffordanceKind;
    readonly affordanceName: string;
    readonly kind = "unknown_affordance";
    constructor(thing: string, affordance: AffordanceKind, affordanceName: string);
}
/** The thing is registered or disabled, not published. */
export declare class NotPublishedError extends SafethingError {
    readonly thing: string;
    readonly state: Lifecycle;
    readonly kind = "not_published";
    constructor(thing: string, state: Lifecycle);
}
/** The thing went (or is) offline. */
export declare class OfflineError extends SafethingError {
    readonly thing: string;
    readonly kind = "offline";
    constructor(thing: string);
}
/** A payload does not match its schema: which payload, where, and which keyword. */
export declare class InvalidPayloadError extends SafethingError {
    /** Which payload, e.g. `input of action \`open_valve\``. */
    readonly what: string;
    /** JSON pointer to the offending part (`""` for the value itself). */
    readonly path: string;
    /** The violated schema keyword (`maximum`, `required`, ...). */
    readonly keyword: string;
    /** What is wrong. */
    readonly reason: string;
    readonly kind = "invalid_payload";
    constructor(
    /** Which payload, e.g. `input of action \`open_valve\``. */
    what: string, 
    /** JSON pointer to the offending part (`""` for the value itself). */
    path: string, 
    /** The violated schema keyword (`maximum`, `required`, ...). */
    keyword: string, 
    /** What is wrong. */
    reason: string);
}
/** The thing is not of the type the generated client was made for. */
export declare class IncompatibleError extends SafethingError {
    readonly thing: string;
    readonly expected: string;
    readonly found: string;
    readonly kind = "incompatible";
    constructor(thing: string, expected: string, found: string);
}
/** A subscription filter that cannot apply to the value. */
export declare class InvalidFilterError extends SafethingError {
    readonly reason: string;
    readonly kind = "invalid_filter";
    constructor(reason: string);
}
/** The requester does not have the access the affordance requires. */
export declare class AccessDeniedError extends SafethingError {
    /** The access type that was not met (`owner`, `group`, ..., or `admin`). */
    readonly rule: string;
    /** Why. */
    readonly reason: string;
    readonly kind = "access_denied";
    constructor(
    /** The access type that was not met (`owner`, `group`, ..., or `admin`). */
    rule: string, 
    /** Why. */
    reason: string);
}
/** The device refused the request (its handler, or a rule other than access). */
export declare class RejectedError extends SafethingError {
    readonly problem: Problem;
    readonly kind = "rejected";
    constructor(problem: Problem);
}
/** The action's handler failed: an application error, not a transport or access problem. */
export declare class ActionFailedError extends SafethingError {
    readonly error: ActionError;
    readonly kind = "action_failed";
    constructor(error: ActionError);
}
/** The deadline passed. */
export declare class TimedOutError extends SafethingError {
    readonly timeoutMs: number;
    readonly kind = "timed_out";
    constructor(timeoutMs: number);
}
/** The action was cancelled. */
export declare class CancelledError extends SafethingError {
    readonly kind = "cancelled";
    constructor();
}
/** The attribute has no value yet. */
export declare class NoValueError extends SafethingError {
    readonly attribute: string;
    readonly kind = "no_value";
    constructor(attribute: string);
}
/** A message that failed verification (signature, freshness, sender, decryption). */
export declare class UntrustedError extends SafethingError {
    readonly reason: string;
    readonly kind = "untrusted";
    constructor(reason: string);
}
/** A reply that does not follow the protocol. */
export declare class ProtocolError extends SafethingError {
    readonly reason: string;
    readonly kind = "protocol";
    constructor(reason: string);
}
/** The network (the gateway, the socket) failed. */
export declare class TransportError extends SafethingError {
    readonly reason: string;
    readonly code?: string | undefined;
    readonly kind = "transport";
    constructor(reason: string, code?: string | undefined);
}
/** Keys or identity files. */
export declare class IdentityError extends SafethingError {
    readonly reason: string;
    readonly kind = "identity";
    constructor(reason: string);
}
/** The client has been shut down. */
export declare class ShutdownError extends SafethingError {
    readonly kind = "shutdown";
    constructor();
}
/** Every concrete error, as a union narrowed by `kind`. */
export type AnySafethingError = InvalidDefinitionError | UnknownThingError | UnknownAffordanceError | NotPublishedError | OfflineError | InvalidPayloadError | IncompatibleError | InvalidFilterError | AccessDeniedError | RejectedError | ActionFailedError | TimedOutError | CancelledError | NoValueError | UntrustedError | ProtocolError | TransportError | IdentityError | ShutdownError;
/** Whether `e` is one of the runtime's errors (narrows to the union). */
export declare function isSafethingError(e: unknown): e is AnySafethingError;
/** A device's {@link Problem} in words, as the Rust runtime says it. */
export declare function describeProblem(problem: Problem): string;
/** The error a client reports for a device's refusal (as Rust's `Error::from_problem`). */
export declare function fromProblem(thing: string, problem: Problem): AnySafethingError;
