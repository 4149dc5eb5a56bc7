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
/** Every error the runtime throws. */
export class SafethingError extends Error {
}
/** The definition does not pass validation. */
export class InvalidDefinitionError extends SafethingError {
    kind = "invalid_definition";
    constructor(message) {
        super(`invalid definition: ${message}`);
        this.name = "InvalidDefinitionError";
    }
}
/** No thing with this id answered. */
export class UnknownThingError extends SafethingError {
    thing;
    kind = "unknown_thing";
    constructor(thing) {
        super(`unknown thing \`${thing}\`: no device with this id answered`);
        this.thing = thing;
        this.name = "UnknownThingError";
    }
}
/** The thing has no such attribute, event or action. */
export class UnknownAffordanceError extends SafethingError {
    thing;
    affordance;
    affordanceName;
    kind = "unknown_affordance";
    constructor(thing, affordance, affordanceName) {
        super(`thing \`${thing}\` has no ${affordance} named \`${affordanceName}\``);
        this.thing = thing;
        this.affordance = affordance;
        this.affordanceName = affordanceName;
        this.name = "UnknownAffordanceError";
    }
}
/** The thing is registered or disabled, not published. */
export class NotPublishedError extends SafethingError {
    thing;
    state;
    kind = "not_published";
    constructor(thing, state) {
        super(`thing \`${thing}\` is ${state}, not published`);
        this.thing = thing;
        this.state = state;
        this.name = "NotPublishedError";
    }
}
/** The thing went (or is) offline. */
export class OfflineError extends SafethingError {
    thing;
    kind = "offline";
    constructor(thing) {
        super(`thing \`${thing}\` is offline`);
        this.thing = thing;
        this.name = "OfflineError";
    }
}
/** A payload does not match its schema: which payload, where, and which keyword. */
export class InvalidPayloadError extends SafethingError {
    what;
    path;
    keyword;
    reason;
    kind = "invalid_payload";
    constructor(
    /** Which payload, e.g. `input of action \`open_valve\``. */
    what, 
    /** JSON pointer to the offending part (`""` for the value itself). */
    path, 
    /** The violated schema keyword (`maximum`, `required`, ...). */
    keyword, 
    /** What is wrong. */
    reason) {
        super(`invalid ${what}: ${path === "" ? "value" : path}: ${reason}`);
        this.what = what;
        this.path = path;
        this.keyword = keyword;
        this.reason = reason;
        this.name = "InvalidPayloadError";
    }
}
/** The thing is not of the type the generated client was made for. */
export class IncompatibleError extends SafethingError {
    thing;
    expected;
    found;
    kind = "incompatible";
    constructor(thing, expected, found) {
        super(`thing \`${thing}\` is a ${found}, not a ${expected}`);
        this.thing = thing;
        this.expected = expected;
        this.found = found;
        this.name = "IncompatibleError";
    }
}
/** A subscription filter that cannot apply to the value. */
export class InvalidFilterError extends SafethingError {
    reason;
    kind = "invalid_filter";
    constructor(reason) {
        super(`invalid filter: ${reason}`);
        this.reason = reason;
        this.name = "InvalidFilterError";
    }
}
/** The requester does not have the access the affordance requires. */
export class AccessDeniedError extends SafethingError {
    rule;
    reason;
    kind = "access_denied";
    constructor(
    /** The access type that was not met (`owner`, `group`, ..., or `admin`). */
    rule, 
    /** Why. */
    reason) {
        super(`access denied by rule \`${rule}\`: ${reason}`);
        this.rule = rule;
        this.reason = reason;
        this.name = "AccessDeniedError";
    }
}
/** The device refused the request (its handler, or a rule other than access). */
export class RejectedError extends SafethingError {
    problem;
    kind = "rejected";
    constructor(problem) {
        super(`rejected: ${describeProblem(problem)}`);
        this.problem = problem;
        this.name = "RejectedError";
    }
}
/** The action's handler failed: an application error, not a transport or access problem. */
export class ActionFailedError extends SafethingError {
    error;
    kind = "action_failed";
    constructor(error) {
        super(`action failed: ${error.code}: ${error.message}`);
        this.error = error;
        this.name = "ActionFailedError";
    }
}
/** The deadline passed. */
export class TimedOutError extends SafethingError {
    timeoutMs;
    kind = "timed_out";
    constructor(timeoutMs) {
        super(`timed out after ${timeoutMs} ms`);
        this.timeoutMs = timeoutMs;
        this.name = "TimedOutError";
    }
}
/** The action was cancelled. */
export class CancelledError extends SafethingError {
    kind = "cancelled";
    constructor() {
        super("cancelled");
        this.name = "CancelledError";
    }
}
/** The attribute has no value yet. */
export class NoValueError extends SafethingError {
    attribute;
    kind = "no_value";
    constructor(attribute) {
        super(`attribute \`${attribute}\` has no value yet`);
        this.attribute = attribute;
        this.name = "NoValueError";
    }
}
/** A message that failed verification (signature, freshness, sender, decryption). */
export class UntrustedError extends SafethingError {
    reason;
    kind = "untrusted";
    constructor(reason) {
        super(`untrusted message: ${reason}`);
        this.reason = reason;
        this.name = "UntrustedError";
    }
}
/** A reply that does not follow the protocol. */
export class ProtocolError extends SafethingError {
    reason;
    kind = "protocol";
    constructor(reason) {
        super(`protocol error: ${reason}`);
        this.reason = reason;
        this.name = "ProtocolError";
    }
}
/** The network (the gateway, the socket) failed. */
export class TransportError extends SafethingError {
    reason;
    code;
    kind = "transport";
    constructor(reason, code) {
        super(`transport failure: ${reason}`);
        this.reason = reason;
        this.code = code;
        this.name = "TransportError";
    }
}
/** Keys or identity files. */
export class IdentityError extends SafethingError {
    reason;
    kind = "identity";
    constructor(reason) {
        super(`identity: ${reason}`);
        this.reason = reason;
        this.name = "IdentityError";
    }
}
/** The client has been shut down. */
export class ShutdownError extends SafethingError {
    kind = "shutdown";
    constructor() {
        super("shut down");
        this.name = "ShutdownError";
    }
}
/** Whether `e` is one of the runtime's errors (narrows to the union). */
export function isSafethingError(e) {
    return e instanceof SafethingError;
}
/** A device's {@link Problem} in words, as the Rust runtime says it. */
export function describeProblem(problem) {
    switch (problem.kind) {
        case "unknown_affordance":
            return `\`${problem.name}\` is not a known ${problem.affordance}`;
        case "not_published":
            return `the thing is ${problem.state}, not published`;
        case "access_denied":
            return `access denied by rule \`${problem.rule}\`: ${problem.reason}`;
        case "invalid_payload":
            return `invalid ${problem.what}: at \`${problem.path}\`: ${problem.message}`;
        case "not_writable":
            return `attribute \`${problem.name}\` is not writable`;
        case "rejected":
            return `rejected by the device: ${problem.reason}`;
        case "busy":
            return "the device is busy: its action queue is full";
        case "no_handler":
            return "no handler serves this on the device";
        case "unknown_request":
            return `unknown request \`${problem.request}\``;
        case "bad_request":
            return `bad request: ${problem.message}`;
        case "claim_refused":
            return `claim refused: ${problem.reason}`;
        case "state_not_saved":
            return `the device could not save its state, nothing changed: ${problem.reason}`;
        case "stale_epoch":
            return `the request names another boot epoch than the device's (${problem.boot})`;
        default:
            return JSON.stringify(problem);
    }
}
/** The error a client reports for a device's refusal (as Rust's `Error::from_problem`). */
export function fromProblem(thing, problem) {
    switch (problem.kind) {
        case "unknown_affordance": {
            const kind = problem.affordance === "event" ? "event" : problem.affordance === "action" ? "action" : "attribute";
            return new UnknownAffordanceError(thing, kind, problem.name);
        }
        case "not_published":
            return new NotPublishedError(thing, problem.state);
        case "access_denied":
            return new AccessDeniedError(problem.rule, problem.reason);
        default:
            return new RejectedError(problem);
    }
}
