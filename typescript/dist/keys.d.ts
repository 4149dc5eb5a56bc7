/**
 * The key space: where each kind of message lives on the network.
 *
 * ```text
 * safething/v1/<thing-id>                          liveliness token (online/offline)
 * safething/v1/<thing-id>/description              signed description + lifecycle state
 * safething/v1/<thing-id>/attributes/<name>        changes; current value/history/writes (queries)
 * safething/v1/<thing-id>/events/<name>            notifications
 * safething/v1/<thing-id>/actions/<name>           requests and cancellations (queries) -> state replies
 * safething/v1/<thing-id>/requests/<request-id>    action state changes; status/cancel (queries)
 * safething/v1/<thing-id>/admin                    owner operations (queries)
 * safething/store/v1/<thing-id>/<rest>             a store's copies of the frames above (queries)
 * ```
 *
 * @module
 */
/** The prefix of every SAFEthing key. */
export declare const ROOT = "safething/v1";
/** Matches every thing's description (discovery). */
export declare const ALL_DESCRIPTIONS = "safething/v1/*/description";
/** Matches every thing's liveliness token. */
export declare const ALL_THINGS = "safething/v1/*";
/** The liveliness token of a thing. */
export declare const thing: (id: string) => string;
/** The description of a thing. */
export declare const description: (id: string) => string;
/** An attribute of a thing. */
export declare const attribute: (id: string, name: string) => string;
/** An event of a thing. */
export declare const event: (id: string, name: string) => string;
/** An action of a thing. */
export declare const action: (id: string, name: string) => string;
/** The state of one action request. */
export declare const request: (id: string, requestId: string) => string;
/** Owner operations on a thing. */
export declare const admin: (id: string) => string;
/** The prefix of every store key (`docs/protocol.md` §11). */
export declare const STORE_ROOT = "safething/store/v1";
/**
 * The store key that mirrors a thing's key (`safething/store/v1/<id>/attributes/<name>` for
 * `safething/v1/<id>/attributes/<name>`), or `undefined` outside the thing key space.
 */
export declare function storeKey(thingKey: string): string | undefined;
/** The thing id of a liveliness key (`safething/v1/<id>`), or `undefined`. */
export declare function parseThing(key: string): string | undefined;
/** Whether `id` is a valid thing id: 5 to 64 characters of `A-Z a-z 0-9 - _ .`. */
export declare function isThingId(id: string): boolean;
