/**
 * Message bodies: the JSON a frame carries on each key (JSON Schemas in the repository's
 * `schemas/wire/`), and the thing definition a description carries.
 *
 * @module
 */
/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | {
    [key: string]: Json;
};
/** The JSON type of a value, as named by the `type` keyword. */
export type SchemaType = "boolean" | "integer" | "number" | "string" | "object" | "array" | "null";
/** A data schema: the type and constraints of a value (JSON Schema keywords; `ref` names a type). */
export interface DataSchema {
    type?: SchemaType;
    ref?: string;
    title?: string;
    description?: string;
    enum?: Json[];
    const?: Json;
    default?: Json;
    unit?: string;
    format?: string;
    minimum?: number;
    maximum?: number;
    exclusiveMinimum?: number;
    exclusiveMaximum?: number;
    multipleOf?: number;
    minLength?: number;
    maxLength?: number;
    pattern?: string;
    items?: DataSchema;
    minItems?: number;
    maxItems?: number;
    properties?: {
        [name: string]: DataSchema;
    };
    required?: string[];
    /** An open map: the schema of every member of an object that declares no properties. */
    additionalProperties?: DataSchema;
    /** Any JSON value (a schema without `type`). */
    anyValue?: boolean;
    /** The member's name in W3C WoT documents, when not its snake_case name (an annotation). */
    wotName?: string;
    oneOf?: DataSchema[];
    readOnly?: boolean;
    writeOnly?: boolean;
    contentMediaType?: string;
    contentEncoding?: string;
}
/** Who may use an affordance. */
export type Access = "all" | "group" | "owner" | "thing";
/** A named, typed value of a thing (its schema keywords sit next to these). */
export interface AttributeDefinition extends DataSchema {
    kind?: "static" | "dynamic";
    value?: Json;
    access?: Access;
    history?: number;
    writable?: boolean;
}
/** A named notification. */
export interface EventDefinition {
    title?: string;
    description?: string;
    data?: DataSchema;
    access?: Access;
}
/** A named request with typed input and output. */
export interface ActionDefinition {
    title?: string;
    description?: string;
    input?: DataSchema;
    output?: DataSchema;
    /** Default deadline, e.g. `"30s"`, `"500ms"`, `"1m30s"`. */
    timeout?: string;
    access?: Access;
    safe?: boolean;
    idempotent?: boolean;
}
/** A thing type: what a device of this kind offers and who may use it. */
export interface Definition {
    thing: {
        name: string;
        title?: string;
        description?: string;
        version: string;
    };
    types?: {
        [name: string]: DataSchema;
    };
    attributes?: {
        [name: string]: AttributeDefinition;
    };
    events?: {
        [name: string]: EventDefinition;
    };
    actions?: {
        [name: string]: ActionDefinition;
    };
}
/** Where a thing is in its life. */
export type Lifecycle = "registered" | "published" | "disabled";
/** A symmetric key wrapped for one holder. */
export interface Wrapped {
    nonce: string;
    ct: string;
}
/** A symmetric key wrapped for each of its holders (printable public key -> wrapping). */
export interface WrappedKey {
    kid: string;
    holders: {
        [holder: string]: Wrapped;
    };
}
/** The wrapped keys a device publishes in its description. */
export interface KeyBundle {
    group?: WrappedKey;
    owner?: WrappedKey;
    previous?: WrappedKey[];
}
/** A thing's description: what it is, who it is, who owns it. Signed by the thing. */
export interface Description {
    id: string;
    state: Lifecycle;
    thing_key: string;
    /** The device's boot epoch (32 hex digits): every request names it (`docs/protocol.md` §4). */
    boot: string;
    owner?: string;
    group?: string[];
    revision: number;
    keys?: KeyBundle;
    definition: Definition;
}
/** A new value of an attribute (published on `attributes/<name>`). */
export interface AttributeUpdate {
    value: Json;
    seq: number;
    epoch: number;
}
/** An event (published on `events/<name>`). */
export interface EventMessage {
    data: Json;
    seq: number;
    epoch: number;
}
/** A query on `attributes/<name>`. */
export type AttributeRequest = {
    op: "read";
    history?: number;
} | {
    op: "write";
    value: Json;
};
/** One remembered value of an attribute. */
export interface HistoryEntryMessage {
    value: Json;
    seq: number;
    ts: number;
}
/** The answer to a read. A `value` member that is present (even `null`) is a value. */
export interface ReadReply {
    value?: Json;
    seq: number;
    ts: number;
    epoch: number;
    history?: HistoryEntryMessage[];
}
/** A query on `actions/<name>`. */
export type ActionRequest = {
    op: "invoke";
    request: string;
    input: Json;
    timeout_ms?: number;
} | {
    op: "cancel";
    request: string;
};
/** A query on `requests/<request-id>`. */
export type RequestQuery = {
    op: "status";
} | {
    op: "cancel";
};
/** An application-level failure reported by an action handler. */
export interface ActionError {
    code: string;
    message: string;
    data?: Json;
}
/** Why a device refused a request. */
export type Problem = {
    kind: "unknown_affordance";
    affordance: string;
    name: string;
} | {
    kind: "not_published";
    state: Lifecycle;
} | {
    kind: "access_denied";
    rule: string;
    reason: string;
} | {
    kind: "invalid_payload";
    what: string;
    path: string;
    keyword: string;
    message: string;
} | {
    kind: "not_writable";
    name: string;
} | {
    kind: "rejected";
    reason: string;
} | {
    kind: "busy";
} | {
    kind: "no_handler";
} | {
    kind: "unknown_request";
    request: string;
} | {
    kind: "bad_request";
    message: string;
} | {
    kind: "claim_refused";
    reason: string;
} | {
    kind: "state_not_saved";
    reason: string;
} | {
    kind: "stale_epoch";
    boot: string;
};
/**
 * Where an action request is: `requested -> accepted -> running -> done | failed | rejected |
 * cancelled | timed_out`. `O` is the output type.
 */
export type ActionState<O = Json> = {
    state: "requested";
} | {
    state: "accepted";
} | {
    state: "running";
} | {
    state: "done";
    output: O;
} | {
    state: "failed";
    error: ActionError;
} | {
    state: "rejected";
    problem: Problem;
} | {
    state: "cancelled";
} | {
    state: "timed_out";
    timeout_ms: number;
};
/** A state change of an action request. */
export type ActionUpdate = {
    request: string;
    action: string;
    seq: number;
} & ActionState;
/** An owner operation, sent as a query on `admin`. */
export type AdminRequest = {
    op: "publish";
} | {
    op: "disable";
} | {
    op: "claim";
    token: string;
} | {
    op: "grant";
    member: string;
} | {
    op: "revoke";
    member: string;
} | {
    op: "transfer";
    owner: string;
};
/** The answer to a request. */
export type Outcome<T> = {
    ok: T;
} | {
    error: Problem;
};
/** Whether a state is final (no further change can follow). */
export declare function isFinal(state: {
    state: string;
}): boolean;
