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
export const ROOT = "safething/v1";
/** Matches every thing's description (discovery). */
export const ALL_DESCRIPTIONS = "safething/v1/*/description";
/** Matches every thing's liveliness token. */
export const ALL_THINGS = "safething/v1/*";
/** The liveliness token of a thing. */
export const thing = (id) => `${ROOT}/${id}`;
/** The description of a thing. */
export const description = (id) => `${ROOT}/${id}/description`;
/** An attribute of a thing. */
export const attribute = (id, name) => `${ROOT}/${id}/attributes/${name}`;
/** An event of a thing. */
export const event = (id, name) => `${ROOT}/${id}/events/${name}`;
/** An action of a thing. */
export const action = (id, name) => `${ROOT}/${id}/actions/${name}`;
/** The state of one action request. */
export const request = (id, requestId) => `${ROOT}/${id}/requests/${requestId}`;
/** Owner operations on a thing. */
export const admin = (id) => `${ROOT}/${id}/admin`;
/** The prefix of every store key (`docs/protocol.md` §11). */
export const STORE_ROOT = "safething/store/v1";
/**
 * The store key that mirrors a thing's key (`safething/store/v1/<id>/attributes/<name>` for
 * `safething/v1/<id>/attributes/<name>`), or `undefined` outside the thing key space.
 */
export function storeKey(thingKey) {
    const prefix = `${ROOT}/`;
    return thingKey.startsWith(prefix) ? `${STORE_ROOT}/${thingKey.slice(prefix.length)}` : undefined;
}
/** The thing id of a liveliness key (`safething/v1/<id>`), or `undefined`. */
export function parseThing(key) {
    const prefix = `${ROOT}/`;
    if (!key.startsWith(prefix))
        return undefined;
    const id = key.slice(prefix.length);
    return id !== "" && !/[/*$?#]/.test(id) ? id : undefined;
}
/** Whether `id` is a valid thing id: 5 to 64 characters of `A-Z a-z 0-9 - _ .`. */
export function isThingId(id) {
    return /^[A-Za-z0-9._-]{5,64}$/.test(id);
}
