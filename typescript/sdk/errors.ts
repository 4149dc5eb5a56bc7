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
export abstract class SafethingError extends Error {
  /** The discriminant. */
  abstract readonly kind: string;
}

/** The definition does not pass validation. */
export class InvalidDefinitionError extends SafethingError {
  readonly kind = "invalid_definition";
  constructor(message: string) {
    super(`invalid definition: ${message}`);
    this.name = "InvalidDefinitionError";
  }
}

/** No thing with this id answered. */
export class UnknownThingError extends SafethingError {
  readonly kind = "unknown_thing";
  constructor(readonly thing: string) {
    super(`unknown thing \`${thing}\`: no device with this id answered`);
    this.name = "UnknownThingError";
  }
}

/** The thing has no such attribute, event or action. */
export class UnknownAffordanceError extends SafethingError {
  readonly kind = "unknown_affordance";
  constructor(readonly thing: string, readonly affordance: AffordanceKind, readonly affordanceName: string) {
    super(`thing \`${thing}\` has no ${affordance} named \`${affordanceName}\``);
    this.name = "UnknownAffordanceError";
  }
}

/** The thing is registered or disabled, not published. */
export class NotPublishedError extends SafethingError {
  readonly kind = "not_published";
  constructor(readonly thing: string, readonly state: Lifecycle) {
    super(`thing \`${thing}\` is ${state}, not published`);
    this.name = "NotPublishedError";
  }
}

/** The thing went (or is) offline. */
export class OfflineError extends SafethingError {
  readonly kind = "offline";
  constructor(readonly thing: string) {
    super(`thing \`${thing}\` is offline`);
    this.name = "OfflineError";
  }
}

/** A payload does not match its schema: which payload, where, and which keyword. */
export class InvalidPayloadError extends SafethingError {
  readonly kind = "invalid_payload";
  constructor(
    /** Which payload, e.g. `input of action \`open_valve\``. */
    readonly what: string,
    /** JSON pointer to the offending part (`""` for the value itself). */
    readonly path: string,
    /** The violated schema keyword (`maximum`, `required`, ...). */
    readonly keyword: string,
    /** What is wrong. */
    readonly reason: string,
  ) {
    super(`invalid ${what}: ${path === "" ? "value" : path}: ${reason}`);
    this.name = "InvalidPayloadError";
  }
}

/** The thing is not of the type the generated client was made for. */
export class IncompatibleError extends SafethingError {
  readonly kind = "incompatible";
  constructor(readonly thing: string, readonly expected: string, readonly found: string) {
    super(`thing \`${thing}\` is a ${found}, not a ${expected}`);
    this.name = "IncompatibleError";
  }
}

/** A subscription filter that cannot apply to the value. */
export class InvalidFilterError extends SafethingError {
  readonly kind = "invalid_filter";
  constructor(readonly reason: string) {
    super(`invalid filter: ${reason}`);
    this.name = "InvalidFilterError";
  }
}

/** The requester does not have the access the affordance requires. */
export class AccessDeniedError extends SafethingError {
  readonly kind = "access_denied";
  constructor(
    /** The access type that was not met (`owner`, `group`, ..., or `admin`). */
    readonly rule: string,
    /** Why. */
    readonly reason: string,
  ) {
    super(`access denied by rule \`${rule}\`: ${reason}`);
    this.name = "AccessDeniedError";
  }
}

/** The device refused the request (its handler, or a rule other than access). */
export class RejectedError extends SafethingError {
  readonly kind = "rejected";
  constructor(readonly problem: Problem) {
    super(`rejected: ${describeProblem(problem)}`);
    this.name = "RejectedError";
  }
}

/** The action's handler failed: an application error, not a transport or access problem. */
export class ActionFailedError extends SafethingError {
  readonly kind = "action_failed";
  constructor(readonly error: ActionError) {
    super(`action failed: ${error.code}: ${error.message}`);
    this.name = "ActionFailedError";
  }
}

/** The deadline passed. */
export class TimedOutError extends SafethingError {
  readonly kind = "timed_out";
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
    this.name = "TimedOutError";
  }
}

/** The action was cancelled. */
export class CancelledError extends SafethingError {
  readonly kind = "cancelled";
  constructor() {
    super("cancelled");
    this.name = "CancelledError";
  }
}

/** The attribute has no value yet. */
export class NoValueError extends SafethingError {
  readonly kind = "no_value";
  constructor(readonly attribute: string) {
    super(`attribute \`${attribute}\` has no value yet`);
    this.name = "NoValueError";
  }
}

/** A message that failed verification (signature, freshness, sender, decryption). */
export class UntrustedError extends SafethingError {
  readonly kind = "untrusted";
  constructor(readonly reason: string) {
    super(`untrusted message: ${reason}`);
    this.name = "UntrustedError";
  }
}

/** A reply that does not follow the protocol. */
export class ProtocolError extends SafethingError {
  readonly kind = "protocol";
  constructor(readonly reason: string) {
    super(`protocol error: ${reason}`);
    this.name = "ProtocolError";
  }
}

/** The network (the gateway, the socket) failed. */
export class TransportError extends SafethingError {
  readonly kind = "transport";
  constructor(readonly reason: string, readonly code?: string) {
    super(`transport failure: ${reason}`);
    this.name = "TransportError";
  }
}

/** Keys or identity files. */
export class IdentityError extends SafethingError {
  readonly kind = "identity";
  constructor(readonly reason: string) {
    super(`identity: ${reason}`);
    this.name = "IdentityError";
  }
}

/** The client has been shut down. */
export class ShutdownError extends SafethingError {
  readonly kind = "shutdown";
  constructor() {
    super("shut down");
    this.name = "ShutdownError";
  }
}

/** Every concrete error, as a union narrowed by `kind`. */
export type AnySafethingError =
  | InvalidDefinitionError
  | UnknownThingError
  | UnknownAffordanceError
  | NotPublishedError
  | OfflineError
  | InvalidPayloadError
  | IncompatibleError
  | InvalidFilterError
  | AccessDeniedError
  | RejectedError
  | ActionFailedError
  | TimedOutError
  | CancelledError
  | NoValueError
  | UntrustedError
  | ProtocolError
  | TransportError
  | IdentityError
  | ShutdownError;

/** Whether `e` is one of the runtime's errors (narrows to the union). */
export function isSafethingError(e: unknown): e is AnySafethingError {
  return e instanceof SafethingError;
}

/** A device's {@link Problem} in words, as the Rust runtime says it. */
export function describeProblem(problem: Problem): string {
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
export function fromProblem(thing: string, problem: Problem): AnySafethingError {
  switch (problem.kind) {
    case "unknown_affordance": {
      const kind: AffordanceKind = problem.affordance === "event" ? "event" : problem.affordance === "action" ? "action" : "attribute";
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
